// Package codec holds the value encodings simplerpc can put on the wire:
// CBOR (the default) and JSON. A codec encodes argument and result lists as
// one array and decodes such an array element by element straight into the
// destination types, so nothing on the wire chooses which Go type is built.
package codec

import (
	"bytes"
	"errors"
	"fmt"
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
	// Unmarshal decodes data, which must hold exactly one value, into v.
	Unmarshal(data []byte, v any) error
	// OpenArray starts decoding an encoded array.
	OpenArray(data []byte) (Array, error)
}

// ErrNotArray reports an argument or result list that is not an array.
var ErrNotArray = errors.New("codec: value is not an array")

// Limits applied by every decoder, so that no input can make it allocate
// without bound or recurse without bound.
const (
	MaxDepth    = 64
	MaxElements = 1 << 20
)

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

// Array decodes the elements of an encoded array one at a time.
type Array struct {
	n    int
	i    int
	rest []byte
	raw  [][]byte
	elem elementDecoder
}

type elementDecoder interface {
	next(a *Array, v any) error
	isMap(a *Array) bool
}

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
	return a.elem.isMap(a)
}

// Next decodes the next element into v, which must be a non-nil pointer;
// a nil v skips the element.
func (a *Array) Next(v any) error {
	if a.i >= a.n {
		return fmt.Errorf("codec: array has only %d elements", a.n)
	}
	err := a.elem.next(a, v)
	a.i++
	return err
}
