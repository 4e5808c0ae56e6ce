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

// Packed items. A client that sets HelloPacked in its hello, answered by
// a server that sets WelcomePacked, takes item frames flagged FlagPacked
// from the server: their body is several items back to back, each its
// length as a uvarint then its bytes. Each counts as an item of its own —
// in the numbering of items, in a window's counts and costs (ItemCost of
// its own bytes), and in a resume — as if it had come in a frame of its
// own; the frame is only a way to carry several. The server packs only
// items that are already waiting to be written, so a lone item still
// travels in a plain frame.
const (
	// HelloPacked: the client takes packed item frames.
	HelloPacked uint8 = 1 << 5
	// WelcomePacked: the server may send packed item frames to this
	// client, which asked with HelloPacked.
	WelcomePacked uint8 = 1 << 4
	// FlagPacked marks an item frame whose body holds several items.
	FlagPacked uint8 = 1 << 4
)

// ErrPacked reports a packed item frame whose body does not parse.
var ErrPacked = errors.New("wire: malformed packed items")

// AppendPacked appends item, of at least one byte, to the body of a
// packed item frame.
func AppendPacked(dst, item []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(item)))
	return append(dst, item...)
}

// NextPacked splits the first item off b, the rest of a packed frame's
// body that CheckPacked accepted.
func NextPacked(b []byte) (item, rest []byte) {
	n, k := binary.Uvarint(b)
	end := k + int(n)
	return b[k:end:end], b[end:]
}

// PackedSummary is what CheckPacked finds in a packed frame's body.
type PackedSummary struct {
	Items int    // how many items it holds
	Cost  uint64 // the sum of their ItemCost
	Last  uint64 // the ItemCost of the last
}

// CheckPacked checks the body of a packed item frame: at least one item,
// each of one byte or more, whose lengths, in the shortest uvarint, end
// exactly at the body's end.
func CheckPacked(b []byte) (PackedSummary, error) {
	var s PackedSummary
	if len(b) == 0 {
		return s, fmt.Errorf("%w: empty body", ErrPacked)
	}
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		switch {
		case k <= 0:
			return s, fmt.Errorf("%w: item %d's length does not parse", ErrPacked, s.Items)
		case k != uvarintLen(n):
			return s, fmt.Errorf("%w: item %d's length is not in its shortest form", ErrPacked, s.Items)
		case n == 0:
			return s, fmt.Errorf("%w: item %d is empty", ErrPacked, s.Items)
		case n > uint64(len(b)-k):
			return s, fmt.Errorf("%w: item %d of %d bytes overruns the body's %d", ErrPacked, s.Items, n, len(b)-k)
		}
		b = b[k+int(n):]
		s.Items++
		s.Last = ItemCost(int(n))
		s.Cost += s.Last
	}
	return s, nil
}

// uvarintLen is the length of n as the shortest uvarint.
func uvarintLen(n uint64) int {
	k := 1
	for n >= 0x80 {
		n >>= 7
		k++
	}
	return k
}

// PackedItemSize is the size an item of n bytes takes in a packed body.
func PackedItemSize(n int) int { return uvarintLen(uint64(n)) + n }
