package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Magic opens every simplerpc connection, sent by the client.
const Magic = "SRPC"

// Version is the protocol version this package speaks.
const Version = 1

// Handshake sizes.
const (
	// HelloVersionSize is the part of the hello that every version of
	// the protocol shares: magic and version. A server reads no further
	// before it knows it speaks the version.
	HelloVersionSize = len(Magic) + 1
	// HelloPrefixSize is the fixed part of the client hello: magic, version,
	// flags and the codec name's length.
	HelloPrefixSize = len(Magic) + 3
	// WelcomeSize is the fixed size of the server's answer to a hello.
	WelcomeSize = len(Magic) + 1 + 1 + 1 + 4
	// SessionIDSize is the size of a session id.
	SessionIDSize = 16
)

// Hello flags. The other bits are reserved: a client sends them clear and
// a server ignores them, so that a later client may ask for something an
// older server does not know, and learn from the welcome's flags that it
// was not granted.
const (
	// HelloSession: a session id follows the codec name.
	HelloSession uint8 = 1 << 0
	// HelloResume: resume that session rather than start it. Without
	// HelloSession it names no session, and the server refuses the hello
	// (StatusSessionRefused).
	HelloResume uint8 = 1 << 1
	// HelloStreams: the client can open streams (stream.go).
	HelloStreams uint8 = 1 << 2
)

// Welcome flags.
const (
	// WelcomeResumed: the server still had the session and resumed it.
	WelcomeResumed uint8 = 1 << 0
	// WelcomeStreams: the server takes streams from this client, which
	// asked for them with HelloStreams. A server that does not set it
	// treats a call that opens a stream as a protocol violation.
	WelcomeStreams uint8 = 1 << 1
)

// Welcome statuses.
const (
	StatusOK          uint8 = 0 // the connection is open for calls
	StatusBadVersion  uint8 = 1 // the server does not speak the client's version
	StatusBadCodec    uint8 = 2 // the server does not know the client's codec
	StatusTLSRequired uint8 = 3 // the server accepts only TLS connections
	// StatusSessionRefused: the hello names a session the server holds
	// for another identity, or without asking to resume it, or asks to
	// resume without naming a session.
	StatusSessionRefused uint8 = 4
)

// Hello is the client's opening message.
type Hello struct {
	Version uint8
	Flags   uint8
	Codec   string
	// Session is the session id, sent when Flags has HelloSession.
	Session [SessionIDSize]byte
}

// Welcome is the server's answer to a Hello.
type Welcome struct {
	Version uint8
	Status  uint8
	Flags   uint8
	// MaxBody is the largest frame body the server accepts.
	MaxBody uint32
}

// ErrBadMagic reports a peer that does not speak simplerpc.
var ErrBadMagic = errors.New("wire: bad magic: peer does not speak simplerpc")

// AppendHello appends the client hello.
func AppendHello(dst []byte, h Hello) []byte {
	dst = append(dst, Magic...)
	dst = append(dst, h.Version, h.Flags, byte(len(h.Codec)))
	dst = append(dst, h.Codec...)
	if h.Flags&HelloSession != 0 {
		dst = append(dst, h.Session[:]...)
	}
	return dst
}

// ParseHelloVersion parses the magic and version that open a hello,
// from b holding at least HelloVersionSize bytes. What follows them may
// mean something else in another version.
func ParseHelloVersion(b []byte) (uint8, error) {
	if len(b) < HelloVersionSize {
		return 0, fmt.Errorf("wire: short hello")
	}
	if string(b[:len(Magic)]) != Magic {
		return 0, ErrBadMagic
	}
	return b[len(Magic)], nil
}

// ParseHelloPrefix parses the fixed part of a hello and returns it with the
// length of what follows, which the reader must read next and pass to
// ParseHelloRest: the codec name, then the session id if Flags has
// HelloSession.
func ParseHelloPrefix(b []byte) (Hello, int, error) {
	if len(b) < HelloPrefixSize {
		return Hello{}, 0, fmt.Errorf("wire: short hello")
	}
	if string(b[:len(Magic)]) != Magic {
		return Hello{}, 0, ErrBadMagic
	}
	p := b[len(Magic):]
	h := Hello{Version: p[0], Flags: p[1]}
	n := int(p[2])
	if h.Flags&HelloSession != 0 {
		n += SessionIDSize
	}
	return h, n, nil
}

// ParseHelloRest completes h from rest, the bytes ParseHelloPrefix asked
// for.
func ParseHelloRest(h *Hello, rest []byte) {
	if h.Flags&HelloSession != 0 {
		copy(h.Session[:], rest[len(rest)-SessionIDSize:])
		rest = rest[:len(rest)-SessionIDSize]
	}
	h.Codec = string(rest)
}

// AppendWelcome appends the server's answer to a hello.
func AppendWelcome(dst []byte, w Welcome) []byte {
	dst = append(dst, Magic...)
	dst = append(dst, w.Version, w.Status, w.Flags)
	return binary.BigEndian.AppendUint32(dst, w.MaxBody)
}

// ParseWelcome parses the server's answer to a hello.
func ParseWelcome(b []byte) (Welcome, error) {
	if len(b) < WelcomeSize {
		return Welcome{}, fmt.Errorf("wire: short welcome")
	}
	if string(b[:len(Magic)]) != Magic {
		return Welcome{}, ErrBadMagic
	}
	p := b[len(Magic):]
	return Welcome{Version: p[0], Status: p[1], Flags: p[2], MaxBody: binary.BigEndian.Uint32(p[3:7])}, nil
}
