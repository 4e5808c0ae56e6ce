package codec

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"reflect"

	"github.com/fxamacker/cbor/v2"
)

// CBOR is the default codec: RFC 8949 CBOR, through github.com/fxamacker/cbor/v2
// with its decode limits set.
var CBOR Codec = newCBOR()

type cborCodec struct {
	enc cbor.UserBufferEncMode
	dec cbor.DecMode
}

func newCBOR() *cborCodec {
	enc, err := cbor.EncOptions{Time: cbor.TimeRFC3339Nano}.UserBufferEncMode()
	if err != nil {
		panic(err) // the options are constant; a failure is a programming error
	}
	dec, err := cbor.DecOptions{
		MaxNestedLevels:  MaxDepth,
		MaxArrayElements: MaxElements,
		MaxMapPairs:      MaxElements,
		DefaultMapType:   reflect.TypeFor[map[string]any](),
		UTF8:             cbor.UTF8RejectInvalid,
		// One key twice in a map, or two keys of one struct field, is
		// refused (the JSON codec refuses them too).
		DupMapKey: cbor.DupMapKeyEnforcedAPF,
		// Integers decode into any exactly, as int64 when they fit, else
		// as *big.Int, as the JSON codec decodes them.
		IntDec:    cbor.IntDecConvertSignedOrBigInt,
		BigIntDec: cbor.BigIntDecodePointer,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return &cborCodec{enc: enc, dec: dec}
}

func (c *cborCodec) Name() string { return "cbor" }

func (c *cborCodec) Append(buf *bytes.Buffer, v any) error { return c.enc.MarshalToBuffer(v, buf) }

func (c *cborCodec) AppendArray(buf *bytes.Buffer, vals []any) error {
	last, large := lastLargeBytes(vals) // large.go
	head := vals
	if large {
		head = vals[:len(vals)-1]
	}
	growForBytes(buf, head)
	buf.Write(appendCBORHead(buf.AvailableBuffer(), 4, uint64(len(vals))))
	for _, v := range head {
		if err := c.enc.MarshalToBuffer(v, buf); err != nil {
			return err
		}
	}
	if large {
		appendLargeBytes(buf, last)
	}
	return nil
}

func (c *cborCodec) Unmarshal(data []byte, v any) error {
	end, cost, err := scanCBOR(data, 0, 1, 0)
	switch {
	case err != nil:
	case end != len(data):
		err = fmt.Errorf("%w: %d bytes after the value", ErrMalformed, len(data)-end)
	default:
		err = checkCost(cost, len(data))
	}
	if err == nil {
		err = cborError(c.dec.Unmarshal(data, v))
	}
	return bound(err)
}

// cborError gives a decoding error the codecs' sentinel for it.
func cborError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*cbor.DupMapKeyError); ok {
		return fmt.Errorf("%w: %v", ErrDuplicateKey, err)
	}
	return err
}

func (c *cborCodec) OpenArray(data []byte) (Array, error) {
	if len(data) == 0 || data[0]>>5 != cborArray {
		return Array{}, ErrNotArray
	}
	n, hl, ok := parseCBORCount(data)
	if !ok || n > uint64(len(data)-hl) {
		return Array{}, fmt.Errorf("%w: bad array header", ErrNotArray)
	}
	if n > MaxElements {
		return Array{}, fmt.Errorf("%w: %d arguments, more than %d", ErrLimit, n, MaxElements)
	}
	end, cost, err := scanCBOR(data, hl, n, 1)
	switch {
	case err != nil:
	case end != len(data):
		err = fmt.Errorf("%w: %d bytes after the last array element", ErrMalformed, len(data)-end)
	default:
		cost += costSlot * int64(n)
		err = checkCost(cost, len(data))
	}
	if err != nil {
		return Array{}, bound(err)
	}
	return Array{n: int(n), cost: cost, rest: data[hl:], cbor: c}, nil
}

// next decodes the next element of a into v, or skips it if v is nil. An
// element that does not decode is skipped too, so each element is read
// once whatever fails.
func (c *cborCodec) next(a *Array, v any) error {
	if a.alias && aliasInto(a, v) {
		return nil
	}
	if v != nil {
		if nextInt(a, v) {
			return nil
		}
		rest, err := c.dec.UnmarshalFirst(a.rest, v)
		if err == nil {
			a.rest = rest
			return nil
		}
		c.skip(a)
		return cborError(err)
	}
	c.skip(a)
	return nil
}

// aliasInto decodes the next element of a into v as a slice of a's
// memory, and reports true, when v is a *[]byte or a *any and the
// element is a definite-length byte string: an any receives the []byte it
// would decode to, without the copy (the decoder too replaces what an any
// holds by the []byte).
func aliasInto(a *Array, v any) bool {
	switch p := v.(type) {
	case *[]byte:
		return aliasByteString(a, p)
	case *any:
		var b []byte
		if !aliasByteString(a, &b) {
			return false
		}
		*p = b
		return true
	}
	return false
}

// aliasByteString points *p at the next element's content when the
// element is a definite-length byte string, and moves a past it; it
// reports whether it did. OpenArray has scanned the element.
func aliasByteString(a *Array, p *[]byte) bool {
	if len(a.rest) == 0 || a.rest[0]>>5 != cborBytes || a.rest[0]&0x1f >= 28 {
		return false
	}
	n, hl, ok := parseCBORCount(a.rest)
	if !ok || n > uint64(len(a.rest)-hl) {
		return false
	}
	end := hl + int(n)
	*p = a.rest[hl:end:end]
	a.rest = a.rest[end:]
	return true
}

// skip moves a past its next element, which OpenArray has scanned.
func (c *cborCodec) skip(a *Array) {
	end, _, err := scanCBOR(a.rest, 0, 1, 1)
	if err != nil {
		end = len(a.rest) // not reached: the element was scanned
	}
	a.rest = a.rest[end:]
}

func (c *cborCodec) AppendValues(buf *bytes.Buffer, vals []reflect.Value) error {
	last, large := lastLargeValue(vals) // large.go
	head := vals
	if large {
		head = vals[:len(vals)-1]
	}
	growForValues(buf, head)
	buf.Write(appendCBORHead(buf.AvailableBuffer(), 4, uint64(len(vals))))
	for _, v := range head {
		if err := c.enc.MarshalToBuffer(v.Interface(), buf); err != nil {
			return err
		}
	}
	if large {
		appendLargeBytes(buf, last)
	}
	return nil
}

// appendCBORHead appends a CBOR data item head of the given major type.
func appendCBORHead(dst []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(dst, m|byte(n))
	case n <= 0xff:
		return append(dst, m|24, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(dst, m|25), uint16(n))
	case n <= 0xffffffff:
		return binary.BigEndian.AppendUint32(append(dst, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, m|27), n)
}

// parseCBORCount parses the argument of a definite-length data item head.
func parseCBORCount(b []byte) (n uint64, headLen int, ok bool) {
	ai := b[0] & 0x1f
	switch {
	case ai < 24:
		return uint64(ai), 1, true
	case ai == 24 && len(b) >= 2:
		return uint64(b[1]), 2, true
	case ai == 25 && len(b) >= 3:
		return uint64(binary.BigEndian.Uint16(b[1:])), 3, true
	case ai == 26 && len(b) >= 5:
		return uint64(binary.BigEndian.Uint32(b[1:])), 5, true
	case ai == 27 && len(b) >= 9:
		return binary.BigEndian.Uint64(b[1:]), 9, true
	}
	return 0, 0, false
}
