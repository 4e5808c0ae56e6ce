package codec

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"testing"
)

// intTargets are pointers to each of Go's integer types.
func intTargets() []any {
	return []any{new(int64), new(int), new(int32), new(int16), new(int8), new(uint64), new(uint), new(uint32), new(uint16), new(uint8)}
}

// checkJSONInt checks that decodeJSONInt, where it takes b, decodes what
// encoding/json decodes, and that jsonDecode answers as encoding/json
// does whichever decodes it.
func checkJSONInt(t *testing.T, b []byte) {
	t.Helper()
	for _, target := range intTargets() {
		typ := reflect.TypeOf(target).Elem()
		fast, want := reflect.New(typ), reflect.New(typ)
		took := decodeJSONInt(b, fast.Interface())
		wantErr := json.Unmarshal(b, want.Interface())
		if took && (wantErr != nil || fast.Elem().Interface() != want.Elem().Interface()) {
			t.Errorf("%s into %s: fast path %v, encoding/json %v (%v)", b, typ, fast.Elem(), want.Elem(), wantErr)
		}
		if !took && fast.Elem().Interface() != reflect.Zero(typ).Interface() {
			t.Errorf("%s into %s: declined but set %v", b, typ, fast.Elem())
		}
		got := reflect.New(typ)
		err := jsonDecode(b, got.Interface(), false)
		if (err != nil) != (wantErr != nil) || err == nil && got.Elem().Interface() != want.Elem().Interface() {
			t.Errorf("%s into %s: jsonDecode %v (%v), encoding/json %v (%v)", b, typ, got.Elem(), err, want.Elem(), wantErr)
		}
	}
}

func jsonIntSeeds() []string {
	seeds := []string{"0", "-0", "1", "-1", "42", "127", "128", "-128", "-129", "255", "256", "32767", "32768", "-32769",
		"65535", "65536", "2147483647", "2147483648", "-2147483649", "4294967295", "4294967296",
		"9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
		"18446744073709551615", "18446744073709551616", "123456789012345678901", "1.0", "1e2", "-1E2", "1.5", "null",
		`"1"`, "true", "[1]", " 1", "1 ", "00", "-"}
	for _, n := range []int64{math.MaxInt64, math.MinInt64, math.MaxInt32 + 1, math.MinInt32 - 1} {
		seeds = append(seeds, strconv.FormatInt(n, 10))
	}
	return seeds
}

func TestDecodeJSONInt(t *testing.T) {
	for _, s := range jsonIntSeeds() {
		checkJSONInt(t, []byte(s))
	}
}

func TestAppendJSONInt(t *testing.T) {
	vals := []any{int64(math.MinInt64), int64(math.MaxInt64), 0, -1, int32(math.MinInt32), int16(-7), int8(math.MinInt8),
		uint64(math.MaxUint64), uint(3), uint32(math.MaxUint32), uint16(9), uint8(255)}
	for _, v := range vals {
		var buf bytes.Buffer
		if !appendJSONInt(&buf, v) {
			t.Errorf("%T %v not taken", v, v)
			continue
		}
		want, _ := json.Marshal(v)
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%T %v: %s, encoding/json %s", v, v, buf.Bytes(), want)
		}
	}
	type named int64
	for _, v := range []any{named(1), 1.5, "1", true, nil} {
		var buf bytes.Buffer
		if appendJSONInt(&buf, v) || buf.Len() != 0 {
			t.Errorf("%T %v taken: %q", v, v, buf.Bytes())
		}
	}
}

// FuzzJSONInt checks the integer fast path against encoding/json on any
// valid JSON value.
func FuzzJSONInt(f *testing.F) {
	for _, s := range jsonIntSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return // the scanner passes the decoders valid JSON only
		}
		checkJSONInt(t, b)
		var n int64
		if json.Unmarshal(b, &n) == nil {
			var buf bytes.Buffer
			appendJSONInt(&buf, n)
			if want, _ := json.Marshal(n); !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%d: %s, encoding/json %s", n, buf.Bytes(), want)
			}
		}
	})
}
