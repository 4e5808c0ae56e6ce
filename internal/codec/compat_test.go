package codec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"testing"
	"time"
)

type inner struct {
	Name  string            `json:"name"`
	Tags  []string          `json:"tags"`
	Attrs map[string]string `json:"attrs"`
}

type outer struct {
	ID    int64     `json:"id"`
	Score float64   `json:"score"`
	Blob  []byte    `json:"blob"`
	When  time.Time `json:"when"`
	Inner inner     `json:"inner"`
	Ptr   *inner    `json:"ptr"`
	None  []int     `json:"none"`
}

// ordinary is one argument list of the values calls carry, with a fresh
// destination for each.
func ordinary() (vals []any, dsts func() []any) {
	when := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("", 3600))
	in := inner{Name: "n", Tags: []string{"a", "b"}, Attrs: map[string]string{"k": "v"}}
	vals = []any{
		0, -1, 23, 24, 1 << 40, -(1 << 62), uint64(1<<64 - 1), 1.5, math.Copysign(0, -1), 1e300, float32(2.5),
		"", "text", "ünïcödé", []byte{}, []byte{0, 1, 2}, nil, true, false,
		[]int(nil), []string{"x", "y"}, map[string]int{"a": 1},
		when, when.UTC(), big.NewInt(-12345), new(big.Int).Lsh(big.NewInt(1), 100),
		outer{ID: 7, Score: 0.25, Blob: []byte("blob"), When: when, Inner: in, Ptr: &in},
		[][]any{{1, "a", nil}, {}},
	}
	dsts = func() []any {
		return []any{
			new(int), new(int), new(int8), new(int16), new(int64), new(int64), new(uint64), new(float64), new(float64), new(float64), new(float32),
			new(string), new(string), new(string), new([]byte), new([]byte), new(*int), new(bool), new(bool),
			new([]int), new([]string), new(map[string]int),
			new(time.Time), new(time.Time), new(*big.Int), new(*big.Int),
			new(outer),
			new([][]any),
		}
	}
	return vals, dsts
}

// TestOrdinaryValues checks that ordinary values decode exactly as they
// did before the scan: as the libraries decode them directly, element by
// element, into typed destinations and into any (JSON numbers into any
// given their exact value, as docs/types.md says).
func TestOrdinaryValues(t *testing.T) {
	vals, dsts := ordinary()
	for _, c := range []Codec{CBOR, JSON} {
		var buf bytes.Buffer
		if err := c.AppendArray(&buf, vals); err != nil {
			t.Fatal(err)
		}
		elems := directElements(t, c, buf.Bytes())
		for _, typed := range []bool{true, false} {
			arr, err := c.OpenArray(buf.Bytes())
			if err != nil || arr.Len() != len(vals) {
				t.Fatalf("%s: OpenArray: %d, %v", c.Name(), arr.Len(), err)
			}
			got, want := dsts(), dsts()
			for i := range vals {
				if !typed {
					got[i], want[i] = new(any), new(any)
				}
				if err := arr.Next(got[i]); err != nil {
					t.Fatalf("%s: element %d (%T): %v", c.Name(), i, vals[i], err)
				}
				if err := directDecode(c, elems[i], want[i]); err != nil {
					t.Fatalf("%s: element %d directly: %v", c.Name(), i, err)
				}
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Errorf("%s: element %d: %#v, directly %#v", c.Name(), i, got[i], want[i])
				}
			}
			if typed {
				if o := got[26].(*outer); o.Inner.Name != "n" || o.None != nil || !o.When.Equal(vals[22].(time.Time)) || string(o.Blob) != "blob" {
					t.Errorf("%s: struct decoded as %+v", c.Name(), o)
				}
				if b := *got[25].(**big.Int); b.Cmp(vals[25].(*big.Int)) != 0 {
					t.Errorf("%s: big.Int %v", c.Name(), b)
				}
			}
		}
	}
}

// directElements splits an argument list the way the codecs did before.
func directElements(t *testing.T, c Codec, data []byte) [][]byte {
	if c == JSON {
		var raw []json.RawMessage
		if err := json.Unmarshal(data, &raw); err != nil {
			t.Fatal(err)
		}
		out := make([][]byte, len(raw))
		for i, r := range raw {
			out[i] = r
		}
		return out
	}
	cc := c.(*cborCodec)
	n, hl, _ := parseCBORCount(data)
	rest := data[hl:]
	out := make([][]byte, n)
	for i := range out {
		var skip []byte
		var err error
		before := rest
		if rest, err = cc.dec.UnmarshalFirst(rest, (*rawCBOR)(&skip)); err != nil {
			t.Fatal(err)
		}
		out[i] = before[:len(before)-len(rest)]
	}
	return out
}

// rawCBOR keeps an element's bytes undecoded.
type rawCBOR []byte

func (r *rawCBOR) UnmarshalCBOR(b []byte) error { *r = append((*r)[:0], b...); return nil }

// directDecode decodes one element as the libraries do. For JSON into
// any, numbers are then given their exact value as docs/types.md says:
// int64 for an integer that fits, else *big.Int; float64 otherwise.
func directDecode(c Codec, elem []byte, v any) error {
	if c == JSON {
		d := json.NewDecoder(bytes.NewReader(elem))
		d.UseNumber()
		if err := d.Decode(v); err != nil {
			return err
		}
		exactlyIn(reflect.ValueOf(v))
		return nil
	}
	return c.(*cborCodec).dec.Unmarshal(elem, v)
}

// exactlyIn replaces the json.Numbers in the interfaces v holds.
func exactlyIn(v reflect.Value) {
	switch v.Kind() {
	case reflect.Interface:
		if !v.IsNil() {
			v.Set(reflect.ValueOf(exactly(v.Elem().Interface())))
		}
	case reflect.Pointer:
		if !v.IsNil() {
			exactlyIn(v.Elem())
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			exactlyIn(v.Index(i))
		}
	}
}

// exactly replaces the json.Numbers in x by their exact values.
func exactly(x any) any {
	switch x := x.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if b, ok := new(big.Int).SetString(string(x), 10); ok {
			return b
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = exactly(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = exactly(x[k])
		}
	}
	return x
}

// TestRealisticPayloadsPass checks that large lists of the values real
// calls carry stay under the cost bound, in both codecs.
func TestRealisticPayloadsPass(t *testing.T) {
	const n = 100_000
	rep := func(v any) []any {
		s := make([]any, n)
		for i := range s {
			s[i] = v
		}
		return s
	}
	people := make([]any, n)
	for i := range people {
		people[i] = map[string]string{"id": fmt.Sprint("u", i), "name": "Ann Lee", "email": "ann@x.io"}
	}
	small := make([]any, n)
	for i := range small {
		small[i] = i % 24
	}
	for name, v := range map[string]any{
		"small ints": small, "negative ints": rep(-1), "ints": rep(100000), "floats": rep(1.5),
		"empty strings": rep(""), "one-byte strings": rep("a"), "strings": rep("hello"),
		"one-byte byte strings": rep([]byte{1}), "byte strings": rep([]byte("hello world")),
		"structs as maps": people, "pairs": rep([]int{3, 4}), "bools": rep(true), "nulls": rep(nil),
		"times": rep(time.Unix(1700000000, 0)), "bignums": rep(new(big.Int).Lsh(big.NewInt(1), 100)),
	} {
		for _, c := range []Codec{CBOR, JSON} {
			var buf bytes.Buffer
			if err := c.AppendArray(&buf, []any{v}); err != nil {
				t.Fatal(err)
			}
			arr, err := c.OpenArray(buf.Bytes())
			if err != nil {
				t.Errorf("%s %s: %v", c.Name(), name, err)
				continue
			}
			t.Logf("%s %-22s %9d bytes, cost %10d: %5.1f per byte", c.Name(), name, buf.Len(), arr.Cost(), float64(arr.Cost())/float64(buf.Len()))
		}
	}
}
