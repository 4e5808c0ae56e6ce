package codec

// DecodeBytesInto decodes data, one value encoded by c, into *dst when it
// is a byte string of c's own form (a definite-length CBOR byte string),
// copying its bytes into the capacity of *dst when they fit, as append
// does: a caller that decodes chunk after chunk into one slice allocates
// nothing once it is large enough. It reports false, having done
// nothing, for any other data; the caller decodes those with Unmarshal,
// which also says why malformed data is.
func DecodeBytesInto(c Codec, data []byte, dst *[]byte) bool {
	b, ok := BytesView(c, data)
	if !ok {
		return false
	}
	if *dst == nil {
		*dst = make([]byte, 0, len(b)) // as Unmarshal, a slice even when empty
	}
	*dst = append((*dst)[:0], b...)
	return true
}

// BytesView returns the bytes of data, one value encoded by c, as a slice
// of data itself when it is a byte string of c's own form (as
// DecodeBytesInto takes): no copy, for a caller that owns data. It
// reports false for any other data, which the caller decodes with
// Unmarshal.
func BytesView(c Codec, data []byte) ([]byte, bool) {
	if _, ok := c.(*cborCodec); !ok || len(data) == 0 || data[0]>>5 != cborBytes {
		return nil, false
	}
	n, hl, ok := parseCBORCount(data)
	if !ok || n != uint64(len(data)-hl) {
		return nil, false
	}
	return data[hl:len(data):len(data)], true
}
