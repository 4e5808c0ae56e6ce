package codec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
)

// checkJSONKeys refuses a JSON value holding an object with one key twice,
// or, where the object decodes into a struct, two keys that match one
// field (keys match field names ignoring case): encoding/json would keep
// the last value, fxamacker/cbor refuses, and one rule must hold for both.
// t is the type the value decodes into, nil for any. The value has been
// scanned, so it is valid JSON nested at most MaxDepth levels; the check
// allocates only for keys with escapes and objects of many keys.
func checkJSONKeys(b []byte, t reflect.Type) error {
	w := keyWalker{data: b}
	var scratch [16][]byte
	w.keys = scratch[:0]
	_, err := w.value(0, t)
	return err
}

// keyWalker walks a scanned JSON value alongside the type it decodes into.
type keyWalker struct {
	data []byte
	keys [][]byte // the keys of the open objects, innermost last
}

// value checks the value at data[i:] and returns where it ends.
func (w *keyWalker) value(i int, t reflect.Type) (int, error) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (t.Kind() == reflect.Interface || decodesItself(t)) {
		// any: every map below is a map[string]any. A type that decodes
		// itself sees its own bytes; its keys are its own business.
		if t.Kind() != reflect.Interface {
			return i + jsonValueEnd(w.data[i:]), nil
		}
		t = nil
	}
	switch w.data[i] {
	case '{':
		return w.object(i, t)
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		i = skipSpace(w.data, i+1)
		if w.data[i] == ']' {
			return i + 1, nil
		}
		for {
			end, err := w.value(i, elem)
			if err != nil {
				return 0, err
			}
			i = skipSpace(w.data, end)
			if w.data[i] == ']' {
				return i + 1, nil
			}
			i = skipSpace(w.data, i+1) // the comma
		}
	}
	return i + jsonValueEnd(w.data[i:]), nil
}

// object checks the object at data[i:].
func (w *keyWalker) object(i int, t reflect.Type) (int, error) {
	var fs []field
	var elem reflect.Type
	switch {
	case t == nil:
	case t.Kind() == reflect.Struct:
		fs = fieldsOf(t)
	case t.Kind() == reflect.Map:
		elem = t.Elem()
	}
	base := len(w.keys)
	defer func() { w.keys = w.keys[:base] }()
	var seen uint64 // the fields matched so far, by id, when fewer than 64
	var seenMany map[int]bool
	i = skipSpace(w.data, i+1)
	if w.data[i] == '}' {
		return i + 1, nil
	}
	for {
		end := jsonStringEnd(w.data, i+1)
		key := w.data[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			var s string
			if err := json.Unmarshal(w.data[i:end], &s); err != nil {
				return 0, err // not reached: the value was scanned
			}
			key = []byte(s)
		}
		w.keys = append(w.keys, key)
		vt := elem
		if fs != nil {
			vt = nil
			if f, ok := lookupField(fs, string(key)); ok {
				vt = f.typ
				dup := false
				if f.id < 64 {
					dup = seen&(1<<f.id) != 0
					seen |= 1 << f.id
				} else {
					if seenMany == nil {
						seenMany = map[int]bool{}
					}
					dup, seenMany[f.id] = seenMany[f.id], true
				}
				if dup {
					return 0, fmt.Errorf("%w: %q, a second key for field %s", ErrDuplicateKey, key, f.name)
				}
			}
		}
		i = skipSpace(w.data, end)
		end, err := w.value(skipSpace(w.data, i+1), vt) // past the colon
		if err != nil {
			return 0, err
		}
		i = skipSpace(w.data, end)
		if w.data[i] == '}' {
			break
		}
		i = skipSpace(w.data, i+1)
	}
	if err := duplicateKey(w.keys[base:]); err != nil {
		return 0, err
	}
	return i + 1, nil
}

// duplicateKey refuses keys holding one key twice. It sorts them when
// there are many.
func duplicateKey(keys [][]byte) error {
	if len(keys) <= 16 {
		for i, k := range keys {
			for _, prev := range keys[:i] {
				if bytes.Equal(k, prev) {
					return fmt.Errorf("%w: %q", ErrDuplicateKey, k)
				}
			}
		}
		return nil
	}
	slices.SortFunc(keys, bytes.Compare)
	for i := 1; i < len(keys); i++ {
		if bytes.Equal(keys[i], keys[i-1]) {
			return fmt.Errorf("%w: %q", ErrDuplicateKey, keys[i])
		}
	}
	return nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}
