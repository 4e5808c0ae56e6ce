package reliability_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// The native protocol, hand-written from PROTOCOL.md, to send what no
// well-behaved client would.

// welcomeSize is the size of the server's welcome: magic, version, status,
// flags, max body (PROTOCOL.md §1).
const welcomeSize = 11

// Frame kinds and flags (PROTOCOL.md §2).
const (
	kindCall  = 1
	kindReply = 2
	kindPing  = 4
	kindPong  = 5
	flagError = 1
)

// helloBytes is a client hello for codec.
func helloBytes(codec string) []byte {
	return append([]byte{'S', 'R', 'P', 'C', 1, 0, byte(len(codec))}, codec...)
}

// frameHeader is a 14-byte frame header.
func frameHeader(size uint32, kind, flags byte, id uint64) []byte {
	b := binary.BigEndian.AppendUint32(nil, size)
	b = append(b, kind, flags)
	return binary.BigEndian.AppendUint64(b, id)
}

// callFrame is a call frame without metadata; args is the codec-encoded
// argument array.
func callFrame(id uint64, method string, timeout time.Duration, args []byte) []byte {
	body := binary.AppendUvarint(nil, uint64(len(method)))
	body = append(body, method...)
	body = binary.AppendUvarint(body, uint64(timeout/time.Microsecond))
	body = append(body, args...)
	return append(frameHeader(uint32(len(body)), kindCall, 0, id), body...)
}

// CBOR encoding of the few values the hostile calls need (RFC 8949).

func cborHead(major byte, n uint64) []byte {
	switch {
	case n < 24:
		return []byte{major<<5 | byte(n)}
	case n < 1<<8:
		return []byte{major<<5 | 24, byte(n)}
	case n < 1<<16:
		return binary.BigEndian.AppendUint16([]byte{major<<5 | 25}, uint16(n))
	}
	return binary.BigEndian.AppendUint32([]byte{major<<5 | 26}, uint32(n))
}

func cborArray(items ...[]byte) []byte {
	b := cborHead(4, uint64(len(items)))
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

func cborText(s string) []byte { return append(cborHead(3, uint64(len(s))), s...) }

func cborUint(n uint64) []byte { return cborHead(0, n) }

// rawDial opens a TCP connection to addr and, for a non-empty codec,
// completes the handshake. Every operation has a 30-second deadline
// unless the caller sets another.
func rawDial(addr, codec string) (net.Conn, error) {
	return rawDialWith(net.Dialer{}, addr, codec)
}

// rawDialWith is rawDial with a dialer of the caller's.
func rawDialWith(d net.Dialer, addr, codec string) (net.Conn, error) {
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("raw dial: %w", err)
	}
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	if codec == "" {
		return nc, nil
	}
	if _, err := nc.Write(helloBytes(codec)); err != nil {
		nc.Close()
		return nil, fmt.Errorf("hello: %w", err)
	}
	w := make([]byte, welcomeSize)
	if _, err := io.ReadFull(nc, w); err != nil {
		nc.Close()
		return nil, fmt.Errorf("welcome: %w", err)
	}
	if w[5] != 0 {
		nc.Close()
		return nil, fmt.Errorf("welcome status %d", w[5])
	}
	return nc, nil
}

// rawFrame is a frame read from the server.
type rawFrame struct {
	kind, flags byte
	id          uint64
	body        []byte
}

// readFrame reads one frame, refusing bodies over 16 MiB.
func readFrame(r io.Reader) (rawFrame, error) {
	var h [14]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return rawFrame{}, err
	}
	size := binary.BigEndian.Uint32(h[:4])
	if size > 16<<20 {
		return rawFrame{}, fmt.Errorf("frame of %d bytes", size)
	}
	f := rawFrame{kind: h[4], flags: h[5], id: binary.BigEndian.Uint64(h[6:]), body: make([]byte, size)}
	if _, err := io.ReadFull(r, f.body); err != nil {
		return rawFrame{}, fmt.Errorf("frame body: %w", err)
	}
	return f, nil
}

// nextReply reads frames until a reply, answering the server's pings as
// the protocol asks (§6), so that its keepalive keeps the connection.
func nextReply(nc net.Conn) (rawFrame, error) {
	for {
		f, err := readFrame(nc)
		if err != nil || f.kind == kindReply {
			return f, err
		}
		if f.kind == kindPing {
			if _, err := nc.Write(frameHeader(0, kindPong, 0, f.id)); err != nil {
				return f, fmt.Errorf("answering a ping: %w", err)
			}
		}
	}
}

// errorCode returns the code of an error reply's body: the first element
// of the error array, in CBOR or JSON.
func errorCode(body []byte, codec string) (int, error) {
	if codec == "json" {
		var arr []json.RawMessage
		if err := json.Unmarshal(body, &arr); err != nil {
			return 0, fmt.Errorf("error body %q: %w", body, err)
		}
		if len(arr) == 0 {
			return 0, fmt.Errorf("error body %q is an empty array", body)
		}
		var code int
		err := json.Unmarshal(arr[0], &code)
		return code, err
	}
	if len(body) < 2 || body[0]>>5 != 4 || body[1]>>5 != 0 || body[1]&31 >= 24 {
		return 0, fmt.Errorf("error body % x is not an array opening with a small code", body[:min(len(body), 8)])
	}
	return int(body[1] & 31), nil
}

// awaitClose reads and discards until the server ends the connection or
// limit passes. It says how the connection ended and when.
func awaitClose(nc net.Conn, limit time.Duration) (string, time.Time, error) {
	_ = nc.SetReadDeadline(time.Now().Add(limit))
	buf := make([]byte, 64<<10)
	for {
		_, err := nc.Read(buf)
		if err == nil {
			continue
		}
		at := time.Now()
		var ne net.Error
		switch {
		case errors.Is(err, io.EOF):
			return "closed", at, nil
		case errors.Is(err, syscall.ECONNRESET):
			return "closed (reset)", at, nil
		case errors.As(err, &ne) && ne.Timeout():
			return "still open", at, fmt.Errorf("the server did not close the connection within %v", limit)
		}
		return "closed", at, nil
	}
}
