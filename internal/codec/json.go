package codec

import (
	"bytes"
	"encoding/json"
	"reflect"
)

// JSON is the JSON codec (encoding/json). Byte slices travel as base64
// strings, as encoding/json writes them. Where the two codecs could decode
// one value differently, JSON follows the rules CBOR's options set
// (docs/types.md): numbers decoded into any stay exact (jsonnum.go), and
// duplicate keys and invalid text are refused (jsonkeys.go, jsonscan.go).
var JSON Codec = jsonCodec{}

type jsonCodec struct{}

func (jsonCodec) Name() string { return "json" }

func (jsonCodec) Append(buf *bytes.Buffer, v any) error {
	if appendJSONInt(buf, v) {
		return nil // jsonint.go
	}
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

// CheckJSON checks data, one JSON value, against the decoders' limits
// (nesting, items, number length, text, the cost of decoding it) without
// decoding it: the one scan Unmarshal and OpenArray begin with.
func CheckJSON(data []byte) error {
	cost, _, _, _, err := scanJSON(data, false)
	if err == nil {
		err = checkCost(cost, len(data))
	}
	return bound(err)
}

func (jsonCodec) Unmarshal(data []byte, v any) error {
	cost, _, _, objs, err := scanJSON(data, false)
	if err == nil {
		err = checkCost(cost, len(data))
	}
	if err == nil {
		err = jsonDecode(data, v, objs)
	}
	return bound(err)
}

func (c jsonCodec) OpenArray(data []byte) (Array, error) {
	cost, n, first, objs, err := scanJSON(data, true)
	if err == nil {
		err = checkCost(cost, len(data))
	}
	if err != nil {
		return Array{}, bound(err)
	}
	return Array{n: n, cost: cost, rest: data[first:], objs: objs}, nil
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
	return jsonDecode(elem, v, a.objs && (elem[0] == '{' || elem[0] == '['))
}
