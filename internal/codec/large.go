package codec

import (
	"bytes"
	"reflect"
)

// A large []byte that ends an argument or result array — an echo's, a
// download's — is copied into the frame with append rather than through
// bytes.Buffer's growth: growing a buffer clears the new memory, a pass
// over as many bytes as the copy that overwrites them, while append's
// fresh array is left as it is where the copy fills it. The encoding is
// the same definite-length byte string either way.

var bytesType = reflect.TypeFor[[]byte]()

// lastLargeBytes returns the last of vals when it is a []byte of at least
// growThreshold bytes.
func lastLargeBytes(vals []any) ([]byte, bool) {
	if len(vals) == 0 {
		return nil, false
	}
	b, ok := vals[len(vals)-1].([]byte)
	return b, ok && len(b) >= growThreshold
}

// lastLargeValue is lastLargeBytes for reflected values: the last must
// be of type []byte itself (a named type may encode otherwise).
func lastLargeValue(vals []reflect.Value) ([]byte, bool) {
	if len(vals) == 0 {
		return nil, false
	}
	v := vals[len(vals)-1]
	if !v.IsValid() || v.Type() != bytesType || v.Len() < growThreshold {
		return nil, false
	}
	return v.Bytes(), true
}

// appendLargeBytes appends v to buf as a CBOR byte string. When buf has
// no room for it, buf's bytes and v are copied into one new array by
// append, which does not clear it first, and buf takes that array.
func appendLargeBytes(buf *bytes.Buffer, v []byte) {
	buf.Write(appendCBORHead(buf.AvailableBuffer(), cborBytes, uint64(len(v))))
	if buf.Available() >= len(v) {
		buf.Write(v)
		return
	}
	b := buf.Bytes()
	*buf = *bytes.NewBuffer(append(b[:len(b):len(b)], v...))
}
