package codec

import (
	"bytes"
	"encoding/json"
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
	cost, _, _, err := scanJSON(data, false)
	if err == nil {
		err = checkCost(cost, len(data))
	}
	if err == nil {
		err = json.Unmarshal(data, v)
	}
	return bound(err)
}

func (c jsonCodec) OpenArray(data []byte) (Array, error) {
	cost, n, first, err := scanJSON(data, true)
	if err == nil {
		err = checkCost(cost, len(data))
	}
	if err != nil {
		return Array{}, bound(err)
	}
	return Array{n: n, cost: cost, rest: data[first:]}, nil
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

// jsonNext decodes the next element of a, which OpenArray has scanned,
// into v, or skips it if v is nil.
func jsonNext(a *Array, v any) error {
	end := jsonValueEnd(a.rest)
	elem := a.rest[:end]
	a.rest = jsonNextElement(a.rest[end:])
	if v == nil {
		return nil
	}
	return json.Unmarshal(elem, v)
}
