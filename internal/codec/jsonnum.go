package codec

import (
	"bytes"
	"encoding/json"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// Numbers decoded into any keep their exact value, in both codecs: an
// integer is an int64 when it fits one, else a *big.Int; any other number
// is a float64. encoding/json would make every number a float64, which
// loses integers beyond 2^53, so the JSON codec decodes values that can
// hold an interface with json.Number and converts the numbers after.

// jsonDecode decodes the JSON value b, which has been scanned, into v. objs
// says whether b may hold an object, whose keys are then checked.
func jsonDecode(b []byte, v any, objs bool) error {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer {
		return json.Unmarshal(b, v) // encoding/json's error
	}
	if decodeJSONInt(b, v) {
		return nil // jsonint.go
	}
	if objs {
		if err := checkJSONKeys(b, t.Elem()); err != nil {
			return err
		}
	}
	if !holdsAny(t.Elem()) {
		return json.Unmarshal(b, v)
	}
	nd := numberDecoders.Get().(*numberDecoder)
	nd.r.Reset(b)
	if err := nd.d.Decode(v); err != nil {
		return err // the decoder keeps its error: not reused
	}
	if len(b) <= maxPooledValue {
		numberDecoders.Put(nd)
	}
	return exactNumbers(reflect.ValueOf(v).Elem())
}

// numberDecoder is a json.Decoder that decodes numbers as json.Number, over
// a reader that is reset to each value: a new one costs a few KiB, which
// would make a list of many small values to decode into any costly.
type numberDecoder struct {
	r bytes.Reader
	d *json.Decoder
}

// maxPooledValue bounds the values a pooled decoder reads, and so the
// buffer it keeps.
const maxPooledValue = 16 << 10

var numberDecoders = sync.Pool{New: func() any {
	nd := &numberDecoder{}
	nd.d = json.NewDecoder(&nd.r)
	nd.d.UseNumber()
	return nd
}}

// anyHolders caches holdsAny by type.
var anyHolders sync.Map // reflect.Type → bool

// holdsAny reports whether decoding into a value of t can fill an
// interface: t is one, or holds one, not behind a decoding method.
func holdsAny(t reflect.Type) bool {
	if h, ok := anyHolders.Load(t); ok {
		return h.(bool)
	}
	h := holdsAnyIn(t, map[reflect.Type]bool{})
	anyHolders.Store(t, h)
	return h
}

func holdsAnyIn(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false // a cycle: what it holds is found where it started
	}
	seen[t] = true
	if t.Kind() != reflect.Interface && t.Kind() != reflect.Pointer && decodesItself(t) {
		return false
	}
	switch t.Kind() {
	case reflect.Interface:
		return t.NumMethod() == 0
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return holdsAnyIn(t.Elem(), seen)
	case reflect.Map:
		return holdsAnyIn(t.Elem(), seen)
	case reflect.Struct:
		for _, f := range fieldsOf(t) {
			if holdsAnyIn(f.typ, seen) {
				return true
			}
		}
	}
	return false
}

// exactNumbers replaces the json.Numbers decoding left in the interfaces
// of v with their exact values.
func exactNumbers(v reflect.Value) error {
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() || v.NumMethod() > 0 {
			return nil
		}
		x, err := exactAny(v.Elem().Interface())
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(&x).Elem())
	case reflect.Pointer:
		if !v.IsNil() && holdsAny(v.Type().Elem()) {
			return exactNumbers(v.Elem())
		}
	case reflect.Slice, reflect.Array:
		if !holdsAny(v.Type().Elem()) {
			return nil
		}
		if s, ok := v.Interface().([]any); ok {
			_, err := exactAny(s)
			return err
		}
		for i := 0; i < v.Len(); i++ {
			if err := exactNumbers(v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		if !holdsAny(v.Type().Elem()) {
			return nil
		}
		if m, ok := v.Interface().(map[string]any); ok {
			_, err := exactAny(m) // in place, without a value copied per key
			return err
		}
		iter := v.MapRange()
		for iter.Next() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(iter.Value())
			if err := exactNumbers(e); err != nil {
				return err
			}
			v.SetMapIndex(iter.Key(), e)
		}
	case reflect.Struct:
		if decodesItself(v.Type()) {
			return nil
		}
		for i := 0; i < v.NumField(); i++ {
			if f := v.Field(i); f.CanSet() && holdsAny(f.Type()) {
				if err := exactNumbers(f); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// exactAny converts the json.Numbers in x, a value encoding/json decoded
// into any, in place where x is a slice or map.
func exactAny(x any) (any, error) {
	switch x := x.(type) {
	case json.Number:
		return exactNumber(string(x))
	case []any:
		for i, e := range x {
			n, err := exactAny(e)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
	case map[string]any:
		for k, e := range x {
			switch e.(type) {
			case json.Number, []any, map[string]any:
				n, err := exactAny(e)
				if err != nil {
					return nil, err
				}
				x[k] = n
			}
		}
	}
	return x, nil
}

// exactNumber returns the value of a JSON number literal: an int64 when it
// is an integer that fits, a *big.Int when it is a larger integer, else a
// float64.
func exactNumber(s string) (any, error) {
	if !strings.ContainsAny(s, ".eE") {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
		if n, ok := new(big.Int).SetString(s, 10); ok {
			return n, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, &json.UnmarshalTypeError{Value: "number " + s, Type: reflect.TypeFor[float64]()}
	}
	return f, nil
}
