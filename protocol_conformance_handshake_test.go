package simplerpc_test

import (
	"io"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// TestProtocol_1_WelcomeAnnouncesMaxBody: a hello of version 1 with a
// known codec gets status 0, version 1, no flags, and the server's limit
// on a frame body.
func TestProtocol_1_WelcomeAnnouncesMaxBody(t *testing.T) {
	for _, tc := range []struct {
		opts []simplerpc.ServerOption
		max  uint32
	}{
		{nil, wire.DefaultMaxBody},
		{[]simplerpc.ServerOption{simplerpc.WithMaxMessageSize(1 << 20)}, 1 << 20},
	} {
		ts := startServer(t, tc.opts...)
		for _, name := range codecs {
			w := dialWire(t, ts.addr)
			wel := w.hello(wire.Hello{Version: wire.Version, Codec: name})
			if wel != (wire.Welcome{Version: 1, Status: wire.StatusOK, MaxBody: tc.max}) {
				t.Errorf("%s: welcome %+v, want max body %d", name, wel, tc.max)
			}
		}
	}
}

// TestProtocol_1_OtherVersionAnsweredOnFiveBytes: a client that sends
// only the magic and a version the server does not speak, and waits, is
// answered at once with status 1 — long before the handshake timeout —
// and the connection is closed.
func TestProtocol_1_OtherVersionAnsweredOnFiveBytes(t *testing.T) {
	ts := startServer(t, simplerpc.WithHandshakeTimeout(30*time.Second))
	for _, v := range []byte{0, 2, 255} {
		w := dialWire(t, ts.addr)
		start := time.Now()
		w.write([]byte{'S', 'R', 'P', 'C', v})
		wel := w.welcome()
		if wel.Status != wire.StatusBadVersion || wel.Version != wire.Version {
			t.Errorf("version %d: welcome %+v", v, wel)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("version %d: answered after %v", v, d)
		}
		w.expectClosed()
	}
	// A whole hello of another version gets the same answer.
	w := dialWire(t, ts.addr)
	if wel := w.hello(wire.Hello{Version: 2, Flags: 0xff, Codec: "cbor"}); wel.Status != wire.StatusBadVersion {
		t.Errorf("whole hello of version 2: %+v", wel)
	}
	w.expectClosed()
}

// TestProtocol_1_UnknownCodec: a codec name the server does not know,
// or none, gets status 2.
func TestProtocol_1_UnknownCodec(t *testing.T) {
	ts := startServer(t)
	for _, name := range []string{"xml", "", "CBOR"} {
		w := dialWire(t, ts.addr)
		if wel := w.hello(wire.Hello{Version: wire.Version, Codec: name}); wel.Status != wire.StatusBadCodec {
			t.Errorf("codec %q: welcome %+v", name, wel)
		}
		w.expectClosed()
	}
}

// TestProtocol_1_TLSRequired: a plain hello to a server that expects TLS
// gets status 3.
func TestProtocol_1_TLSRequired(t *testing.T) {
	serverTLS, _ := testCerts(t)
	ts := startServer(t, simplerpc.WithTLS(serverTLS))
	w := dialWire(t, ts.addr)
	if wel := w.hello(wire.Hello{Version: wire.Version, Codec: "cbor"}); wel.Status != wire.StatusTLSRequired {
		t.Errorf("plain hello to a TLS server: welcome %+v", wel)
	}
	w.expectClosed()
}

// TestProtocol_1_ReservedHelloFlagsIgnored: hello flags other than
// session, resume, streams and callbacks are ignored, and not granted (the
// welcome's flags stay 0) — packed items only with streams; streams and
// callbacks asked for are granted.
func TestProtocol_1_ReservedHelloFlagsIgnored(t *testing.T) {
	ts := startServer(t)
	w := dialWire(t, ts.addr)
	wel := w.hello(wire.Hello{Version: wire.Version, Flags: 0xf0, Codec: "json"})
	if wel.Status != wire.StatusOK || wel.Flags != 0 {
		t.Fatalf("hello with reserved flags: welcome %+v", wel)
	}
	w.codec = codecByName(t, "json")
	w.expectAdd(1)
	w = dialWire(t, ts.addr)
	wel = w.hello(wire.Hello{Version: wire.Version, Flags: 0xf0 | wire.HelloStreams, Codec: "json"})
	// Bit 5 of 0xf0, with streams, asks for packed items (§12).
	if wel.Status != wire.StatusOK || wel.Flags != wire.WelcomeStreams|wire.WelcomePacked {
		t.Fatalf("hello asking for streams: welcome %+v, want flags %#x", wel, wire.WelcomeStreams|wire.WelcomePacked)
	}
	w.codec = codecByName(t, "json")
	w.expectAdd(1)
	w = dialWire(t, ts.addr)
	wel = w.hello(wire.Hello{Version: wire.Version, Flags: 0xf0 | wire.HelloCallbacks, Codec: "json"})
	if wel.Status != wire.StatusOK || wel.Flags != wire.WelcomeCallbacks {
		t.Fatalf("hello asking for callbacks: welcome %+v, want flags %#x", wel, wire.WelcomeCallbacks)
	}
	w.codec = codecByName(t, "json")
	w.expectAdd(1)
}

// TestProtocol_1_HandshakeTimeout: a client that does not complete its
// hello within the handshake timeout is closed without a welcome.
func TestProtocol_1_HandshakeTimeout(t *testing.T) {
	ts := startServer(t, simplerpc.WithHandshakeTimeout(200*time.Millisecond))
	for _, partial := range [][]byte{nil, []byte("SRPC\x01"), []byte("SRPC\x01\x00\x04cb")} {
		w := dialWire(t, ts.addr)
		if partial != nil {
			w.write(partial)
		}
		start := time.Now()
		got, _ := io.ReadAll(w.nc)
		if len(got) != 0 || time.Since(start) > 5*time.Second {
			t.Errorf("hello %q: got %q after %v, want the connection closed without an answer", partial, got, time.Since(start))
		}
	}
}
