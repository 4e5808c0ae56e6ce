package codec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
)

// JSON is the JSON codec (encoding/json). Byte slices travel as base64
// strings, as encoding/json writes them.
var JSON Codec = jsonCodec{}

type jsonCodec struct{}

func (jsonCodec) Name() string { return "json" }

func (jsonCodec) Append(buf *bytes.Buffer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	buf.Write(b)
	return nil
}

func (c jsonCodec) AppendArray(buf *bytes.Buffer, vals []any) error {
	buf.WriteByte('[')
	for i, v := range vals {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := c.Append(buf, v); err != nil {
			return err
		}
	}
	buf.WriteByte(']')
	return nil
}

func (jsonCodec) Unmarshal(data []byte, v any) error {
	if err := checkJSONDepth(data); err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

func (c jsonCodec) OpenArray(data []byte) (Array, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '[' {
		return Array{}, ErrNotArray
	}
	if err := checkJSONDepth(data); err != nil {
		return Array{}, err
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return Array{}, fmt.Errorf("%w: %w", ErrNotArray, err)
	}
	if len(raw) > MaxElements {
		return Array{}, fmt.Errorf("%w: %d elements", ErrNotArray, len(raw))
	}
	items := make([][]byte, len(raw))
	for i, r := range raw {
		items[i] = r
	}
	return Array{n: len(items), raw: items}, nil
}

func (c jsonCodec) AppendValues(buf *bytes.Buffer, vals []reflect.Value) error {
	buf.WriteByte('[')
	for i, v := range vals {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := c.Append(buf, v.Interface()); err != nil {
			return err
		}
	}
	buf.WriteByte(']')
	return nil
}

// jsonUnmarshal decodes one array element.
func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// checkJSONDepth refuses input nested deeper than MaxDepth without decoding
// it, so a hostile document cannot make the decoder recurse deeply.
func checkJSONDepth(data []byte) error {
	depth, inString, escaped := 0, false, false
	for _, b := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
		case b == '"':
			inString = true
		case b == '[' || b == '{':
			depth++
			if depth > MaxDepth {
				return fmt.Errorf("codec: JSON nested deeper than %d levels", MaxDepth)
			}
		case b == ']' || b == '}':
			depth--
		}
	}
	return nil
}
