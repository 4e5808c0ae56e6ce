package codec

import (
	"bytes"
	"strconv"
)

// Integers, the commonest arguments and results, are decoded and encoded
// here without encoding/json, which for one number costs a decoder's
// state, a scan and reflection. Only Go's own integer types take this
// way (a named type may have methods of its own), and only a plain
// integer literal: anything else, and any integer that does not fit, is
// left to encoding/json, so that values and errors are its.

// decodeJSONInt decodes b, one valid JSON value, into v if v points to
// one of Go's integer types and b is an integer literal that fits it. It
// reports whether it did; if not, v is untouched.
func decodeJSONInt(b []byte, v any) bool {
	if len(b) == 0 || len(b) > 20 || b[0] != '-' && (b[0] < '0' || b[0] > '9') {
		return false
	}
	for _, c := range b[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	if digits := bytes.TrimPrefix(b, []byte("-")); len(digits) > 1 && digits[0] == '0' {
		return false // not JSON: left to encoding/json's error
	}
	switch p := v.(type) {
	case *int64:
		return setInt(p, b, 64)
	case *int:
		return setInt(p, b, strconv.IntSize)
	case *int32:
		return setInt(p, b, 32)
	case *int16:
		return setInt(p, b, 16)
	case *int8:
		return setInt(p, b, 8)
	case *uint64:
		return setUint(p, b, 64)
	case *uint:
		return setUint(p, b, strconv.IntSize)
	case *uint32:
		return setUint(p, b, 32)
	case *uint16:
		return setUint(p, b, 16)
	case *uint8:
		return setUint(p, b, 8)
	}
	return false
}

// setInt stores b, an integer literal, in *p, a signed integer of bits,
// if it fits, and reports whether it did.
func setInt[T int64 | int | int32 | int16 | int8](p *T, b []byte, bits int) bool {
	n, ok := parseJSONInt(b, bits)
	if ok {
		*p = T(n)
	}
	return ok
}

// setUint is setInt for an unsigned integer.
func setUint[T uint64 | uint | uint32 | uint16 | uint8](p *T, b []byte, bits int) bool {
	n, ok := parseJSONUint(b, bits)
	if ok {
		*p = T(n)
	}
	return ok
}

// parseJSONInt parses b, an integer literal, as a signed integer of bits.
func parseJSONInt(b []byte, bits int) (int64, bool) {
	n, err := strconv.ParseInt(string(b), 10, bits)
	return n, err == nil
}

// parseJSONUint parses b, an integer literal, as an unsigned integer of
// bits; a negative one, "-0" too, is refused, as encoding/json does.
func parseJSONUint(b []byte, bits int) (uint64, bool) {
	if b[0] == '-' {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b), 10, bits)
	return n, err == nil
}

// appendJSONInt appends v to buf as JSON if it is one of Go's integer
// types, as encoding/json writes it, and reports whether it did.
func appendJSONInt(buf *bytes.Buffer, v any) bool {
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case int:
		n = int64(x)
	case int32:
		n = int64(x)
	case int16:
		n = int64(x)
	case int8:
		n = int64(x)
	case uint64:
		return appendUint(buf, x)
	case uint:
		return appendUint(buf, uint64(x))
	case uint32:
		return appendUint(buf, uint64(x))
	case uint16:
		return appendUint(buf, uint64(x))
	case uint8:
		return appendUint(buf, uint64(x))
	default:
		return false
	}
	var digits [20]byte
	buf.Write(strconv.AppendInt(digits[:0], n, 10))
	return true
}

// appendUint appends n to buf as JSON; it reports true, for
// appendJSONInt's cases to return.
func appendUint(buf *bytes.Buffer, n uint64) bool {
	var digits [20]byte
	buf.Write(strconv.AppendUint(digits[:0], n, 10))
	return true
}
