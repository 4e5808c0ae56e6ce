package codec

import (
	"bytes"
	"reflect"
	"runtime"
	"testing"
	"unsafe"
)

// With AliasBytes, a CBOR byte string decodes into a []byte that shares
// the encoded array's memory; the other elements, and an indefinite-length
// byte string, decode as usual.
func TestAliasBytes(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789"), 10000)
	var buf bytes.Buffer
	if err := CBOR.AppendArray(&buf, []any{big, "text", 7}); err != nil {
		t.Fatal(err)
	}
	// An indefinite-length byte string of two chunks, "ab" and "c".
	data := append(bytes.Clone(buf.Bytes()[:0:0]), 0x84)
	data = append(data, buf.Bytes()[1:]...)
	data = append(data, 0x5f, 0x42, 'a', 'b', 0x41, 'c', 0xff)
	arr, err := CBOR.OpenArray(data)
	if err != nil {
		t.Fatal(err)
	}
	arr.AliasBytes()
	var (
		b, chunked []byte
		s          string
		n          int
	)
	for _, v := range []any{&b, &s, &n, &chunked} {
		if err := arr.Next(v); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(b, big) || s != "text" || n != 7 || string(chunked) != "abc" {
		t.Fatalf("decoded %d bytes, %q, %d, %q", len(b), s, n, chunked)
	}
	inside := func(p []byte) bool {
		start := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
		at := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
		return at >= start && at < start+uintptr(len(data))
	}
	if !inside(b) {
		t.Error("the byte string was copied, not aliased")
	}
	if cap(b) != len(b) {
		t.Errorf("the aliased slice has capacity %d past its %d bytes: an append would overwrite the next element", cap(b), len(b))
	}
	if inside(chunked) {
		t.Error("an indefinite-length byte string cannot be aliased")
	}

	// An any receives the same aliased []byte as a []byte does; an any
	// given an element of another kind decodes it as usual.
	arr, _ = CBOR.OpenArray(data)
	arr.AliasBytes()
	var anyB, anyS any
	if err := arr.Next(&anyB); err != nil {
		t.Fatal(err)
	}
	if err := arr.Next(&anyS); err != nil {
		t.Fatal(err)
	}
	ab, ok := anyB.([]byte)
	if !ok || !bytes.Equal(ab, big) || !inside(ab) || cap(ab) != len(ab) {
		t.Fatalf("into an any: %T, aliased %v", anyB, ok && inside(ab))
	}
	if anyS != "text" {
		t.Fatalf("the text after it into an any: %#v", anyS)
	}

	// Without AliasBytes the same array decodes into a copy.
	arr, _ = CBOR.OpenArray(data)
	var c []byte
	if err := arr.Next(&c); err != nil || !bytes.Equal(c, big) || inside(c) {
		t.Fatalf("without AliasBytes: %v, equal %v, aliased %v", err, bytes.Equal(c, big), inside(c))
	}
	arr, _ = CBOR.OpenArray(data)
	var anyC any
	if err := arr.Next(&anyC); err != nil {
		t.Fatal(err)
	}
	if cb, ok := anyC.([]byte); !ok || !bytes.Equal(cb, big) || inside(cb) {
		t.Fatalf("into an any without AliasBytes: %T, a copy %v", anyC, ok && !inside(cb))
	}
}

// The encoders make room for large byte and text values in one step, so
// that encoding one allocates about its size once.
func TestGrowForLargeValues(t *testing.T) {
	big := make([]byte, 4<<20)
	// What growing a buffer once allocates, in multiples of the value:
	// a -race build's bytes.Buffer.Grow allocates the new array twice.
	once := 1
	if raceEnabled {
		once = 2
	}
	for _, enc := range []struct {
		name string
		fn   func(*bytes.Buffer) error
	}{
		{"AppendArray", func(b *bytes.Buffer) error { return CBOR.AppendArray(b, []any{big}) }},
		{"AppendValues", func(b *bytes.Buffer) error { return CBOR.AppendValues(b, []reflect.Value{reflect.ValueOf(big)}) }},
	} {
		var buf bytes.Buffer
		buf.WriteString("header")
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if err := enc.fn(&buf); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		if got := after.TotalAlloc - before.TotalAlloc; got > uint64(once*len(big)+len(big)/4) {
			t.Errorf("%s: encoding a %d-byte value allocated %d bytes", enc.name, len(big), got)
		}
	}
}

// An any that holds a value already gets the []byte in its place,
// aliased or decoded: the same result either way.
func TestAliasBytesIntoAnyHoldingAValue(t *testing.T) {
	var buf bytes.Buffer
	if err := CBOR.AppendArray(&buf, []any{[]byte("payload")}); err != nil {
		t.Fatal(err)
	}
	for _, alias := range []bool{false, true} {
		arr, err := CBOR.OpenArray(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if alias {
			arr.AliasBytes()
		}
		var into []byte
		var v any = &into
		if err := arr.Next(&v); err != nil {
			t.Fatal(err)
		}
		if b, ok := v.([]byte); !ok || string(b) != "payload" || into != nil {
			t.Fatalf("alias %v: into an any holding a *[]byte: %T %v, the pointer's %q", alias, v, v, into)
		}
	}
}
