package simplerpc_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

func TestMessageSizeLimits(t *testing.T) {
	ts := startServer(t, simplerpc.WithMaxMessageSize(64<<10))
	c := dial(t, ts.addr, simplerpc.WithMaxMessageSize(64<<10))
	big := make([]byte, 100<<10)
	err := c.Call(context.Background(), "Calc.Echo", []any{big})
	if codeOf(t, err) != simplerpc.CodeResourceExhausted {
		t.Fatalf("call over the server's limit: %v", err)
	}
	// A reply over the limit is refused by the server, not sent.
	tooBig := strings.Repeat("x", 70<<10)
	var s string
	err = c.Call(context.Background(), "greet", []any{tooBig[:60<<10] + tooBig[:10<<10]}, &s)
	if codeOf(t, err) != simplerpc.CodeResourceExhausted {
		t.Fatalf("call at the limit: %v", err)
	}
	ok := make([]byte, 32<<10)
	var back []byte
	if err := c.Call(context.Background(), "Calc.Echo", []any{ok}, &back); err != nil || len(back) != len(ok) {
		t.Fatalf("call under the limit: %v", err)
	}
}

func TestReplyOverLimit(t *testing.T) {
	ts := startServer(t, simplerpc.WithMaxMessageSize(4<<10))
	c := dial(t, ts.addr)
	if err := ts.srv.RegisterFunc("blowup", func(n int) string { return strings.Repeat("y", n) }); err != nil {
		t.Fatal(err)
	}
	err := c.Call(context.Background(), "blowup", []any{8 << 10})
	var e *simplerpc.Error
	if !errors.As(err, &e) || e.Code != simplerpc.CodeResourceExhausted || !strings.Contains(e.Message, "reply of") {
		t.Fatalf("reply over the limit: %v", err)
	}
}

// rawConn opens a TCP connection and, if hello, performs the handshake.
func rawConn(t *testing.T, addr string, hello bool) net.Conn {
	t.Helper()
	return rawConnWith(t, addr, hello, nil)
}

// rawConnWith is rawConn with a hook to set socket options first.
func rawConnWith(t *testing.T, addr string, hello bool, setup func(*net.TCPConn)) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(nc.(*net.TCPConn))
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	if hello {
		if _, err := nc.Write([]byte("SRPC\x01\x00\x04cbor")); err != nil {
			t.Fatal(err)
		}
		welcome := make([]byte, 11)
		if _, err := io.ReadFull(nc, welcome); err != nil || welcome[5] != 0 {
			t.Fatalf("welcome %q, %v", welcome, err)
		}
	}
	return nc
}

// expectClosed reads until the server closes the connection, failing
// after 3s.
func expectClosed(t *testing.T, nc net.Conn, what string) {
	t.Helper()
	expectClosedWithin(t, nc, what, 3*time.Second)
}

// expectClosedWithin reads until the server closes the connection,
// failing after d.
func expectClosedWithin(t *testing.T, nc net.Conn, what string, d time.Duration) {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(d))
	if _, err := io.Copy(io.Discard, nc); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("%s: the server did not close the connection", what)
		}
	}
}

func TestHostileInputClosesOnlyThatConnection(t *testing.T) {
	var logs syncBuffer
	ts := startServer(t, simplerpc.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	good := dial(t, ts.addr)
	header := func(size uint32, kind, flags byte, id uint64) []byte {
		b := binary.BigEndian.AppendUint32(nil, size)
		b = append(b, kind, flags)
		return binary.BigEndian.AppendUint64(b, id)
	}
	for _, tc := range []struct {
		name  string
		hello bool
		send  []byte
	}{
		{"wrong magic", false, []byte("SRPX\x01\x00\x04cbor")},
		{"random bytes", false, []byte{0x53, 0x52, 0x50, 0x43, 0xff, 0x13, 0x37, 0, 1, 2}},
		{"frame announcing 2 GiB", true, header(2<<30, 1, 0, 1)},
		{"unknown frame kind", true, header(0, 99, 0, 1)},
		{"reply sent by a client", true, header(0, 2, 0, 1)},
		{"malformed call body", true, append(header(3, 1, 0, 1), 0xff, 0xff, 0xff)},
		{"truncated frame", true, append(header(100, 1, 0, 1), 1, 2, 3)},
	} {
		nc := rawConn(t, ts.addr, tc.hello)
		if _, err := nc.Write(tc.send); err != nil {
			t.Fatal(err)
		}
		if tc.name == "truncated frame" {
			nc.(*net.TCPConn).CloseWrite()
		}
		expectClosed(t, nc, tc.name)
		var n int
		if err := good.Call(context.Background(), "Calc.Add", []any{1, 2}, &n); err != nil || n != 3 {
			t.Fatalf("after %s, another client's call failed: %v", tc.name, err)
		}
	}
	if !strings.Contains(logs.String(), "connection closed") {
		t.Errorf("protocol violations were not logged: %s", logs.String())
	}
}

func TestWrongVersionAndCodecAreRefused(t *testing.T) {
	ts := startServer(t)
	for _, tc := range []struct {
		hello  string
		status byte
	}{
		{"SRPC\x02\x00\x04cbor", 1},
		{"SRPC\x01\x00\x04xml!", 2},
	} {
		nc := rawConn(t, ts.addr, false)
		nc.Write([]byte(tc.hello))
		welcome := make([]byte, 11)
		if _, err := io.ReadFull(nc, welcome); err != nil || welcome[5] != tc.status {
			t.Errorf("hello %q: welcome %q, %v", tc.hello, welcome, err)
		}
		expectClosed(t, nc, tc.hello)
	}
	_, err := simplerpc.Dial(context.Background(), ts.addr, simplerpc.WithCodec("xml"), simplerpc.WithRetry(simplerpc.RetryPolicy{}))
	if err == nil || !strings.Contains(err.Error(), "xml") {
		t.Errorf("Dial with an unknown codec: %v", err)
	}
}

func TestSilentClientIsDropped(t *testing.T) {
	ts := startServer(t, simplerpc.WithHandshakeTimeout(200*time.Millisecond))
	nc := rawConn(t, ts.addr, false)
	start := time.Now()
	_, err := nc.Read(make([]byte, 1))
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("silent client: %v after %v", err, time.Since(start))
	}
}

func TestNonReadingClientDoesNotStallOthers(t *testing.T) {
	ts := startServer(t, simplerpc.WithWriteTimeout(300*time.Millisecond))
	good := dial(t, ts.addr)
	// A client that sends many calls with large replies and never reads.
	// Its small receive buffer (set before the handshake, so the kernel
	// does not grow it) makes the server's writes block soon.
	nc := rawConnWith(t, ts.addr, true, func(c *net.TCPConn) { _ = c.SetReadBuffer(8 << 10) })
	var frames bytes.Buffer
	for id := uint64(1); id <= 600; id++ {
		body := []byte{byte(len("greet")), 'g', 'r', 'e', 'e', 't', 0}
		arg := bytes.Repeat([]byte{'z'}, 32000)
		body = append(body, 0x81, 0x79, byte(len(arg)>>8), byte(len(arg)))
		body = append(body, arg...)
		frames.Write(binary.BigEndian.AppendUint32(nil, uint32(len(body))))
		frames.Write([]byte{1, 0})
		frames.Write(binary.BigEndian.AppendUint64(nil, id))
		frames.Write(body)
	}
	sent := make(chan error, 1)
	go func() {
		_, err := nc.Write(frames.Bytes())
		sent <- err
	}()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := good.Call(ctx, "Calc.Add", []any{1, 2}, &n)
		cancel()
		if err != nil || n != 3 {
			t.Fatalf("a non-reading client stalled another: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The server closes it once a write has made no progress for 300ms
	// (after the kernel buffers between them fill). Reading would make
	// this a reading client: watch for the close by writing pings (once
	// the calls are all sent, so that the pings cannot cut into them),
	// which fail once the server has reset the connection.
	start := time.Now()
	if err := <-sent; err == nil {
		ping := binary.BigEndian.AppendUint32(nil, 0)
		ping = append(ping, 4, 0)
		ping = binary.BigEndian.AppendUint64(ping, 1)
		for {
			_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := nc.Write(ping); err != nil {
				break // closed by the server
			}
			if time.Since(start) > 15*time.Second {
				t.Fatal("the server kept the connection of a client that never reads")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("closed %v after the load", time.Since(start))
}

// TestSlowReaderIsSlowedNotCut sends many calls with large replies on a
// raw connection and reads the replies slowly: the server, whose backlog
// limit this small message limit makes 8 MiB, must stop reading calls
// while replies wait rather than close the connection, and answer all.
func TestSlowReaderIsSlowedNotCut(t *testing.T) {
	ts := startServer(t, simplerpc.WithMaxMessageSize(1<<20))
	nc := rawConn(t, ts.addr, true)
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	const calls, size = 200, 100000 // 20 MB of replies: more than the backlog limit
	arg := bytes.Repeat([]byte{'z'}, size)
	go func() {
		for id := uint64(1); id <= calls; id++ {
			body := append([]byte{byte(len("Calc.Echo"))}, "Calc.Echo"...)
			body = append(body, 0, 0x81, 0x5a)
			body = binary.BigEndian.AppendUint32(body, size)
			body = append(body, arg...)
			frame := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
			frame = append(frame, 1, 0)
			frame = binary.BigEndian.AppendUint64(frame, id)
			if _, err := nc.Write(append(frame, body...)); err != nil {
				return // the test fails below
			}
		}
	}()
	seen := map[uint64]bool{}
	for len(seen) < calls {
		time.Sleep(2 * time.Millisecond) // a slow reader
		var hdr [14]byte
		if _, err := io.ReadFull(nc, hdr[:]); err != nil {
			t.Fatalf("after %d of %d replies: %v", len(seen), calls, err)
		}
		body := make([]byte, binary.BigEndian.Uint32(hdr[:4]))
		if _, err := io.ReadFull(nc, body); err != nil {
			t.Fatalf("after %d of %d replies: %v", len(seen), calls, err)
		}
		id := binary.BigEndian.Uint64(hdr[6:])
		if hdr[4] != 2 || hdr[5] != 0 || len(body) < size || seen[id] {
			t.Fatalf("reply %d: kind %d, flags %d, %d bytes, seen before %v", id, hdr[4], hdr[5], len(body), seen[id])
		}
		seen[id] = true
	}
}
