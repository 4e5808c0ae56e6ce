// Package codec holds the value encodings simplerpc can put on the wire:
// CBOR (the default) and JSON. A codec encodes argument and result lists as
// one array and decodes such an array element by element straight into the
// destination types, so nothing on the wire chooses which Go type is built.
//
// Before decoding anything, OpenArray and Unmarshal check the whole input in
// one pass over its bytes, which allocates nothing and keeps its open
// containers on a fixed stack: nesting (MaxDepth), the size of each array
// and map (MaxElements), the data items in all (MaxItems), CBOR tags (ErrTag)
// and bignums (MaxBignumBytes), JSON numbers (MaxNumberLen), and an estimate
// of the heap the decoded values can take (Array.Cost) against the encoded
// size (CostRatio). Every error they and Array.Next return is at most 256
// bytes of text, whatever input it quotes.
package codec

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
)

// Codec encodes and decodes values.
type Codec interface {
	// Name is the codec's name in the connection handshake.
	Name() string
	// AppendArray appends vals encoded as one array to buf. On error buf
	// may hold a partial encoding.
	AppendArray(buf *bytes.Buffer, vals []any) error
	// Append appends v encoded to buf.
	Append(buf *bytes.Buffer, v any) error
	// Unmarshal decodes data, which must hold exactly one value, into v,
	// after the same checks as OpenArray.
	Unmarshal(data []byte, v any) error
	// AppendValues appends vals encoded as one array to buf, like
	// AppendArray, for values held by reflection.
	AppendValues(buf *bytes.Buffer, vals []reflect.Value) error
	// OpenArray starts decoding an encoded array. It first checks the
	// whole array against the limits (see MaxDepth and CostRatio) and
	// refuses input over them, or malformed, before decoding anything.
	OpenArray(data []byte) (Array, error)
}

// ErrNotArray reports an argument or result list that is not an array.
var ErrNotArray = errors.New("codec: value is not an array")

// ByName returns the codec with the given handshake name, or nil.
func ByName(name string) Codec {
	switch name {
	case "cbor":
		return CBOR
	case "json":
		return JSON
	}
	return nil
}

// Array decodes the elements of an encoded array one at a time. It is a
// plain value that does not escape to the heap.
type Array struct {
	n    int
	i    int
	cost int64
	cbor *cborCodec // set for CBOR arrays, else the array is JSON
	objs bool       // JSON: the array holds an object, whose keys Next checks
	// alias: Next may decode a byte string into a []byte as a slice of
	// the encoded array instead of a copy (AliasBytes).
	alias bool
	rest  []byte // the undecoded elements (JSON: up to the closing bracket)
}

// Cost returns an estimate, in bytes, of the heap the array's elements
// can take once decoded, computed by OpenArray from the encoded bytes: the
// cost of decoding every element into any, the costliest destination
// (every element an interface, every number boxed, every map a
// map[string]any). OpenArray refuses an array whose cost is over
// CostRatio times its encoded size plus CostAllowance.
func (a *Array) Cost() int64 { return a.cost }

// Len returns the number of elements in the array.
func (a *Array) Len() int { return a.n }

// Remaining returns the number of elements not yet decoded.
func (a *Array) Remaining() int { return a.n - a.i }

// NextIsMap reports whether the next element is a map (a JSON object). It
// tells named arguments from positional ones.
func (a *Array) NextIsMap() bool {
	if a.i >= a.n {
		return false
	}
	if a.cbor != nil {
		return len(a.rest) > 0 && a.rest[0]>>5 == cborMap
	}
	return len(a.rest) > 0 && a.rest[0] == '{'
}

// AliasBytes lets Next decode a CBOR byte string into a *[]byte
// destination, or a *any, as a slice of the encoded array rather than a
// copy: for encoded data no one reuses, such as a large frame body its
// reader gave away. It changes nothing for JSON, whose bytes are base64.
func (a *Array) AliasBytes() { a.alias = true }

// Next decodes the next element into v, which must be a non-nil pointer;
// a nil v skips the element. The text of an error it returns is at most
// 256 bytes long.
func (a *Array) Next(v any) error {
	if a.i >= a.n {
		return fmt.Errorf("codec: array has only %d elements", a.n)
	}
	var err error
	if a.cbor != nil {
		err = a.cbor.next(a, v)
	} else {
		err = jsonNext(a, v)
	}
	a.i++
	return bound(err)
}
