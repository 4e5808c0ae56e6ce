package codec

import (
	"bytes"
	"testing"
)

// BenchmarkRefuse measures refusing the attack inputs: each iteration opens
// the list and, where the scan lets it through, decodes its element into
// an int, as the server does for an int parameter.
func BenchmarkRefuse(b *testing.B) {
	var emptyMaps [][]byte
	for left := 15_700_000; left > 0; left -= MaxElements - 1 {
		emptyMaps = append(emptyMaps, cborRepeat([]byte{0xa0}, min(left, MaxElements-1)))
	}
	cases := []struct {
		name string
		c    Codec
		data []byte
	}{
		{"cbor-bignum-1MiB-int", CBOR, cborList(append([]byte{0xc2, 0x5a, 0, 0x10, 0, 0}, bytes.Repeat([]byte{0xff}, 1<<20)...))},
		{"cbor-bignum-128B-int", CBOR, cborList(append([]byte{0xc2, 0x58, MaxBignumBytes}, bytes.Repeat([]byte{0xff}, MaxBignumBytes)...))},
		{"cbor-empty-maps-15.7MB", CBOR, cborList(emptyMaps...)},
		{"cbor-empty-maps-1MB", CBOR, cborList(cborRepeat([]byte{0xa0}, 1_000_000))},
		{"json-ones-2M", JSON, []byte("[" + jsonRepeat("1", 2_000_001) + "]")},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.data)))
			b.ReportAllocs()
			for b.Loop() {
				var n int
				arr, err := tc.c.OpenArray(tc.data)
				if err == nil {
					err = arr.Next(&n)
				}
				if err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}
