package codec

import "errors"

// Limits applied by every decoder, both codecs alike, so that no input can
// make it allocate without bound or recurse without bound. OpenArray and
// Unmarshal check them all in one pass over the encoded bytes before
// anything is decoded.
//
// Levels: the argument list (or the document Unmarshal decodes) is level 1;
// each array, map (JSON object) or CBOR tag within it adds one.
//
// Items: every data item within the argument list or document counts one,
// at every level: each array element, each map key and each map value; a
// CBOR tag and the item it tags count one together. The list or document
// itself does not count.
const (
	// MaxDepth is the deepest nesting level accepted.
	MaxDepth = 64
	// MaxElements is the most elements one array, or pairs one map, may hold.
	MaxElements = 1 << 20
	// MaxItems is the most data items an argument list or document may
	// hold in all.
	MaxItems = 1 << 20
	// MaxBignumBytes is the longest content of a CBOR bignum (tags 2 and
	// 3): 1024 bits.
	MaxBignumBytes = 128
	// MaxNumberLen is the longest JSON number literal: the 309 digits of
	// a 1024-bit integer with room for a sign, a fraction and an exponent.
	MaxNumberLen = 320
)

// ErrLimit reports input over one of the decoders' limits: MaxDepth,
// MaxElements, MaxItems, MaxBignumBytes, MaxNumberLen or the cost bound
// (see Array.Cost).
var ErrLimit = errors.New("codec: decode limit exceeded")

// ErrMalformed reports input that is not well-formed CBOR or valid JSON.
var ErrMalformed = errors.New("codec: malformed input")

// ErrText reports text that is not valid UTF-8: invalid bytes in a string
// (either codec), or a JSON \u escape of half a UTF-16 surrogate pair.
// Both codecs refuse it rather than decode it differently.
var ErrText = errors.New("codec: invalid text")

// ErrDuplicateKey reports a map (JSON object) that holds one key twice, or,
// decoded into a struct, two keys that match one field. Both codecs refuse
// it, where each would otherwise keep a different one of the values.
var ErrDuplicateKey = errors.New("codec: duplicate map key")
