package reliability_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// More of the native protocol (PROTOCOL.md §1, §2, §6), for attacks on
// sessions and acks.

// Hello and welcome flags, and welcome statuses.
const (
	helloSession   = 1 << 0
	helloResume    = 1 << 1
	welcomeResumed = 1 << 0
	// statusSessionRefused answers a hello naming a session another
	// identity holds.
	statusSessionRefused = 4
)

// Frame kinds and flags not in rawproto_test.go.
const (
	kindAck      = 7
	flagMetadata = 2
)

// sessionID is a 16-byte session id.
type sessionID [16]byte

func newSessionID() sessionID {
	var id sessionID
	_, _ = rand.Read(id[:])
	return id
}

// sessionHello is a client hello with the given flags and session id.
func sessionHello(codec string, flags byte, sid sessionID) []byte {
	b := append([]byte{'S', 'R', 'P', 'C', 1, flags, byte(len(codec))}, codec...)
	if flags&helloSession != 0 {
		b = append(b, sid[:]...)
	}
	return b
}

// welcome is the server's answer to a hello.
type welcome struct {
	status, flags byte
	maxBody       uint32
}

func (w welcome) resumed() bool { return w.status == 0 && w.flags&welcomeResumed != 0 }

// sendHello sends a hello on nc and reads the welcome.
func sendHello(nc net.Conn, codec string, flags byte, sid sessionID) (welcome, error) {
	if _, err := nc.Write(sessionHello(codec, flags, sid)); err != nil {
		return welcome{}, fmt.Errorf("hello: %w", err)
	}
	b := make([]byte, welcomeSize)
	if _, err := io.ReadFull(nc, b); err != nil {
		return welcome{}, fmt.Errorf("welcome: %w", err)
	}
	if string(b[:4]) != "SRPC" {
		return welcome{}, fmt.Errorf("welcome % x", b)
	}
	return welcome{status: b[5], flags: b[6], maxBody: binary.BigEndian.Uint32(b[7:])}, nil
}

// callFrameMD is a call frame carrying metadata pairs (key, value, ...).
func callFrameMD(id uint64, method string, md []string, args []byte) []byte {
	body := binary.AppendUvarint(nil, uint64(len(method)))
	body = append(body, method...)
	body = binary.AppendUvarint(body, 0)
	body = binary.AppendUvarint(body, uint64(len(md)/2))
	for _, s := range md {
		body = binary.AppendUvarint(body, uint64(len(s)))
		body = append(body, s...)
	}
	body = append(body, args...)
	return append(frameHeader(uint32(len(body)), kindCall, flagMetadata, id), body...)
}

// ackFrame acknowledges every call up to id; with frames >= 0 its body
// counts the frames read, else it is empty.
func ackFrame(id uint64, frames int64) []byte {
	if frames < 0 {
		return frameHeader(0, kindAck, 0, id)
	}
	return binary.BigEndian.AppendUint64(frameHeader(8, kindAck, 0, id), uint64(frames))
}

// cborBytesHead is the head of a CBOR byte string of n bytes.
func cborBytesHead(n uint64) []byte { return cborHead(2, n) }

// addCall is a CBOR call of Victim.Add(a, b).
func addCall(id uint64, a, b uint64) []byte {
	return callFrame(id, "Victim.Add", 0, cborArray(cborUint(a), cborUint(b)))
}

// frameReader reads frames from a raw connection, answering pings, and
// counts them as the protocol's acks do.
type frameReader struct {
	nc     net.Conn
	frames int64
}

// next returns the next reply, giving up at the deadline.
func (fr *frameReader) next(deadline time.Time) (rawFrame, error) {
	_ = fr.nc.SetReadDeadline(deadline)
	for {
		f, err := readFrame(fr.nc)
		if err != nil {
			return f, err
		}
		fr.frames++
		if f.kind == kindReply {
			return f, nil
		}
		if f.kind == kindPing {
			if _, err := fr.nc.Write(frameHeader(0, kindPong, 0, f.id)); err != nil {
				return f, fmt.Errorf("answering a ping: %w", err)
			}
		}
	}
}

// isTimeout reports whether err is a deadline passing.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// repeatFrames is n copies of frame, for one write.
func repeatFrames(n int, frame func(i int) []byte) []byte {
	var b bytes.Buffer
	for i := range n {
		b.Write(frame(i))
	}
	return b.Bytes()
}

// addBatch is a batch of calls to Add(1, 2) whose ids are rewritten for
// each use, so that sending many costs the attacker little.
type addBatch struct {
	frames []byte
	size   int // of one frame
}

func newAddBatch(n int) *addBatch {
	one := addCall(1, 1, 2)
	return &addBatch{frames: bytes.Repeat(one, n), size: len(one)}
}

// next returns the batch with ids first, first+1, ...; it is valid until
// the next call.
func (b *addBatch) next(first uint64) []byte {
	for off, id := 0, first; off < len(b.frames); off, id = off+b.size, id+1 {
		binary.BigEndian.PutUint64(b.frames[off+6:], id)
	}
	return b.frames
}

// fastReader reads replies from a raw connection, answering pings, and
// keeps only their ids.
type fastReader struct {
	nc net.Conn
	br *bufio.Reader
}

func newFastReader(nc net.Conn) *fastReader {
	return &fastReader{nc: nc, br: bufio.NewReaderSize(nc, 64<<10)}
}

// nextReply returns the id of the next reply, giving up at the deadline.
func (fr *fastReader) nextReply(deadline time.Time) (uint64, error) {
	_ = fr.nc.SetReadDeadline(deadline)
	var h [14]byte
	for {
		if _, err := io.ReadFull(fr.br, h[:]); err != nil {
			return 0, err
		}
		if _, err := fr.br.Discard(int(binary.BigEndian.Uint32(h[:4]))); err != nil {
			return 0, err
		}
		id := binary.BigEndian.Uint64(h[6:])
		switch h[4] {
		case kindReply:
			return id, nil
		case kindPing:
			if _, err := fr.nc.Write(frameHeader(0, kindPong, 0, id)); err != nil {
				return 0, fmt.Errorf("answering a ping: %w", err)
			}
		}
	}
}
