package reliability_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"time"
)

// nativeCases are hostile inputs over the native protocol.
var nativeCases = []hostileCase{
	{name: "random bytes (64 KiB)", run: func(h *hostileBench) (string, time.Duration, error) {
		return sendRaw(h.addr, "", randomBytes(1, 64<<10, 0))
	}},
	{name: "magic, then random bytes", run: func(h *hostileBench) (string, time.Duration, error) {
		return sendRaw(h.addr, "", append([]byte("SRPC"), randomBytes(2, 64<<10, 7)...))
	}},
	{name: "wrong magic", run: func(h *hostileBench) (string, time.Duration, error) {
		return sendRaw(h.addr, "", []byte("SRPX\x01\x00\x04cbor"))
	}},
	{name: "wrong protocol version", run: func(h *hostileBench) (string, time.Duration, error) {
		return sendRaw(h.addr, "", []byte("SRPC\x02\x00\x04cbor"))
	}},
	{name: "unknown codec", run: func(h *hostileBench) (string, time.Duration, error) {
		return sendRaw(h.addr, "", []byte("SRPC\x01\x00\x04xml!"))
	}},
	{name: "frame announcing 2 GiB", run: func(h *hostileBench) (string, time.Duration, error) {
		return sendRaw(h.addr, "cbor", frameHeader(2<<30, kindCall, 0, 1))
	}},
	{name: "unknown frame kind", run: func(h *hostileBench) (string, time.Duration, error) {
		return sendRaw(h.addr, "cbor", frameHeader(0, 99, 0, 1))
	}},
	{name: "truncated frame, then end of stream", run: func(h *hostileBench) (string, time.Duration, error) {
		return sendRaw(h.addr, "cbor", append(frameHeader(100, kindCall, 0, 1), 1, 2, 3), halfClose)
	}},
	{name: "truncated frame, then silence", run: func(h *hostileBench) (string, time.Duration, error) {
		how, took, err := sendRaw(h.addr, "cbor", append(frameHeader(100, kindCall, 0, 1), 1, 2, 3))
		return how + " by the keepalive", took, err
	}},
	{name: "handshake, then silence", run: func(h *hostileBench) (string, time.Duration, error) {
		how, took, err := sendRaw(h.addr, "cbor", nil)
		return how + " by the keepalive", took, err
	}},
	{name: "argument nested 100,000 deep (CBOR)", run: func(h *hostileBench) (string, time.Duration, error) {
		nested := append(bytes.Repeat([]byte{0x81}, 100_000), 0xf6) // [[[...null...]]]
		return callExpectingError(h.addr, "cbor", callFrame(1, "Work.Sink", 0, cborArray(nested)))
	}},
	{name: "argument nested 100,000 deep (JSON)", run: func(h *hostileBench) (string, time.Duration, error) {
		args := "[" + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + "]"
		return callExpectingError(h.addr, "json", callFrame(1, "Work.Sink", 0, []byte(args)))
	}},
	{name: "5,000 calls in flight on one connection", limit: 60 * time.Second, run: flood},
	{name: "client that connects and sends nothing", run: func(h *hostileBench) (string, time.Duration, error) {
		start := time.Now()
		nc, err := rawDial(h.addr, "")
		if err != nil {
			return "dial failed", 0, err
		}
		defer nc.Close()
		how, at, err := awaitClose(nc, 10*time.Second)
		return how + fmt.Sprintf(" by the %v handshake timeout", hostileHandshake), at.Sub(start), err
	}},
	{name: "client that never reads its replies", limit: 10 * time.Second, run: neverReads},
}

// randomBytes returns n bytes from a fixed seed, the first set to first.
func randomBytes(seed uint64, n int, first byte) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	b[0] = first
	return b
}

// halfClose ends the client's side of the stream after the input.
func halfClose(nc net.Conn) { _ = nc.(*net.TCPConn).CloseWrite() }

// sendRaw connects (handshaking with codec, if not empty), sends input,
// and waits for the server to close the connection. The outcome names
// the welcome's status if the server sent one.
func sendRaw(addr, codec string, input []byte, after ...func(net.Conn)) (string, time.Duration, error) {
	nc, err := rawDial(addr, codec)
	if err != nil {
		return "handshake failed", 0, err
	}
	defer nc.Close()
	start := time.Now()
	_, _ = nc.Write(input) // the server may close before reading it all
	for _, f := range after {
		f(nc)
	}
	var got bytes.Buffer
	how, at, err := awaitCloseInto(nc, &got, 10*time.Second)
	switch {
	case codec == "" && got.Len() >= welcomeSize && strings.HasPrefix(got.String(), "SRPC"):
		how = fmt.Sprintf("welcome with status %d, then %s", got.Bytes()[5], how)
	case codec != "" && onlyPings(got.Bytes()):
		how = fmt.Sprintf("%d ping(s) unanswered, then %s", got.Len()/14, how)
	case got.Len() > 0:
		how = fmt.Sprintf("%d bytes, then %s", got.Len(), how)
	}
	return how, at.Sub(start), err
}

// onlyPings reports whether b is one or more body-less ping frames.
func onlyPings(b []byte) bool {
	if len(b) == 0 || len(b)%14 != 0 {
		return false
	}
	for i := 0; i < len(b); i += 14 {
		if b[i+4] != kindPing || b[i] != 0 || b[i+1] != 0 || b[i+2] != 0 || b[i+3] != 0 {
			return false
		}
	}
	return true
}

// awaitCloseInto is awaitClose keeping what the server sent.
func awaitCloseInto(nc net.Conn, got *bytes.Buffer, limit time.Duration) (string, time.Time, error) {
	return awaitClose(teeConn{Conn: nc, w: got}, limit)
}

// teeConn copies what is read from a connection.
type teeConn struct {
	net.Conn
	w *bytes.Buffer
}

func (c teeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.w.Write(p[:n])
	return n, err
}

// callExpectingError sends one call frame and expects an error reply
// with code invalid_argument, or the connection closed.
func callExpectingError(addr, codec string, frame []byte) (string, time.Duration, error) {
	nc, err := rawDial(addr, codec)
	if err != nil {
		return "handshake failed", 0, err
	}
	defer nc.Close()
	start := time.Now()
	if _, err := nc.Write(frame); err != nil {
		how, at, _ := awaitClose(nc, time.Second)
		return how + " while the input was sent", at.Sub(start), nil
	}
	f, err := nextReply(nc)
	took := time.Since(start)
	if err != nil {
		return "closed", took, nil
	}
	if f.flags&flagError == 0 {
		return "a result", took, fmt.Errorf("want an error reply")
	}
	code, err := errorCode(f.body, codec)
	if err != nil {
		return "undecodable error reply", took, err
	}
	if code != 3 {
		return fmt.Sprintf("error reply with code %d", code), took, fmt.Errorf("want invalid_argument (3)")
	}
	return "error reply: invalid_argument", took, nil
}
