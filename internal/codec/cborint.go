package codec

import "math"

// nextInt decodes the next element of a into v when v points to an
// int64, an int or a uint64 and the element is a CBOR integer (major type
// 0 or 1) that fits it, and reports whether it did. Integers are the
// commonest arguments and results, and the general decoder's type
// dispatch costs several times the decoding itself. Anything else — a
// value that does not fit, a tag, a float, another target — is left to
// the decoder, which decodes these the same way (FuzzCBORInt checks it).
func nextInt(a *Array, v any) bool {
	b := a.rest
	if len(b) == 0 || b[0]>>5 > 1 {
		return false
	}
	u, hl, ok := parseCBORCount(b)
	if !ok {
		return false
	}
	if !putInt(v, b[0]>>5 == 1, u) {
		return false
	}
	a.rest = b[hl:]
	return true
}

// putInt stores the CBOR integer u of major type 0, or -1 - u of major
// type 1 with neg, into v when v points to an int64, an int or a uint64
// that holds it, and reports whether it did.
func putInt(v any, neg bool, u uint64) bool {
	switch p := v.(type) {
	case *int64:
		if u > math.MaxInt64 {
			return false
		}
		*p = signed(neg, u)
	case *int:
		if u > math.MaxInt {
			return false
		}
		*p = int(signed(neg, u))
	case *uint64:
		if neg {
			return false
		}
		*p = u
	default:
		return false
	}
	return true
}

// signed is the CBOR integer u of major type 0, or -1 - u of major type 1
// with neg; u is at most math.MaxInt64.
func signed(neg bool, u uint64) int64 {
	if neg {
		return -1 - int64(u)
	}
	return int64(u)
}
