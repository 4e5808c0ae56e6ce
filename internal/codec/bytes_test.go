package codec

import (
	"bytes"
	"testing"
)

// FuzzDecodeBytesInto checks DecodeBytesInto and BytesView against
// Unmarshal: whatever they take, Unmarshal decodes into the same bytes;
// and DecodeBytesInto decodes into the slice's capacity when it can.
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
		view, viewed := BytesView(CBOR, data)
		if !DecodeBytesInto(CBOR, data, &got) {
			if viewed {
				t.Fatal("BytesView takes what DecodeBytesInto does not")
			}
			return
		}
		if !viewed || !bytes.Equal(view, got) {
			t.Fatalf("BytesView %x, %v; DecodeBytesInto %x", view, viewed, got)
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
	if _, ok := BytesView(JSON, buf.Bytes()); ok {
		t.Fatal("JSON viewed")
	}
}
