package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// A callback is a call running the other way, inside a call: the server
// invokes a func the client passed among a call's arguments. The server
// sends a callback frame (KindCallback) under the id of the call that
// received the func; its body names the func — the slot the client gave
// it in the call's arguments — numbers the invocation within the call,
// carries the time left before the invocation's deadline, and then the
// codec-encoded arguments. The client answers with a callback reply
// (KindCallbackReply, flagged FlagError for an error object) under the
// same call id, whose body starts with the invocation's number. A
// callback cancel (KindCallbackCancel) tells the client that the server
// gave up on an invocation.
//
// Over a resumed session, the server sends again the callback frames of a
// call's invocations in flight when the client sends the call again; the
// client tells them apart by number, runs each invocation once, and keeps
// each one's reply, to send again, until a later callback frame of the
// call says the server has settled it (Acked) or the call ends.

// The callback frame kinds. Values are fixed by PROTOCOL.md.
const (
	KindCallback       Kind = 10 // server → client: invoke a func passed with the call with this id
	KindCallbackReply  Kind = 11 // client → server: the results of an invocation
	KindCallbackCancel Kind = 12 // server → client: the server gave up on an invocation
)

// HelloCallbacks: the client runs callbacks (callback.go).
const HelloCallbacks uint8 = 1 << 3

// WelcomeCallbacks: the server may send callback frames to this client,
// which asked for them with HelloCallbacks.
const WelcomeCallbacks uint8 = 1 << 2

// MaxCallbackCancelBody is the largest body of a callback cancel frame:
// one uvarint.
const MaxCallbackCancelBody = binary.MaxVarintLen64

// ErrMalformedCallback reports a callback, callback reply or callback
// cancel body that does not follow PROTOCOL.md.
var ErrMalformedCallback = errors.New("wire: malformed callback body")

// Callback is the parsed body of a callback frame. Args aliases the
// parsed buffer.
type Callback struct {
	Slot       uint64        // which func of the call: the value the client put in its place among the arguments
	Invocation uint64        // the invocation's number within the call, from 1
	Acked      uint64        // every invocation of the call up to this one is settled on the server: answered, or given up
	Timeout    time.Duration // the time left before the invocation's deadline; 0 means none
	Args       []byte        // codec-encoded array of arguments
}

// AppendCallbackPrefix appends everything of a callback body that
// precedes the arguments.
func AppendCallbackPrefix(dst []byte, slot, invocation, acked uint64, timeout time.Duration) []byte {
	dst = binary.AppendUvarint(dst, slot)
	dst = binary.AppendUvarint(dst, invocation)
	dst = binary.AppendUvarint(dst, acked)
	return binary.AppendUvarint(dst, timeoutMicros(timeout))
}

// timeoutMicros is a timeout as a call frame carries it: microseconds,
// at least 1 for any positive timeout, 0 for none.
func timeoutMicros(timeout time.Duration) uint64 {
	if timeout <= 0 {
		return 0
	}
	return max(uint64(timeout/time.Microsecond), 1)
}

// ParseCallback parses a callback body.
func ParseCallback(body []byte) (Callback, error) {
	var c Callback
	var n int
	if c.Slot, n = binary.Uvarint(body); n <= 0 {
		return c, ErrMalformedCallback
	}
	body = body[n:]
	if c.Invocation, n = binary.Uvarint(body); n <= 0 || c.Invocation == 0 {
		return c, ErrMalformedCallback
	}
	body = body[n:]
	if c.Acked, n = binary.Uvarint(body); n <= 0 || c.Acked >= c.Invocation {
		return c, ErrMalformedCallback
	}
	body = body[n:]
	us, n := binary.Uvarint(body)
	if n <= 0 {
		return c, ErrMalformedCallback
	}
	if us <= MaxTimeout {
		c.Timeout = time.Duration(us) * time.Microsecond
	}
	c.Args = body[n:]
	return c, nil
}

// AppendInvocation appends the invocation number that opens a callback
// reply's body and is the whole of a callback cancel's.
func AppendInvocation(dst []byte, invocation uint64) []byte {
	return binary.AppendUvarint(dst, invocation)
}

// ParseInvocation parses the invocation number that opens a callback
// reply or callback cancel body, and returns what follows it: the
// results array or error object of a reply, nothing for a cancel.
func ParseInvocation(body []byte) (invocation uint64, rest []byte, err error) {
	invocation, n := binary.Uvarint(body)
	if n <= 0 || invocation == 0 {
		return 0, nil, fmt.Errorf("%w: no invocation number", ErrMalformedCallback)
	}
	return invocation, body[n:], nil
}
