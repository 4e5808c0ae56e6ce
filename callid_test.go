package simplerpc_test

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc/internal/codec"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// rawSession opens a raw connection with a hello that starts a session
// (if sid is not zero) or none.
func rawSession(t *testing.T, addr string, sid [16]byte) net.Conn {
	t.Helper()
	return rawSessionWith(t, addr, sid, nil)
}

// rawSessionWith is rawSession with a hook to set socket options first.
func rawSessionWith(t *testing.T, addr string, sid [16]byte, setup func(*net.TCPConn)) net.Conn {
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
	h := wire.Hello{Version: wire.Version, Codec: "cbor"}
	if sid != ([16]byte{}) {
		h.Flags, h.Session = wire.HelloSession, sid
	}
	if _, err := nc.Write(wire.AppendHello(nil, h)); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, wire.WelcomeSize)
	if _, err := io.ReadFull(nc, b); err != nil || b[5] != wire.StatusOK {
		t.Fatalf("welcome %q, %v", b, err)
	}
	return nc
}

// callBytes encodes a call frame of method with args.
func callBytes(t *testing.T, id uint64, method string, args ...any) []byte {
	t.Helper()
	body, flags := wire.AppendCallPrefix(nil, method, 0, nil)
	var a bytes.Buffer
	if err := codec.CBOR.AppendArray(&a, args); err != nil {
		t.Fatal(err)
	}
	body = append(body, a.Bytes()...)
	return append(wire.AppendHeader(nil, wire.Header{Size: uint32(len(body)), Kind: wire.KindCall, Flags: flags, ID: id}), body...)
}

// readReply reads frames until a reply, and returns its header and body.
func readReply(t *testing.T, nc net.Conn) (wire.Header, []byte) {
	t.Helper()
	for {
		hb := make([]byte, wire.HeaderSize)
		if _, err := io.ReadFull(nc, hb); err != nil {
			t.Fatalf("no reply: %v", err)
		}
		h, err := wire.ParseHeader(hb, 1<<24)
		if err != nil {
			t.Fatal(err)
		}
		body := make([]byte, h.Size)
		if _, err := io.ReadFull(nc, body); err != nil {
			t.Fatal(err)
		}
		if h.Kind == wire.KindReply {
			return h, body
		}
	}
}

// TestReusedCallIDsAreAnswered checks that a call under an id the server
// cannot take — at or below the client's last ack, id 0 in a session, or
// the id of a call still running on the same connection (with or without
// a session) — gets an error reply saying so, never silence, and that the
// connection goes on serving.
func TestReusedCallIDsAreAnswered(t *testing.T) {
	ts := startServer(t)
	refused := func(t *testing.T, nc net.Conn, id uint64) {
		t.Helper()
		h, body := readReply(t, nc)
		if h.ID != id || h.Flags&wire.FlagError == 0 || !bytes.Contains(body, []byte("call not run")) {
			t.Fatalf("reply to id %d: id %d, flags %d, body %q; want an error reply saying it was not run", id, h.ID, h.Flags, body)
		}
	}
	works := func(t *testing.T, nc net.Conn, id uint64) {
		t.Helper()
		if _, err := nc.Write(callBytes(t, id, "Calc.Add", 40, 2)); err != nil {
			t.Fatal(err)
		}
		if h, _ := readReply(t, nc); h.ID != id || h.Flags&wire.FlagError != 0 {
			t.Fatalf("a good call afterwards: id %d, flags %d", h.ID, h.Flags)
		}
	}
	t.Run("id 0 in a session", func(t *testing.T) {
		nc := rawSession(t, ts.addr, [16]byte{1})
		_, _ = nc.Write(callBytes(t, 0, "Calc.Add", 1, 2))
		refused(t, nc, 0)
		works(t, nc, 1)
	})
	t.Run("id at or below the last ack", func(t *testing.T) {
		nc := rawSession(t, ts.addr, [16]byte{2})
		works(t, nc, 5)
		_, _ = nc.Write(wire.AppendHeader(nil, wire.Header{Kind: wire.KindAck, ID: 5}))
		_, _ = nc.Write(callBytes(t, 3, "Calc.Add", 1, 2))
		refused(t, nc, 3)
		works(t, nc, 6)
	})
	for _, sid := range [][16]byte{{3}, {}} {
		name := "id of a running call, in a session"
		if sid == ([16]byte{}) {
			name = "id of a running call, without a session"
		}
		t.Run(name, func(t *testing.T) {
			nc := rawSession(t, ts.addr, sid)
			_, _ = nc.Write(append(callBytes(t, 7, "Calc.Sleep", int64(300*time.Millisecond)), callBytes(t, 7, "Calc.Sleep", int64(300*time.Millisecond))...))
			refused(t, nc, 7)
			if h, _ := readReply(t, nc); h.ID != 7 || h.Flags&wire.FlagError != 0 {
				t.Fatalf("the first call under id 7: id %d, flags %d", h.ID, h.Flags)
			}
			works(t, nc, 8)
		})
	}
}
