package codec

import (
	"bytes"
	"testing"
)

// TestOpenArrayAllocs checks that opening and decoding a call of two ints
// allocates no more than it did before the scan: the scan allocates
// nothing, and a JSON list is split without a slice of its elements.
func TestOpenArrayAllocs(t *testing.T) {
	for _, c := range []struct {
		codec Codec
		max   float64 // before the scan: 0 and 10 (json.Unmarshal into []json.RawMessage)
	}{{CBOR, 0}, {JSON, 2}} {
		var buf bytes.Buffer
		if err := c.codec.AppendArray(&buf, []any{40, 2}); err != nil {
			t.Fatal(err)
		}
		var x, y int
		allocs := testing.AllocsPerRun(1000, func() {
			arr, err := c.codec.OpenArray(buf.Bytes())
			if err != nil || arr.Next(&x) != nil || arr.Next(&y) != nil || x+y != 42 {
				t.Fatal("add does not decode", err)
			}
		})
		t.Logf("%s: %v allocations", c.codec.Name(), allocs)
		if allocs > c.max {
			t.Errorf("%s: %v allocations, want at most %v", c.codec.Name(), allocs, c.max)
		}
	}
}
