package codec

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// reference is the array of vals as the CBOR library itself encodes it.
func reference(t testing.TB, vals []any) []byte {
	t.Helper()
	b, err := cbor.Marshal(vals)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// encodeBoth encodes vals after prefix into a buffer with room bytes
// free beyond prefix, through AppendArray and AppendValues, and returns
// what each appended after prefix.
func encodeBoth(t testing.TB, prefix []byte, room int, vals []any) (array, values []byte) {
	t.Helper()
	rv := make([]reflect.Value, len(vals))
	for i, v := range vals {
		rv[i] = reflect.ValueOf(v)
	}
	for i, enc := range []func(*bytes.Buffer) error{
		func(b *bytes.Buffer) error { return CBOR.AppendArray(b, vals) },
		func(b *bytes.Buffer) error { return CBOR.AppendValues(b, rv) },
	} {
		buf := bytes.NewBuffer(make([]byte, 0, len(prefix)+room))
		buf.Write(prefix)
		if err := enc(buf); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes()[:len(prefix)], prefix) {
			t.Fatalf("encoder %d changed the %d bytes before the array", i, len(prefix))
		}
		out := buf.Bytes()[len(prefix):]
		if i == 0 {
			array = out
		} else {
			values = out
		}
	}
	return array, values
}

// A large []byte ending an array encodes exactly as the CBOR library
// encodes it, whatever comes before it and whatever room the buffer has.
func TestLargeBytesEncodeAsTheLibrary(t *testing.T) {
	type blob []byte // a named type takes the library's own path
	for _, n := range []int{0, 1, growThreshold - 1, growThreshold, growThreshold + 1, 1<<20 + 3} {
		v := bytes.Repeat([]byte{0xa5, 0x5a, 0x01}, n/3+1)[:n]
		for _, vals := range [][]any{
			{v}, {int64(7), "text", v}, {bytes.Repeat([]byte{1}, growThreshold), v},
			{v, int64(1)}, {blob(v)}, {"x", blob(v)},
		} {
			want := reference(t, vals)
			for _, room := range []int{0, 64, len(want) + 16} {
				array, values := encodeBoth(t, []byte("frame header"), room, vals)
				if !bytes.Equal(array, want) || !bytes.Equal(values, want) {
					t.Fatalf("%d-byte value, %d values, room %d: AppendArray equal %v, AppendValues equal %v",
						n, len(vals), room, bytes.Equal(array, want), bytes.Equal(values, want))
				}
			}
		}
	}
}

// The large value is copied, not referenced: changing it after encoding
// leaves the encoding as it was.
func TestLargeBytesCopied(t *testing.T) {
	v := bytes.Repeat([]byte{7}, 2*growThreshold)
	want := reference(t, []any{v})
	array, values := encodeBoth(t, nil, 0, []any{v})
	v[0], v[len(v)-1] = 8, 8
	if !bytes.Equal(array, want) || !bytes.Equal(values, want) {
		t.Fatal("the encoding changed with the value it was made from")
	}
}

// FuzzLargeBytes checks the large-value path against the library's
// encoding, and that the array decodes back to what was encoded.
func FuzzLargeBytes(f *testing.F) {
	f.Add([]byte{1, 2, 3}, uint32(growThreshold), uint8(0))
	f.Add([]byte{0xff}, uint32(growThreshold-1), uint8(2))
	f.Add([]byte{}, uint32(3*growThreshold+5), uint8(1))
	f.Fuzz(func(t *testing.T, pattern []byte, size uint32, before uint8) {
		if len(pattern) == 0 {
			pattern = []byte{0}
		}
		n := int(size % (4 * growThreshold))
		v := bytes.Repeat(pattern, n/len(pattern)+1)[:n]
		vals := make([]any, 0, int(before%4)+1)
		for i := range int(before % 4) {
			vals = append(vals, pattern[:min(i, len(pattern))])
		}
		vals = append(vals, v)
		want := reference(t, vals)
		array, values := encodeBoth(t, []byte{0, 1, 2}, int(size%7)*len(want)/4, vals)
		if !bytes.Equal(array, want) || !bytes.Equal(values, want) {
			t.Fatalf("%d-byte value after %d values: the encodings differ from the library's", n, len(vals)-1)
		}
		var got []any
		if err := CBOR.Unmarshal(array, &got); err != nil || len(got) != len(vals) {
			t.Fatalf("decoding: %v, %d values", err, len(got))
		}
		if b, _ := got[len(got)-1].([]byte); !bytes.Equal(b, v) {
			t.Fatal("the large value decoded differently")
		}
	})
}

// BenchmarkAppendLargeBytes encodes a 16 MiB []byte into a fresh buffer,
// as a reply or a call of it is encoded.
func BenchmarkAppendLargeBytes(b *testing.B) {
	v := bytes.Repeat([]byte("0123456789abcdef"), 1<<20)
	vals := []reflect.Value{reflect.ValueOf(v)}
	b.SetBytes(int64(len(v)))
	b.ReportAllocs()
	for b.Loop() {
		var buf bytes.Buffer
		buf.Write(make([]byte, 12))
		if err := CBOR.AppendValues(&buf, vals); err != nil {
			b.Fatal(err)
		}
	}
}
