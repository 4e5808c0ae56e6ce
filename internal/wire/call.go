package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// MaxMethodLen bounds the length of a method name in a call frame.
const MaxMethodLen = 1024

// MaxMetadata bounds the number of metadata pairs in a call frame.
const MaxMetadata = 64

// MaxTimeout is the longest timeout, in microseconds, a call's deadline
// can hold: the longest time.Duration. A larger one — such as 2^64−1,
// which some clients send for "no limit" — means no deadline, as 0 does.
const MaxTimeout = math.MaxInt64 / uint64(time.Microsecond)

// Call is the parsed body of a call frame. Method, the metadata strings and
// Args alias the parsed buffer.
type Call struct {
	Method   []byte
	Timeout  time.Duration // 0 means no deadline
	Metadata []string      // key, value, key, value...; nil unless FlagMetadata
	Args     []byte        // codec-encoded array of arguments
}

// ErrMalformedCall reports a call body that does not follow PROTOCOL.md.
var ErrMalformedCall = errors.New("wire: malformed call body")

// LimitError reports a call body that is well formed but breaks one of
// the limits PROTOCOL.md §8 sets on its fields. The frame was read whole,
// so the connection can go on: the receiver refuses the call alone.
type LimitError struct {
	Field string // what broke the limit: "method name", "metadata"
	Got   uint64 // its size: bytes of a name, pairs of metadata
	Min   uint64 // the least it may be
	Max   uint64 // the most it may be
	Unit  string // what Got counts: "bytes", "pairs"
}

// Error says what broke which limit, for the error reply.
func (e *LimitError) Error() string {
	return fmt.Sprintf("%s of %d %s: must be %d to %d %s", e.Field, e.Got, e.Unit, e.Min, e.Max, e.Unit)
}

// AppendCallPrefix appends everything of a call body that precedes the
// arguments: method name, timeout and, when md is not empty, metadata
// pairs. md must hold an even number of strings. It returns the flags the
// frame header must carry.
func AppendCallPrefix(dst []byte, method string, timeout time.Duration, md []string) ([]byte, uint8) {
	dst = binary.AppendUvarint(dst, uint64(len(method)))
	dst = append(dst, method...)
	var us uint64
	if timeout > 0 {
		us = uint64(timeout / time.Microsecond)
		if us == 0 {
			us = 1
		}
	}
	dst = binary.AppendUvarint(dst, us)
	if len(md) == 0 {
		return dst, 0
	}
	dst = binary.AppendUvarint(dst, uint64(len(md)/2))
	for _, s := range md {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	return dst, FlagMetadata
}

// ParseCall parses a call body. flags are the frame header's flags. A
// body whose fields cannot be read is ErrMalformedCall; one that breaks a
// limit is a *LimitError, returned with the fields read before it (the
// method name, when it is not the field at fault).
func ParseCall(body []byte, flags uint8) (Call, error) {
	var c Call
	method, rest, ok := readBytes(body, len(body))
	if !ok {
		return c, ErrMalformedCall
	}
	if len(method) == 0 || len(method) > MaxMethodLen {
		return c, &LimitError{Field: "method name", Got: uint64(len(method)), Min: 1, Max: MaxMethodLen, Unit: "bytes"}
	}
	c.Method = method
	us, n := binary.Uvarint(rest)
	if n <= 0 {
		return c, ErrMalformedCall
	}
	if us <= MaxTimeout {
		c.Timeout = time.Duration(us) * time.Microsecond
	}
	rest = rest[n:]
	if flags&FlagMetadata != 0 {
		pairs, n := binary.Uvarint(rest)
		if n <= 0 {
			return c, ErrMalformedCall
		}
		if pairs > MaxMetadata {
			return c, &LimitError{Field: "metadata", Got: pairs, Min: 0, Max: MaxMetadata, Unit: "pairs"}
		}
		rest = rest[n:]
		c.Metadata = make([]string, 0, 2*pairs)
		for i := uint64(0); i < 2*pairs; i++ {
			var s []byte
			s, rest, ok = readBytes(rest, len(rest))
			if !ok {
				return c, ErrMalformedCall
			}
			c.Metadata = append(c.Metadata, string(s))
		}
	}
	c.Args = rest
	return c, nil
}

// readBytes reads a uvarint length followed by that many bytes, refusing a
// length over limit.
func readBytes(b []byte, limit int) (s, rest []byte, ok bool) {
	l, n := binary.Uvarint(b)
	if n <= 0 || l > uint64(limit) || l > uint64(len(b)-n) {
		return nil, b, false
	}
	end := n + int(l)
	return b[n:end], b[end:], true
}
