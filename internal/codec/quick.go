package codec

// Integers as whole values, the commonest small stream items: the
// general encoder and decoder each cost a type dispatch several times
// the work itself, once per item. DecodeIntInto and AppendInt do what
// they would, for CBOR integers alone (FuzzQuickInt checks both against
// them); for anything else they report false and the caller goes the
// general way.

// DecodeIntInto decodes data, one value encoded by c, into v when v
// points to an int64, an int or a uint64 and data is a CBOR integer that
// fits it, as Unmarshal would, and reports whether it did; it does
// nothing otherwise.
func DecodeIntInto(c Codec, data []byte, v any) bool {
	if _, ok := c.(*cborCodec); !ok || len(data) == 0 || data[0]>>5 > 1 {
		return false
	}
	u, hl, ok := parseCBORCount(data)
	return ok && hl == len(data) && putInt(v, data[0]>>5 == 1, u)
}

// AppendInt appends v to dst, encoded by c, when v is an int64, an int,
// a pointer to one, or a uint64 and c is CBOR, as Append would, and
// reports whether it did; it returns dst as it is otherwise. At most
// MaxInt bytes are appended.
func AppendInt(c Codec, dst []byte, v any) ([]byte, bool) {
	if _, ok := c.(*cborCodec); !ok {
		return dst, false
	}
	var n int64
	switch v := v.(type) {
	case int64:
		n = v
	case int:
		n = int64(v)
	case *int64: // an item sent through a reused pointer (rangeSeq2Boxed)
		n = *v
	case *int:
		n = int64(*v)
	case uint64:
		return appendCBORHead(dst, 0, v), true
	default:
		return dst, false
	}
	if n < 0 {
		return appendCBORHead(dst, 1, uint64(-(n + 1))), true
	}
	return appendCBORHead(dst, 0, uint64(n)), true
}

// MaxInt is the most bytes AppendInt appends.
const MaxInt = 9
