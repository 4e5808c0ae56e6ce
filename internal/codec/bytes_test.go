package codec

import (
	"bytes"
	"testing"
)

// FuzzDecodeBytesInto checks DecodeBytesInto against Unmarshal: whatever
// it takes, Unmarshal decodes into the same bytes, and it never writes
// past the bytes it returns.
func FuzzDecodeBytesInto(f *testing.F) {
	for _, v := range []any{[]byte("chunk"), []byte{}, bytes.Repeat([]byte{7}, 300), "text", 12, nil} {
		var buf bytes.Buffer
		if err := CBOR.Append(&buf, v); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add([]byte{0x5f, 0x41, 0x01, 0xff}) // indefinite length
	f.Add([]byte{0x42, 0x01})             // short
	f.Fuzz(func(t *testing.T, data []byte) {
		dst := make([]byte, 3, 8)
		got := dst
		if !DecodeBytesInto(CBOR, data, &got) {
			return
		}
		var want []byte
		if err := CBOR.Unmarshal(data, &want); err != nil {
			t.Fatalf("taken, but Unmarshal refuses it: %v", err)
		}
		if !bytes.Equal(got, want) || got == nil {
			t.Fatalf("decoded %x, Unmarshal %x", got, want)
		}
		if len(got) <= cap(dst) && &got[:1][0] != &dst[:1][0] {
			t.Fatal("bytes that fit were not decoded into the slice's capacity")
		}
	})
}

func TestDecodeBytesIntoOtherCodecs(t *testing.T) {
	var buf bytes.Buffer
	if err := JSON.Append(&buf, []byte("x")); err != nil {
		t.Fatal(err)
	}
	var b []byte
	if DecodeBytesInto(JSON, buf.Bytes(), &b) {
		t.Fatal("JSON taken")
	}
}
