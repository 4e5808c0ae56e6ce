package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// HeaderSize is the size in bytes of every frame header.
const HeaderSize = 14

// DefaultMaxBody is the default limit on a frame body: 16 MiB.
const DefaultMaxBody = 16 << 20

// Kind identifies what a frame carries.
type Kind uint8

// The frame kinds. Values are fixed by PROTOCOL.md.
const (
	KindCall   Kind = 1 // a call: method, timeout, metadata, arguments
	KindReply  Kind = 2 // the reply to a call with the same id
	KindCancel Kind = 3 // the caller gave up on the call with this id
	KindPing   Kind = 4 // liveness probe; the peer answers with a pong carrying the same id
	KindPong   Kind = 5 // answer to a ping
	KindGoAway Kind = 6 // the server accepts no new calls on this connection
	KindAck    Kind = 7 // the client settled every call with an id up to this one
	KindItem   Kind = 8 // one value of the stream opened by the call with this id
	KindWindow Kind = 9 // what the receiver of a stream's items has consumed of them
)

// String returns the kind's name as PROTOCOL.md spells it.
func (k Kind) String() string {
	switch k {
	case KindCall:
		return "call"
	case KindReply:
		return "reply"
	case KindCancel:
		return "cancel"
	case KindPing:
		return "ping"
	case KindPong:
		return "pong"
	case KindGoAway:
		return "go-away"
	case KindAck:
		return "ack"
	case KindItem:
		return "item"
	case KindWindow:
		return "window"
	case KindCallback:
		return "callback"
	case KindCallbackReply:
		return "callback-reply"
	case KindCallbackCancel:
		return "callback-cancel"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Valid reports whether k is a kind this version of the protocol defines.
func (k Kind) Valid() bool { return k >= KindCall && k <= KindCallbackCancel }

// Frame flags.
const (
	// FlagError marks a reply whose body is an error object instead of results.
	FlagError uint8 = 1 << 0
	// FlagMetadata marks a call whose body carries metadata pairs.
	FlagMetadata uint8 = 1 << 1
	// FlagFinal marks the last go-away of a connection: every call the
	// server accepted on it has been answered, and no other will be run.
	FlagFinal uint8 = 1 << 2
	// FlagStream marks a call that opens a stream: items may follow it
	// both ways under its id (stream.go).
	FlagStream uint8 = 1 << 3
	// FlagEnd marks the item frame that ends its sender's half of a
	// stream; its body is empty.
	FlagEnd uint8 = 1 << 0
	// FlagResume marks a window frame that resumes its stream on this
	// connection: its item count is of the items received, not consumed
	// (stream.go).
	FlagResume uint8 = 1 << 0
)

// Flags returns the flags a frame of kind k may carry; every other bit is
// reserved and must be clear.
func (k Kind) Flags() uint8 {
	switch k {
	case KindCall:
		return FlagMetadata | FlagStream
	case KindItem:
		return FlagEnd | FlagPacked
	case KindWindow:
		return FlagResume
	case KindReply, KindCallbackReply:
		return FlagError
	case KindGoAway:
		return FlagFinal
	}
	return 0
}

// ErrReserved reports a frame that sets a reserved flag or carries a body
// where PROTOCOL.md says it is empty.
var ErrReserved = errors.New("wire: frame uses a reserved field")

// CheckReserved checks what PROTOCOL.md §2 reserves in a frame of a known
// kind: only the kind's own flags may be set, and a cancel, ping or pong
// has an empty body. A frame that breaks this is a protocol violation;
// accepting it would let a peer rely on a meaning a later version may
// give those bits.
func CheckReserved(h Header) error {
	if extra := h.Flags &^ h.Kind.Flags(); extra != 0 {
		return fmt.Errorf("%w: %s frame with reserved flags %#02x", ErrReserved, h.Kind, extra)
	}
	switch h.Kind {
	case KindCancel, KindPing, KindPong:
		if h.Size != 0 {
			return fmt.Errorf("%w: %s frame with a %d-byte body, want none", ErrReserved, h.Kind, h.Size)
		}
	case KindItem:
		if h.Flags&FlagEnd != 0 && h.Size != 0 {
			return fmt.Errorf("%w: item frame ending its stream with a %d-byte body, want none", ErrReserved, h.Size)
		}
		if h.Flags&FlagPacked != 0 && (h.Flags&FlagEnd != 0 || h.Size == 0) {
			return fmt.Errorf("%w: packed item frame with flags %#02x and a %d-byte body", ErrReserved, h.Flags, h.Size)
		}
	case KindCallbackCancel:
		if h.Size == 0 || h.Size > MaxCallbackCancelBody {
			return fmt.Errorf("%w: callback-cancel frame with a %d-byte body, want 1 to %d", ErrReserved, h.Size, MaxCallbackCancelBody)
		}
	case KindWindow:
		if h.Size != WindowBodySize {
			return fmt.Errorf("%w: window frame with a %d-byte body, want %d", ErrReserved, h.Size, WindowBodySize)
		}
	}
	return nil
}

// Header is the fixed part in front of every frame.
type Header struct {
	Size  uint32 // length of the body that follows the header
	Kind  Kind
	Flags uint8
	ID    uint64
}

// Errors returned by ParseHeader.
var (
	ErrShortHeader = errors.New("wire: short frame header")
	ErrTooLarge    = errors.New("wire: frame body exceeds the size limit")
	ErrBadKind     = errors.New("wire: unknown frame kind")
)

// AppendHeader appends h in wire form to dst.
func AppendHeader(dst []byte, h Header) []byte {
	dst = binary.BigEndian.AppendUint32(dst, h.Size)
	dst = append(dst, byte(h.Kind), h.Flags)
	return binary.BigEndian.AppendUint64(dst, h.ID)
}

// PutHeader writes the header of frame, whose first HeaderSize bytes
// were reserved for it: kind, flags and id as given, and the size of the
// body that follows. It lets a writer reserve a header, append the body,
// then fill the header in.
func PutHeader(frame []byte, k Kind, flags uint8, id uint64) {
	PutSize(frame, len(frame)-HeaderSize)
	frame[4], frame[5] = byte(k), flags
	PutID(frame, id)
}

// PutSize overwrites the size field of the header at the start of frame.
// It lets a writer reserve a header, append the body, then fix the size.
func PutSize(frame []byte, size int) {
	binary.BigEndian.PutUint32(frame, uint32(size))
}

// ParseHeader parses a frame header from b and checks it against maxBody
// and CheckReserved. A header announcing a body larger than maxBody, or a
// body its kind must not have, is refused before anything is allocated
// for it.
func ParseHeader(b []byte, maxBody int) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, ErrShortHeader
	}
	h := Header{
		Size:  binary.BigEndian.Uint32(b[0:4]),
		Kind:  Kind(b[4]),
		Flags: b[5],
		ID:    binary.BigEndian.Uint64(b[6:14]),
	}
	if !h.Kind.Valid() {
		return h, fmt.Errorf("%w: %d", ErrBadKind, uint8(h.Kind))
	}
	if uint64(h.Size) > uint64(maxBody) {
		return h, fmt.Errorf("%w: %d > %d bytes", ErrTooLarge, h.Size, maxBody)
	}
	return h, CheckReserved(h)
}

// PutID overwrites the id field of the header at the start of frame.
func PutID(frame []byte, id uint64) {
	binary.BigEndian.PutUint64(frame[6:14], id)
}
