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
	// HelloPrefixSize is the fixed part of the client hello: magic, version,
	// flags and the codec name's length.
	HelloPrefixSize = len(Magic) + 3
	// WelcomeSize is the fixed size of the server's answer to a hello.
	WelcomeSize = len(Magic) + 1 + 1 + 4
)

// Welcome statuses.
const (
	StatusOK          uint8 = 0 // the connection is open for calls
	StatusBadVersion  uint8 = 1 // the server does not speak the client's version
	StatusBadCodec    uint8 = 2 // the server does not know the client's codec
	StatusTLSRequired uint8 = 3 // the server accepts only TLS connections
)

// Hello is the client's opening message.
type Hello struct {
	Version uint8
	Flags   uint8
	Codec   string
}

// Welcome is the server's answer to a Hello.
type Welcome struct {
	Version uint8
	Status  uint8
	// MaxBody is the largest frame body the server accepts.
	MaxBody uint32
}

// ErrBadMagic reports a peer that does not speak simplerpc.
var ErrBadMagic = errors.New("wire: bad magic: peer does not speak simplerpc")

// AppendHello appends the client hello.
func AppendHello(dst []byte, h Hello) []byte {
	dst = append(dst, Magic...)
	dst = append(dst, h.Version, h.Flags, byte(len(h.Codec)))
	return append(dst, h.Codec...)
}

// ParseHelloPrefix parses the fixed part of a hello and returns it with the
// codec name's length, which the reader must read next.
func ParseHelloPrefix(b []byte) (Hello, int, error) {
	if len(b) < HelloPrefixSize {
		return Hello{}, 0, fmt.Errorf("wire: short hello")
	}
	if string(b[:len(Magic)]) != Magic {
		return Hello{}, 0, ErrBadMagic
	}
	p := b[len(Magic):]
	return Hello{Version: p[0], Flags: p[1]}, int(p[2]), nil
}

// AppendWelcome appends the server's answer to a hello.
func AppendWelcome(dst []byte, w Welcome) []byte {
	dst = append(dst, Magic...)
	dst = append(dst, w.Version, w.Status)
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
	return Welcome{Version: p[0], Status: p[1], MaxBody: binary.BigEndian.Uint32(p[2:6])}, nil
}
