package codec

import (
	"github.com/simplerpc/simplerpc/internal/text"

	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// UnknownFieldError reports keys of a map that name no field of the struct
// it was to be decoded into.
type UnknownFieldError struct {
	Keys []string // the keys, at most maxUnknownKeys of them, each cut short
	// Suggest holds, for each key, the field name closest to it, or "".
	Suggest []string
}

// maxUnknownKeys bounds the keys an UnknownFieldError names.
const maxUnknownKeys = 4

func (e *UnknownFieldError) Error() string {
	if len(e.Keys) > 1 {
		return "unknown fields " + e.Names()
	}
	return "unknown field " + e.Names()
}

// Names lists the keys, each with the field it may have meant:
// "first_nme" (did you mean "first_name"?), "x".
func (e *UnknownFieldError) Names() string {
	var b strings.Builder
	for i, k := range e.Keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", k)
		if e.Suggest[i] != "" {
			fmt.Fprintf(&b, " (did you mean %q?)", e.Suggest[i])
		}
	}
	return b.String()
}

// NextStrict decodes the next element, which must be a map, into v, a
// pointer to a plain struct (IsPlainStruct), as Next does, but first
// refuses the element with an *UnknownFieldError if one of its keys names
// no field of the struct. Keys in the maps of the struct's fields are not
// checked.
func (a *Array) NextStrict(v any) error {
	if a.i < a.n {
		if t := reflect.TypeOf(v); t != nil && t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct {
			if err := a.unknownKeys(fieldsOf(t.Elem())); err != nil {
				_ = a.Next(nil)
				return bound(err)
			}
		}
	}
	return a.Next(v)
}

// unknownKeys refuses the next element, a map, if a key names none of fs.
func (a *Array) unknownKeys(fs []field) error {
	var e UnknownFieldError
	check := func(key string) {
		if _, ok := lookupField(fs, key); ok || len(e.Keys) == maxUnknownKeys {
			return
		}
		e.Keys = append(e.Keys, text.Cut(key, 64))
		e.Suggest = append(e.Suggest, closestField(fs, key))
	}
	if a.cbor != nil {
		a.cbor.mapKeys(a.rest, check)
	} else {
		jsonMapKeys(a.rest, check)
	}
	if len(e.Keys) == 0 {
		return nil
	}
	// In sorted order, so the message is the same however the client's
	// encoder ordered the map.
	order := make([]int, len(e.Keys))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int { return strings.Compare(e.Keys[i], e.Keys[j]) })
	keys, suggest := make([]string, len(order)), make([]string, len(order))
	for n, i := range order {
		keys[n], suggest[n] = e.Keys[i], e.Suggest[i]
	}
	e.Keys, e.Suggest = keys, suggest
	return &e
}

// mapKeys calls fn with each text key of the map b starts with, which has
// been scanned; other keys are left to the decoder, which refuses them.
func (c *cborCodec) mapKeys(b []byte, fn func(string)) {
	if len(b) == 0 || b[0]>>5 != cborMap {
		return
	}
	indef := b[0]&0x1f == 31
	var n uint64
	rest := b[1:]
	if !indef {
		var hl int
		var ok bool
		if n, hl, ok = parseCBORCount(b); !ok {
			return
		}
		rest = b[hl:]
	}
	for i := uint64(0); indef || i < n; i++ {
		if len(rest) == 0 || indef && rest[0] == 0xff {
			return
		}
		if rest[0]>>5 == cborText {
			var key string
			if r, err := c.dec.UnmarshalFirst(rest, &key); err == nil {
				fn(key)
				rest = r
			} else {
				return
			}
		} else if rest = skipCBOR(rest); rest == nil {
			return
		}
		if rest = skipCBOR(rest); rest == nil {
			return
		}
	}
}

// skipCBOR returns b past its first data item, which has been scanned, or
// nil.
func skipCBOR(b []byte) []byte {
	end, _, err := scanCBOR(b, 0, 1, 1)
	if err != nil {
		return nil
	}
	return b[end:]
}

// jsonMapKeys calls fn with each key of the object b starts with, which
// has been scanned.
func jsonMapKeys(b []byte, fn func(string)) {
	if len(b) == 0 || b[0] != '{' {
		return
	}
	i := skipSpace(b, 1)
	for i < len(b) && b[i] == '"' {
		end := jsonStringEnd(b, i+1)
		key := string(b[i+1 : end-1])
		if bytes.IndexByte(b[i:end], '\\') >= 0 {
			if json.Unmarshal(b[i:end], &key) != nil {
				return
			}
		}
		fn(key)
		i = skipSpace(b, skipSpace(b, end)+1) // past the colon
		i = skipSpace(b, i+jsonValueEnd(b[i:]))
		if i >= len(b) || b[i] != ',' {
			return
		}
		i = skipSpace(b, i+1)
	}
}

// closestField returns the field name nearest to key, or "" when none is
// near: the same ignoring case, '_' and '-', or about a third of the
// name's letters away at most (one letter for names of up to four).
func closestField(fs []field, key string) string {
	if len(key) > 64 {
		return "" // not near any name, and not worth the comparing
	}
	norm := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == '_' || r == '-' {
				return -1
			}
			return r
		}, strings.ToLower(s))
	}
	k := norm(key)
	best, bestD := "", 0
	for _, f := range fs {
		d := text.Distance(k, norm(f.name))
		if d <= max(1, (len(f.name)+1)/3) && (best == "" || d < bestD) {
			best, bestD = f.name, d
		}
	}
	return best
}
