package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// cborSeeds are CBOR argument lists for the fuzzers: ordinary values and
// small forms of the attacks the limits refuse.
func cborSeeds() [][]byte {
	var buf bytes.Buffer
	_ = CBOR.AppendArray(&buf, []any{int64(1), "s", []byte{1}, point{1, 2, "x"}, nil, map[string][]float64{"a": {1.5}}})
	vals, _ := ordinary()
	var all bytes.Buffer
	_ = CBOR.AppendArray(&all, vals)
	return [][]byte{
		buf.Bytes(), all.Bytes(), {0x80}, {0x9f, 0xff}, {0x81, 0xbf}, {0x81, 0xbf, 0x61, 'a', 0x9f, 0xff, 0xff},
		cborList(cborRepeat([]byte{0xa0}, 3000)), cborList(cborRepeat([]byte{0x80}, 3000)), cborList(cborRepeat([]byte{0xa1, 0x61, 'a', 0}, 1000)),
		cborList(append([]byte{0xc2, 0x58, 200}, bytes.Repeat([]byte{0xff}, 200)...)),
		cborList(append([]byte{0xc2, 0x58, 100}, bytes.Repeat([]byte{0xff}, 100)...)),
		cborList([]byte{0xc2, 0x5f, 0x41, 1, 0x41, 2, 0xff}), cborList([]byte{0xd9, 0xd9, 0xf7, 0xc1, 0x1a, 0, 1, 0, 0}),
		cborList([]byte{0xd8, 0x20, 0x61, 'x'}), cborList([]byte{0x7f, 0x61, 'a', 0x61, 'b', 0xff}),
		append(bytes.Repeat([]byte{0x81}, MaxDepth+1), 0), append(bytes.Repeat([]byte{0x81}, MaxDepth), 0),
		cborList(cborRepeat([]byte{0x01}, 5000)), cborList([]byte{0xf8, 0x10}, []byte{0xfb, 0, 0, 0, 0, 0, 0, 0, 0}),
	}
}

// jsonSeeds are the same for JSON.
func jsonSeeds() [][]byte {
	vals, _ := ordinary()
	all, _ := json.Marshal(vals)
	return [][]byte{
		[]byte(`[1,"s","AQ==",{"X":1,"Y":2,"label":"x"},null,{"a":[1.5]}]`), all, []byte(`[]`), []byte(`[[[[`),
		[]byte(" [ 1 , [ ] , { } , \"\\u00e9\\n\" , -0.5e+3 ] "), []byte("[\"\xff\xfe\"]"), []byte(`[01]`), []byte(`[1,]`),
		[]byte("[" + jsonRepeat("1", 5000) + "]"), []byte(jsonRepeat("{}", 3000)), []byte(jsonRepeat("[]", 3000)),
		[]byte(strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)),
		[]byte("[" + strings.Repeat("9", MaxNumberLen+1) + "]"), []byte(`[{"a":{"b":[true,false,null]}}]`),
		[]byte(`[{"X":1,"x":2},{"a":1,"a":2},{"a":{"b":1,"\u0062":2}}]`), []byte(`["\ud83d\ude00","\ud800","\udc00x"]`),
		[]byte(`[9007199254740993,-9223372036854775809,18446744073709551616,1.0,1e400]`),
	}
}

// decodeTargets are the destinations the fuzzers decode elements into.
var decodeTargets = []func() any{
	func() any { return new(int64) }, func() any { return new(string) }, func() any { return new([]byte) },
	func() any { return new(point) }, func() any { return new(any) }, func() any { return new(map[string][]float64) },
}

// fuzzArray checks OpenArray on random input: no panic; an accepted list
// decodes element by element, into typed values and into any, or fails
// cleanly with a short error, and decoding into any allocates within
// the estimate's order.
func fuzzArray(t *testing.T, c Codec, data []byte) (Array, error) {
	arr, err := c.OpenArray(data)
	if err != nil {
		if len(err.Error()) > maxErrorLen {
			t.Fatalf("error of %d bytes", len(err.Error()))
		}
		return arr, err
	}
	if arr.Len() > len(data) {
		t.Fatalf("%d elements from %d bytes", arr.Len(), len(data))
	}
	if limit := CostRatio*int64(len(data)) + CostAllowance; arr.Cost() > limit {
		t.Fatalf("cost %d over the bound %d", arr.Cost(), limit)
	}
	typed := arr
	for i := 0; typed.Remaining() > 0; i++ {
		var err error
		if typed.NextIsMap() && i%2 == 1 {
			err = typed.NextStrict(new(point)) // named arguments
		} else {
			err = typed.Next(decodeTargets[i%len(decodeTargets)]())
		}
		if err != nil && len(err.Error()) > maxErrorLen {
			t.Fatalf("error of %d bytes", len(err.Error()))
		}
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	untyped := arr
	vals := make([]any, untyped.Len())
	for i := range vals {
		if untyped.Next(&vals[i]) != nil {
			break
		}
	}
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(vals)
	// Allocation while decoding counts encoding/json's garbage too: up to
	// about 10 times the live heap (see the cost model).
	if got := int64(after.TotalAlloc - before.TotalAlloc); got > 16*arr.Cost()+1<<20 {
		t.Fatalf("decoding allocated %d bytes, estimate %d", got, arr.Cost())
	}
	return arr, nil
}

func FuzzCBORArray(f *testing.F) {
	for _, s := range cborSeeds() {
		f.Add(s)
	}
	dec := CBOR.(*cborCodec).dec
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := fuzzArray(t, CBOR, data)
		// The scan refuses as malformed only what the decoder refuses.
		if errors.Is(err, ErrMalformed) && dec.Wellformed(data) == nil {
			t.Fatalf("well-formed input refused: %v", err)
		}
	})
}

func FuzzJSONArray(f *testing.F) {
	for _, s := range jsonSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		arr, err := fuzzArray(t, JSON, data)
		valid := json.Valid(data)
		switch {
		case err == nil && !valid:
			t.Fatal("invalid JSON accepted")
		case err != nil && valid && !errors.Is(err, ErrLimit) && !errors.Is(err, ErrNotArray) && !badText(data, err):
			t.Fatalf("valid JSON refused: %v", err)
		case err != nil:
			return
		}
		// The elements are those encoding/json splits the list into.
		var want []json.RawMessage
		if err := json.Unmarshal(data, &want); err != nil || len(want) != arr.Len() {
			t.Fatalf("%d elements, encoding/json %d (%v)", arr.Len(), len(want), err)
		}
		for i := range want {
			var got json.RawMessage
			if err := arr.Next(&got); err != nil || !bytes.Equal(got, want[i]) {
				t.Fatalf("element %d: %q, encoding/json %q (%v)", i, got, want[i], err)
			}
		}
	})
}

// fuzzUnmarshal checks Unmarshal on random input: no panic, short errors.
func fuzzUnmarshal(t *testing.T, c Codec, data []byte) error {
	var v any
	err := c.Unmarshal(data, &v)
	if err != nil && len(err.Error()) > maxErrorLen {
		t.Fatalf("error of %d bytes", len(err.Error()))
	}
	var p point
	_ = c.Unmarshal(data, &p)
	return err
}

func FuzzCBORUnmarshal(f *testing.F) {
	for _, s := range cborSeeds() {
		f.Add(s)
		f.Add(s[1:])
	}
	dec := CBOR.(*cborCodec).dec
	f.Fuzz(func(t *testing.T, data []byte) {
		err := fuzzUnmarshal(t, CBOR, data)
		if errors.Is(err, ErrMalformed) && dec.Wellformed(data) == nil {
			t.Fatalf("well-formed input refused: %v", err)
		}
	})
}

func FuzzJSONUnmarshal(f *testing.F) {
	for _, s := range jsonSeeds() {
		f.Add(s)
		f.Add(s[1:])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := fuzzUnmarshal(t, JSON, data)
		valid := json.Valid(data)
		switch {
		case err == nil && !valid:
			t.Fatal("invalid JSON accepted")
		case err != nil && valid && !errors.Is(err, ErrLimit) && !errors.As(err, new(*json.UnmarshalTypeError)) &&
			!badText(data, err) && !errors.Is(err, ErrDuplicateKey):
			t.Fatalf("valid JSON refused: %v", err) // into any, only a limit, a number out of range, bad text or a key twice
		}
	})
}

// badText reports whether err refuses text that data does hold: invalid
// UTF-8, or a \u escape of a surrogate, which encoding/json accepts and
// both codecs refuse.
func badText(data []byte, err error) bool {
	return errors.Is(err, ErrText) && (!utf8.Valid(data) || bytes.Contains(bytes.ToLower(data), []byte(`\ud`)))
}

// FuzzCBORInt checks that the integer fast path (nextInt) decodes just
// what the general decoder does, to the same value, and consumes the
// same bytes.
func FuzzCBORInt(f *testing.F) {
	for _, s := range [][]byte{{0x00}, {0x17}, {0x18, 0x18}, {0x20}, {0x38, 0xff}, {0x19, 0x01, 0x00},
		{0x1b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		{0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0}, {0x1c}, {0xf9, 0x3c, 0x00}, {0xc2, 0x41, 0x01}} {
		f.Add(s)
	}
	dec := CBOR.(*cborCodec).dec
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(fast, slow any, deref func(any) any) {
			a := Array{rest: data}
			if !nextInt(&a, fast) {
				return
			}
			rest, err := dec.UnmarshalFirst(data, slow)
			if err != nil {
				t.Fatalf("% x: fast path decoded %v into %T, the decoder refuses it: %v", data, deref(fast), fast, err)
			}
			if deref(fast) != deref(slow) || len(rest) != len(a.rest) {
				t.Fatalf("% x into %T: fast path %v leaving %d bytes, decoder %v leaving %d", data, fast, deref(fast), len(a.rest), deref(slow), len(rest))
			}
		}
		check(new(int64), new(int64), func(v any) any { return *v.(*int64) })
		check(new(int), new(int), func(v any) any { return *v.(*int) })
		check(new(uint64), new(uint64), func(v any) any { return *v.(*uint64) })
	})
}
