package codec

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The rows of docs/types.md, each checked through both codecs.

type typesPoint struct {
	X     int `json:"x"`
	Y     int `json:"y"`
	Label string
	Gone  int `json:"-"`
}

type typesBase struct {
	ID int `json:"id"`
}

type typesEmbed struct {
	typesBase
	Name string `json:"name"`
}

type typesAny struct {
	V any            `json:"v"`
	M map[string]any `json:"m"`
}

func bigOf(s string) *big.Int {
	b, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return b
}

// TestTypesRoundTrip encodes each Go value with both codecs and decodes it
// into its type, and into any: the value a decoded any holds is the same
// for both codecs except where the table says (a []byte is text in JSON).
func TestTypesRoundTrip(t *testing.T) {
	when := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("", 3600))
	seven := 7
	for _, row := range []struct {
		name string
		val  any
		dst  func() any // nil: the value's own type
		want any        // typed; nil: val itself
		any  any        // what a decoded any holds
		json any        // what a decoded any holds with JSON, if not the same
		// cborAnyFails: CBOR refuses to decode the value into any (a map
		// whose keys are not text).
		cborAnyFails bool
	}{
		{name: "bool", val: true, any: true},
		{name: "int", val: -42, any: int64(-42)},
		{name: "int8", val: int8(-128), any: int64(-128)},
		{name: "uint16", val: uint16(65535), any: int64(65535)},
		{name: "int64 beyond 2^53", val: int64(1<<53 + 1), any: int64(1<<53 + 1)},
		{name: "int64 min", val: int64(math.MinInt64), any: int64(math.MinInt64)},
		{name: "uint64 max", val: uint64(math.MaxUint64), any: new(big.Int).SetUint64(math.MaxUint64)},
		{name: "float64", val: 1.5, any: 1.5},
		// encoding/json writes an integral float as an integer.
		{name: "float64 integral", val: 2.0, any: 2.0, json: int64(2)},
		{name: "float32", val: float32(0.25), any: 0.25},
		{name: "string", val: "ünïcödé", any: "ünïcödé"},
		{name: "[]byte", val: []byte{0, 1, 2}, any: []byte{0, 1, 2}, json: "AAEC"},
		{name: "nil []byte", val: []byte(nil), any: nil},
		{name: "nil slice", val: []int(nil), any: nil},
		{name: "empty slice", val: []int{}, any: []any{}},
		{name: "slice", val: []string{"a", "b"}, any: []any{"a", "b"}},
		{name: "array", val: [3]int{1, 2, 3}, any: []any{int64(1), int64(2), int64(3)}},
		{name: "map", val: map[string]int{"a": 1}, any: map[string]any{"a": int64(1)}},
		{name: "nil map", val: map[string]int(nil), any: nil},
		{name: "map with int keys", val: map[int]string{1: "a", -2: "b"}, cborAnyFails: true,
			json: map[string]any{"1": "a", "-2": "b"}},
		{name: "struct", val: typesPoint{X: 1, Y: 2, Label: "p"},
			any: map[string]any{"x": int64(1), "y": int64(2), "Label": "p"}},
		{name: "embedded struct", val: typesEmbed{typesBase{3}, "n"}, any: map[string]any{"id": int64(3), "name": "n"}},
		{name: "pointer", val: &seven, any: int64(7)},
		{name: "nil pointer", val: (*int)(nil), any: nil},
		{name: "time.Time", val: when, any: "2024-05-06T07:08:09.123456789+01:00"},
		{name: "*big.Int", val: bigOf("-123456789012345678901234567890"), any: bigOf("-123456789012345678901234567890")},
		{name: "small *big.Int", val: big.NewInt(5), any: int64(5)},
		{name: "any", val: []any{nil, int64(1) << 60, "x", 1.5, map[string]any{"k": []any{true}}},
			any: []any{nil, int64(1) << 60, "x", 1.5, map[string]any{"k": []any{true}}}},
		{name: "struct of any", val: typesAny{V: int64(1<<53 + 1), M: map[string]any{"n": bigOf("99999999999999999999")}},
			any: map[string]any{"v": int64(1<<53 + 1), "m": map[string]any{"n": bigOf("99999999999999999999")}}},
	} {
		for _, c := range []Codec{CBOR, JSON} {
			var buf bytes.Buffer
			if err := c.AppendArray(&buf, []any{row.val, row.val}); err != nil {
				t.Fatalf("%s %s: encoding: %v", c.Name(), row.name, err)
			}
			arr, err := c.OpenArray(buf.Bytes())
			if err != nil {
				t.Fatalf("%s %s: %v", c.Name(), row.name, err)
			}
			var dst reflect.Value
			if row.dst != nil {
				dst = reflect.ValueOf(row.dst())
			} else {
				dst = reflect.New(reflect.TypeOf(row.val))
			}
			if err := arr.Next(dst.Interface()); err != nil {
				t.Errorf("%s %s: typed: %v", c.Name(), row.name, err)
				continue
			}
			want := row.want
			if want == nil {
				want = row.val
			}
			if got := dst.Elem().Interface(); !equalValue(got, want) {
				t.Errorf("%s %s: typed %#v, want %#v", c.Name(), row.name, got, want)
			}
			var got any
			err = arr.Next(&got)
			if c == CBOR && row.cborAnyFails {
				if err == nil {
					t.Errorf("%s %s: into any: %#v, want an error", c.Name(), row.name, got)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s %s: into any: %v", c.Name(), row.name, err)
				continue
			}
			wantAny := row.any
			if c == JSON && row.json != nil {
				wantAny = row.json
			}
			if !equalValue(got, wantAny) {
				t.Errorf("%s %s: into any %#v (%T), want %#v (%T)", c.Name(), row.name, got, got, wantAny, wantAny)
			}
		}
	}
}

// equalValue is reflect.DeepEqual, with times equal at the same instant
// and offset, and big.Ints equal by value.
func equalValue(a, b any) bool {
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		_, oa := ta.Zone()
		_, ob := tb.Zone()
		return ok && ta.Equal(tb) && oa == ob
	}
	if ba, ok := a.(*big.Int); ok {
		bb, ok := b.(*big.Int)
		return ok && ba.Cmp(bb) == 0
	}
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if va.IsValid() && vb.IsValid() && va.Type() == vb.Type() {
		switch va.Kind() {
		case reflect.Slice:
			if va.IsNil() != vb.IsNil() || va.Len() != vb.Len() {
				return false
			}
			for i := 0; i < va.Len(); i++ {
				if !equalValue(va.Index(i).Interface(), vb.Index(i).Interface()) {
					return false
				}
			}
			return true
		case reflect.Map:
			if va.IsNil() != vb.IsNil() || va.Len() != vb.Len() {
				return false
			}
			for _, k := range va.MapKeys() {
				if e := vb.MapIndex(k); !e.IsValid() || !equalValue(va.MapIndex(k).Interface(), e.Interface()) {
					return false
				}
			}
			return true
		}
	}
	return reflect.DeepEqual(a, b)
}

// wire is one encoded value per codec; "" leaves a codec out of the row.
type wire struct{ cbor, json string }

// TestTypesWire decodes encoded values that are not what the encoders
// write, and checks that both codecs accept, or refuse, the same.
func TestTypesWire(t *testing.T) {
	for _, row := range []struct {
		name string
		in   wire
		dst  func() any
		want any   // the decoded value, when accepted
		err  error // the sentinel of the refusal, or errAny
		msg  string
	}{
		{name: "1.0 into int", in: wire{"\xf9\x3c\x00", "1.0"}, dst: ptr[int], err: errAny},
		{name: "1e2 into int", in: wire{"\xf9\x56\x40", "1e2"}, dst: ptr[int], err: errAny},
		{name: "integer into float64", in: wire{"\x03", "3"}, dst: ptr[float64], want: 3.0},
		{name: "300 into int8", in: wire{"\x19\x01\x2c", "300"}, dst: ptr[int8], err: errAny},
		{name: "-1 into uint", in: wire{"\x20", "-1"}, dst: ptr[uint], err: errAny},
		{name: "bignum into int", in: wire{"\xc2\x41\x05", "5"}, dst: ptr[int], want: 5},
		{name: "bignum beyond int64", in: wire{"\xc2\x49\x01\x00\x00\x00\x00\x00\x00\x00\x00", "18446744073709551616"}, dst: ptr[int64], err: errAny},
		{name: "bignum into any", in: wire{"\xc2\x49\x01\x00\x00\x00\x00\x00\x00\x00\x00", "18446744073709551616"}, dst: ptr[any], want: bigOf("18446744073709551616")},
		{name: "negative beyond int64 into any", in: wire{"\x3b\xff\xff\xff\xff\xff\xff\xff\xff", "-18446744073709551616"}, dst: ptr[any], want: bigOf("-18446744073709551616")},
		{name: "float into any", in: wire{"\xfb\x3f\xf8\x00\x00\x00\x00\x00\x00", "1.5"}, dst: ptr[any], want: 1.5},
		{name: "array of integers into []byte", in: wire{"\x82\x01\x02", "[1,2]"}, dst: ptr[[]byte], want: []byte{1, 2}},
		{name: "byte string into []byte", in: wire{"\x42\x01\x02", `"AQI="`}, dst: ptr[[]byte], want: []byte{1, 2}},
		{name: "text into []byte", in: wire{cbor: "\x64AQI="}, dst: ptr[[]byte], err: errAny},
		{name: "byte string into string", in: wire{cbor: "\x42hi"}, dst: ptr[string], err: errAny},
		{name: "null into slice", in: wire{"\xf6", "null"}, dst: ptr[[]int], want: []int(nil)},
		{name: "null into int", in: wire{"\xf6", "null"}, dst: ptr[int], want: 0},
		{name: "undefined into any", in: wire{cbor: "\xf7"}, dst: ptr[any], want: nil},
		{name: "longer array into array", in: wire{"\x83\x01\x02\x03", "[1,2,3]"}, dst: ptr[[2]int], want: [2]int{1, 2}},
		{name: "array into struct", in: wire{"\x82\x01\x02", "[1,2]"}, dst: ptr[typesPoint], err: errAny},
		{name: "keys match ignoring case", in: wire{"\xa2\x61X\x01\x65LABEL\x61l", `{"X":1,"LABEL":"l"}`}, dst: ptr[typesPoint], want: typesPoint{X: 1, Label: "l"}},
		{name: "unknown keys ignored", in: wire{"\xa2\x61x\x01\x61z\x02", `{"x":1,"z":2}`}, dst: ptr[typesPoint], want: typesPoint{X: 1}},
		{name: "key of a \"-\" field ignored", in: wire{"\xa1\x64Gone\x01", `{"Gone":1}`}, dst: ptr[typesPoint], want: typesPoint{}},
		{name: "duplicate key in a map", in: wire{"\xa2\x61w\x02\x61w\x03", `{"w":2,"w":3}`}, dst: ptr[map[string]int], err: ErrDuplicateKey},
		{name: "duplicate key into any", in: wire{"\xa2\x61w\x02\x61w\x03", `{"w":2,"\u0077":3}`}, dst: ptr[any], err: ErrDuplicateKey},
		{name: "duplicate field", in: wire{"\xa2\x61x\x02\x61x\x03", `{"x":2,"x":3}`}, dst: ptr[typesPoint], err: ErrDuplicateKey},
		{name: "two keys of one field", in: wire{"\xa2\x61x\x02\x61X\x03", `{"x":2,"X":3}`}, dst: ptr[typesPoint], err: ErrDuplicateKey},
		{name: "nested duplicate", in: wire{"\x81\xa2\x61x\x02\x61x\x03", `[{"x":2,"x":3}]`}, dst: ptr[[]typesPoint], err: ErrDuplicateKey},
		{name: "keys differing in case in a map", in: wire{"\xa2\x61w\x02\x61W\x03", `{"w":2,"W":3}`}, dst: ptr[map[string]int], want: map[string]int{"w": 2, "W": 3}},
		{name: "invalid UTF-8", in: wire{"\x61\xff", "\"\xff\""}, dst: ptr[string], err: ErrText},
		{name: "lone surrogate", in: wire{"\x63\xed\xa0\x80", `"\ud800"`}, dst: ptr[string], err: ErrText},
		{name: "surrogate pair", in: wire{"\x64\xf0\x9f\x98\x80", `"\ud83d\ude00"`}, dst: ptr[string], want: "😀"},
		{name: "int keys into a map[int]", in: wire{"\xa1\x01\x61a", `{"1":"a"}`}, dst: ptr[map[int]string], want: map[int]string{1: "a"}},
		{name: "int keys into any", in: wire{cbor: "\xa1\x01\x61a"}, dst: ptr[any], err: errAny},
		{name: "RFC 3339 time", in: wire{"\x74" + "2024-01-02T03:04:05Z", `"2024-01-02T03:04:05Z"`}, dst: ptr[time.Time], want: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{name: "tag 0 time", in: wire{cbor: "\xc0\x74" + "2024-01-02T03:04:05Z"}, dst: ptr[time.Time], want: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{name: "tag 1 time", in: wire{cbor: "\xc1\x1a\x65\x53\xf1\x00"}, dst: ptr[time.Time], want: time.Unix(1700000000, 0)},
		{name: "number into time", in: wire{json: "1700000000"}, dst: ptr[time.Time], err: errAny},
		{name: "tag 0 time into any", in: wire{cbor: "\xc0\x74" + "2024-01-02T03:04:05Z"}, dst: ptr[any], want: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{name: "other tag", in: wire{cbor: "\xd8\x20\x61x"}, dst: ptr[any], err: ErrTag},
		{name: "simple value", in: wire{cbor: "\xf0"}, dst: ptr[any], err: ErrSimple},
	} {
		for _, c := range []Codec{CBOR, JSON} {
			in := row.in.cbor
			list := "\x81" + in
			if c == JSON {
				in, list = row.in.json, "["+row.in.json+"]"
			}
			if in == "" {
				continue
			}
			dst := row.dst()
			arr, err := c.OpenArray([]byte(list))
			if err == nil {
				err = arr.Next(dst)
			}
			switch {
			case row.err == nil && err != nil:
				t.Errorf("%s %s: %v", c.Name(), row.name, err)
			case row.err == nil:
				if got := reflect.ValueOf(dst).Elem().Interface(); !equalValue(got, row.want) {
					t.Errorf("%s %s: %#v, want %#v", c.Name(), row.name, got, row.want)
				}
			case err == nil:
				t.Errorf("%s %s: accepted as %#v", c.Name(), row.name, reflect.ValueOf(dst).Elem().Interface())
			case row.err != errAny && !errors.Is(err, row.err):
				t.Errorf("%s %s: %v, want %v", c.Name(), row.name, err, row.err)
			}
		}
	}
	// An indefinite-length argument list is refused; inside it, one is a
	// value like any other.
	if _, err := CBOR.OpenArray([]byte{0x9f, 0x01, 0xff}); !errors.Is(err, ErrNotArray) {
		t.Errorf("indefinite-length list: %v", err)
	}
	arr, err := CBOR.OpenArray([]byte{0x81, 0x9f, 0x01, 0xff})
	var inner []int
	if err != nil || arr.Next(&inner) != nil || len(inner) != 1 {
		t.Errorf("indefinite-length array inside: %v, %v", inner, err)
	}
}

// errAny stands for any refusal in TestTypesWire.
var errAny = errors.New("any error")

func ptr[T any]() any { return new(T) }

// TestUnknownFields checks NextStrict: a key naming no field is refused
// with the nearest field name, through both codecs.
func TestUnknownFields(t *testing.T) {
	type args struct {
		FirstName string `json:"first_name"`
		Count     int
		typesBase
		Inner typesPoint `json:"inner"`
	}
	for _, row := range []struct {
		in   map[string]any
		want string // the error, "" for none
	}{
		{map[string]any{"first_name": "a", "count": 1, "ID": 2, "inner": map[string]any{"zzz": 1}}, ""},
		{map[string]any{"first_nme": "a"}, `unknown field "first_nme" (did you mean "first_name"?)`},
		{map[string]any{"FirstName": "a"}, `unknown field "FirstName" (did you mean "first_name"?)`},
		{map[string]any{"cnt": 1}, `unknown field "cnt" (did you mean "Count"?)`},
		{map[string]any{"wholly_else": 1}, `unknown field "wholly_else"`},
	} {
		for _, c := range []Codec{CBOR, JSON} {
			var buf bytes.Buffer
			if err := c.AppendArray(&buf, []any{row.in, 7}); err != nil {
				t.Fatal(err)
			}
			arr, err := c.OpenArray(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			var got args
			err = arr.NextStrict(&got)
			switch {
			case row.want == "" && err != nil:
				t.Errorf("%s %v: %v", c.Name(), row.in, err)
			case row.want != "" && (err == nil || err.Error() != row.want):
				t.Errorf("%s %v: %v, want %s", c.Name(), row.in, err, row.want)
			}
			if row.want != "" && !errors.As(err, new(*UnknownFieldError)) {
				t.Errorf("%s: %T is not an *UnknownFieldError", c.Name(), err)
			}
			var next int
			if err := arr.Next(&next); err != nil || next != 7 {
				t.Errorf("%s: the element after: %d, %v", c.Name(), next, err)
			}
		}
	}
	// At most a few keys are named, each cut short.
	many := map[string]any{}
	for i := range 10 {
		many[strings.Repeat("k", 100)+string(rune('a'+i))] = i
	}
	for _, c := range []Codec{CBOR, JSON} {
		var buf bytes.Buffer
		_ = c.AppendArray(&buf, []any{many})
		arr, _ := c.OpenArray(buf.Bytes())
		var got args
		if err := arr.NextStrict(&got); err == nil || len(err.Error()) > maxErrorLen {
			t.Errorf("%s: %v", c.Name(), err)
		}
	}
}
