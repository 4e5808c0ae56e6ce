package codec

import (
	"bytes"
	"strings"
	"testing"
)

type point struct {
	X, Y  int
	Label string `json:"label"`
}

func TestArrayRoundTrip(t *testing.T) {
	for _, c := range []Codec{CBOR, JSON} {
		var buf bytes.Buffer
		if err := c.AppendArray(&buf, []any{1, "two", []byte{3}, point{4, 5, "p"}, map[string]any{"label": "m"}}); err != nil {
			t.Fatal(err)
		}
		arr, err := c.OpenArray(buf.Bytes())
		if err != nil || arr.Len() != 5 {
			t.Fatalf("%s: OpenArray: %d, %v", c.Name(), arr.Len(), err)
		}
		var (
			i  int
			s  string
			b  []byte
			p  point
			m  point
			no int
		)
		for _, v := range []any{&i, &s, &b} {
			if err := arr.Next(v); err != nil {
				t.Fatalf("%s: %v", c.Name(), err)
			}
		}
		if arr.NextIsMap() != true {
			t.Errorf("%s: a struct should encode as a map", c.Name())
		}
		if err := arr.Next(&p); err != nil {
			t.Fatal(err)
		}
		if err := arr.Next(&m); err != nil {
			t.Fatal(err)
		}
		if i != 1 || s != "two" || !bytes.Equal(b, []byte{3}) || p != (point{4, 5, "p"}) || m.Label != "m" {
			t.Errorf("%s: decoded %v %q %v %+v %+v", c.Name(), i, s, b, p, m)
		}
		if arr.Remaining() != 0 || arr.Next(&no) == nil {
			t.Errorf("%s: Next past the end succeeded", c.Name())
		}
	}
}

func TestDecodeLimits(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	var v any
	if err := JSON.Unmarshal([]byte(deep), &v); err == nil {
		t.Error("JSON nested beyond the limit decoded")
	}
	if _, err := JSON.OpenArray([]byte(deep)); err == nil {
		t.Error("JSON array nested beyond the limit opened")
	}
	cborDeep := append(bytes.Repeat([]byte{0x81}, MaxDepth+2), 0)
	arr, err := CBOR.OpenArray(cborDeep)
	if err == nil {
		err = arr.Next(&v)
	}
	if err == nil {
		t.Error("CBOR nested beyond the limit decoded")
	}
	// An array header claiming more elements than bytes is refused at once.
	if _, err := CBOR.OpenArray([]byte{0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}); err == nil {
		t.Error("CBOR array of 2^64-1 elements opened")
	}
	if _, err := CBOR.OpenArray([]byte{0xa0}); err == nil {
		t.Error("a CBOR map opened as an array")
	}
	if ByName("cbor") != CBOR || ByName("json") != JSON || ByName("gob") != nil {
		t.Error("ByName")
	}
}
