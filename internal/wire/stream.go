package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A stream is a call (KindCall with FlagStream) under whose id items
// (KindItem) travel both ways, each the encoding of one value, as the
// method's iterators yield them. The client ends its half with an item
// frame flagged FlagEnd; the server ends the stream with the call's reply,
// which carries the method's results or error.
//
// Flow control is per stream and per direction, in the cost of items: an
// item costs its body's bytes plus ItemOverhead (ItemCost), so that many
// tiny items cannot make a receiver hold more than the window says. A
// sender may send an item while the cost it has sent, less what the
// receiver has reported consumed, is below the window; so a receiver
// holds at most a window plus one item unconsumed, and one that holds
// more than that from a peer faces a protocol violation. The receiver
// reports what it has consumed, cumulatively, in window frames
// (KindWindow), whose counts never decrease.
//
// The server sends a window frame with zero counts as soon as a stream is
// open — its method has been called and, for a method that returns its
// stream, has returned it without an error — so that a client whose
// stub has an error result learns that the stream started.

// StreamWindow is the window of every stream, each way: the cost of the
// items a sender may have sent and not yet seen consumed.
const StreamWindow = 256 << 10

// ItemOverhead is what an item costs besides its body's bytes: about
// what a receiver holds to queue it.
const ItemOverhead = 32

// ItemCost is what an item whose body is n bytes costs of a window.
func ItemCost(n int) uint64 { return uint64(n) + ItemOverhead }

// WindowBodySize is the size of a window frame's body: the count of items
// consumed, then their cost (ItemCost), both cumulative.
const WindowBodySize = 16

// ErrWindow reports a window frame whose counts went back.
var ErrWindow = errors.New("wire: window counts decreased")

// Window is what a window frame says: the receiver has consumed Items
// items costing Bytes (ItemCost) since the stream opened.
type Window struct {
	Items uint64
	Bytes uint64
}

// AppendWindowBody appends a window frame's body.
func AppendWindowBody(dst []byte, w Window) []byte {
	dst = binary.BigEndian.AppendUint64(dst, w.Items)
	return binary.BigEndian.AppendUint64(dst, w.Bytes)
}

// ParseWindowBody parses a window frame's body, which ParseHeader has
// checked holds WindowBodySize bytes, and checks that it does not go
// back from prev, the stream's last window.
func ParseWindowBody(b []byte, prev Window) (Window, error) {
	if len(b) != WindowBodySize {
		return prev, fmt.Errorf("%w: window body of %d bytes, want %d", ErrReserved, len(b), WindowBodySize)
	}
	w := Window{Items: binary.BigEndian.Uint64(b), Bytes: binary.BigEndian.Uint64(b[8:])}
	if w.Items < prev.Items || w.Bytes < prev.Bytes {
		return prev, fmt.Errorf("%w: %d items, %d bytes after %d, %d", ErrWindow, w.Items, w.Bytes, prev.Items, prev.Bytes)
	}
	return w, nil
}
