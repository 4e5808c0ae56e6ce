package codec

import (
	"bytes"
	"fmt"
	"math/big"
	"runtime"
	"strings"
	"testing"
	"time"
)

// decodeHeap decodes every element of data into any and returns the bytes
// allocated while decoding and the bytes still live once it is done.
func decodeHeap(c Codec, data []byte) (cost int64, total, live uint64, err error) {
	var before, after, kept runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	arr, err := c.OpenArray(data)
	if err != nil {
		return 0, 0, 0, err
	}
	vals := make([]any, arr.Len())
	for i := range vals {
		if err := arr.Next(&vals[i]); err != nil {
			return 0, 0, 0, err
		}
	}
	runtime.ReadMemStats(&after)
	runtime.GC()
	runtime.ReadMemStats(&kept)
	runtime.KeepAlive(vals)
	return arr.Cost(), after.TotalAlloc - before.TotalAlloc, kept.HeapAlloc - min(kept.HeapAlloc, before.HeapAlloc), nil
}

// TestCostCalibration checks the cost model against what decoding into
// any takes: the estimate is never under the live heap by more than a
// quarter, nor over what decoding allocates by more than 3 times.
func TestCostCalibration(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's allocator gives every small object 16 bytes")
	}
	const n = 10_000
	rep := func(v any) []any {
		s := make([]any, n)
		for i := range s {
			s[i] = v
		}
		return s
	}
	mapOf := func(k int) map[string]any {
		m := map[string]any{}
		for i := range k {
			m[fmt.Sprintf("k%06d", i)] = "value"
		}
		return m
	}
	shapes := map[string]any{
		"0": rep(0), "300": rep(300), "-5": rep(-5), "1.5": rep(1.5), "true": rep(true), "nil": rep(nil),
		`""`: rep(""), `"a"`: rep("a"), `"abcde"`: rep("abcde"), "20 x": rep(strings.Repeat("x", 20)),
		"h''": rep([]byte{})[:1000], "h'01'": rep([]byte{1}), "20 bytes": rep(make([]byte, 20)),
		"[]": rep([]any{})[:1000], "[0]": rep([]any{0}), "[0,0]": rep([]any{0, 0}), "8 x nil": rep(make([]any, 8)),
		"{}": rep(mapOf(0))[:1000], "1 pair": rep(mapOf(1)), "8 pairs": rep(mapOf(8)), "9 pairs": rep(mapOf(9)),
		"30 pairs": rep(mapOf(30))[:5000], "1000 pairs": rep(mapOf(1000))[:100], "time": rep(time.Unix(1700000000, 5).UTC()),
		"2^100": rep(new(big.Int).Lsh(big.NewInt(1), 100)), "2^1000": rep(new(big.Int).Lsh(big.NewInt(1), 1000)),
		"100k nil": []any{make([]any, 100_000)},
	}
	for name, v := range shapes {
		for _, c := range []Codec{CBOR, JSON} {
			var buf bytes.Buffer
			if err := c.AppendArray(&buf, v.([]any)); err != nil {
				t.Fatal(err)
			}
			cost, total, live, err := decodeHeap(c, buf.Bytes())
			if err != nil {
				t.Errorf("%s %s: %v", c.Name(), name, err)
				continue
			}
			t.Logf("%s %-10s estimate %9d  allocated %9d (%.2f)  live %9d (%.2f)", c.Name(), name, cost, total, float64(total)/float64(cost), live, float64(live)/float64(cost))
			if float64(live) > 1.25*float64(cost)+4096 || float64(cost) > 3*float64(total)+4096 {
				t.Errorf("%s %s: estimate %d, allocated %d, live %d", c.Name(), name, cost, total, live)
			}
		}
	}
}
