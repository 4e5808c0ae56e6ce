package codec

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzQuickInt checks the integer fast paths against the general codec:
// DecodeIntInto decodes only what Unmarshal decodes, to the same value,
// and AppendInt writes the bytes Append writes.
func FuzzQuickInt(f *testing.F) {
	for _, s := range [][]byte{{0x00}, {0x17}, {0x18, 0x18}, {0x20}, {0x38, 0xff}, {0x19, 0x01, 0x00},
		{0x1b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		{0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0}, {0x01, 0x02}, {0x1c}, {0xf9, 0x3c, 0x00}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(fast, slow any, deref func(any) any) {
			if !DecodeIntInto(CBOR, data, fast) {
				return
			}
			if err := CBOR.Unmarshal(data, slow); err != nil {
				t.Fatalf("% x: fast path decoded %v into %T, Unmarshal refuses it: %v", data, deref(fast), fast, err)
			}
			if deref(fast) != deref(slow) {
				t.Fatalf("% x into %T: fast path %v, Unmarshal %v", data, fast, deref(fast), deref(slow))
			}
		}
		check(new(int64), new(int64), func(v any) any { return *v.(*int64) })
		check(new(int), new(int), func(v any) any { return *v.(*int) })
		check(new(uint64), new(uint64), func(v any) any { return *v.(*uint64) })
		if len(data) < 8 {
			return
		}
		u := binary.BigEndian.Uint64(data)
		i64, i := -int64(u>>(u&63)), int(u)
		for _, v := range []any{int64(u), int(u), u, int64(u >> (u & 63)), -int64(u >> (u & 63)), &i64, &i} {
			var slow bytes.Buffer
			fast, ok := AppendInt(CBOR, []byte("x"), v)
			if !ok {
				t.Fatalf("%T %v not encoded", v, v)
			}
			if err := CBOR.Append(&slow, v); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(fast[1:], slow.Bytes()) || fast[0] != 'x' || len(fast)-1 > MaxInt {
				t.Fatalf("%T %v: fast path % x, Append % x", v, v, fast, slow.Bytes())
			}
		}
	})
}

func TestQuickIntOthers(t *testing.T) {
	for _, try := range []func() ([]byte, bool){
		func() ([]byte, bool) { return AppendInt(JSON, nil, int64(1)) },
		func() ([]byte, bool) { return AppendInt(CBOR, nil, "1") },
		func() ([]byte, bool) { return AppendInt(CBOR, nil, int32(1)) },
	} {
		if b, ok := try(); ok || len(b) != 0 {
			t.Fatal("encoded what the fast path does not take")
		}
	}
	var s string
	var i int64
	if DecodeIntInto(JSON, []byte("1"), &i) || DecodeIntInto(CBOR, []byte{0x01}, &s) || DecodeIntInto(CBOR, []byte{0x01, 0x02}, &i) || DecodeIntInto(CBOR, nil, &i) {
		t.Fatal("decoded what the fast path does not take")
	}
}
