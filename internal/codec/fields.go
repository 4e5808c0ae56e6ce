package codec

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"sync"

	"github.com/fxamacker/cbor/v2"
)

// field is one key a struct decodes from a map: a field's name, as both
// codecs find it (the name in its cbor or json tag, else its Go name), and
// the field's type. Keys match names exactly first, then ignoring case.
type field struct {
	name string
	typ  reflect.Type
	id   int // the same for the names of one Go field
}

// structFields caches fieldsOf by type.
var structFields sync.Map // reflect.Type → []field

// fieldsOf returns the keys a struct of type t decodes from, as
// encoding/json and fxamacker/cbor resolve them: exported fields, and the
// fields of embedded structs as if they were the outer struct's, unless a
// tag names the embedded struct; a field tagged "-" takes no key. Where
// two embedded fields at one depth claim a name both keep it here, which
// only makes the name known.
func fieldsOf(t reflect.Type) []field {
	if fs, ok := structFields.Load(t); ok {
		return fs.([]field)
	}
	var fs []field
	ids := 0
	var walk func(t reflect.Type, depth int, seen map[reflect.Type]bool)
	walk = func(t reflect.Type, depth int, seen map[reflect.Type]bool) {
		if seen[t] || depth > 16 {
			return
		}
		seen[t] = true
		defer delete(seen, t)
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			jname, jok := tagName(f.Tag.Get("json"))
			cname, cok := tagName(f.Tag.Get("cbor"))
			if f.Tag.Get("json") == "-" && !cok || f.Tag.Get("cbor") == "-" {
				continue
			}
			ft := f.Type
			if f.Anonymous && !jok && !cok {
				et := ft
				if et.Kind() == reflect.Pointer {
					et = et.Elem()
				}
				if et.Kind() == reflect.Struct {
					walk(et, depth+1, seen)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			id := ids
			ids++
			switch {
			case cok:
				fs = append(fs, field{cname, ft, id})
				if jok && jname != cname {
					fs = append(fs, field{jname, ft, id})
				}
			case jok:
				fs = append(fs, field{jname, ft, id})
			default:
				fs = append(fs, field{f.Name, ft, id})
			}
		}
	}
	walk(t, 0, map[reflect.Type]bool{})
	actual, _ := structFields.LoadOrStore(t, fs)
	return actual.([]field)
}

// tagName returns the name a json or cbor struct tag gives, if any.
func tagName(tag string) (string, bool) {
	name, _, _ := strings.Cut(tag, ",")
	return name, name != "" && name != "-"
}

// lookupField returns the field key names: exactly, else ignoring case.
func lookupField(fs []field, key string) (field, bool) {
	for _, f := range fs {
		if f.name == key {
			return f, true
		}
	}
	for _, f := range fs {
		if strings.EqualFold(f.name, key) {
			return f, true
		}
	}
	return field{}, false
}

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	cborUnmarshalerType = reflect.TypeFor[cbor.Unmarshaler]()
)

// decodesItself reports whether values of t are decoded by their own
// method rather than by the codec's rules for their kind.
func decodesItself(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return p.Implements(jsonUnmarshalerType) || p.Implements(textUnmarshalerType) || p.Implements(cborUnmarshalerType)
}

// IsPlainStruct reports whether t is a struct that both codecs decode from
// a map, key by field: a struct without a decoding method of its own
// (time.Time and big.Int are not plain structs).
func IsPlainStruct(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && !decodesItself(t)
}
