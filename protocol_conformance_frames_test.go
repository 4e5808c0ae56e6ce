package simplerpc_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// TestProtocol_2_ViolationsClose: an unknown kind, a kind only the server
// sends, a reserved flag, or a body on a cancel, ping or pong is a
// violation: the connection is closed, with the reason logged, and other
// connections are unaffected. (A server per case: the log is
// rate-limited per kind of record.)
func TestProtocol_2_ViolationsClose(t *testing.T) {
	for _, tc := range []struct {
		name  string
		kind  wire.Kind
		flags uint8
		body  []byte
		log   string
	}{
		{"kind 0", 0, 0, nil, "unknown frame kind"},
		{"kind 13", 13, 0, nil, "unknown frame kind"},
		{"callback from the client", wire.KindCallback, 0, []byte{0, 1, 0, 0x80}, "client sent a callback frame"},
		{"callback cancel from the client", wire.KindCallbackCancel, 0, []byte{1}, "client sent a callback-cancel frame"},
		{"callback reply without callbacks", wire.KindCallbackReply, 0, []byte{1, 0x80}, "without asking for callbacks"},
		{"callback reply with bit 4", wire.KindCallbackReply, 1 << 4, []byte{1, 0x80}, "reserved flags"},
		{"callback cancel without a body", wire.KindCallbackCancel, 0, nil, "callback-cancel frame with a 0-byte body"},
		{"item without streams", wire.KindItem, 0, []byte{0x01}, "without asking for streams"},
		{"window without streams", wire.KindWindow, 0, make([]byte, wire.WindowBodySize), "without asking for streams"},
		{"window of 8 bytes", wire.KindWindow, 0, make([]byte, 8), "window frame with a 8-byte body"},
		{"item ending with a body", wire.KindItem, wire.FlagEnd, []byte{0x01}, "ending its stream with a 1-byte body"},
		{"stream call without streams", wire.KindCall, wire.FlagStream, []byte{1, 'f', 0, 0x80}, "without the client asking for streams"},
		{"reply from the client", wire.KindReply, 0, nil, "client sent a reply"},
		{"go-away from the client", wire.KindGoAway, 0, nil, "client sent a go-away"},
		{"call with flag error", wire.KindCall, wire.FlagError, []byte{1, 'f', 0, 0x80}, "reserved flags"},
		{"call with bit 7", wire.KindCall, 1 << 7, []byte{1, 'f', 0, 0x80}, "reserved flags"},
		{"cancel with flag final", wire.KindCancel, wire.FlagFinal, nil, "reserved flags"},
		{"ping with flag metadata", wire.KindPing, wire.FlagMetadata, nil, "reserved flags"},
		{"pong with flag error", wire.KindPong, wire.FlagError, nil, "reserved flags"},
		{"ack with flag final", wire.KindAck, wire.FlagFinal, nil, "reserved flags"},
		{"cancel with a body", wire.KindCancel, 0, []byte{0}, "cancel frame with a 1-byte body"},
		{"ping with a body", wire.KindPing, 0, make([]byte, 8), "ping frame with a 8-byte body"},
		{"pong with a body", wire.KindPong, 0, []byte("x"), "pong frame with a 1-byte body"},
		{"ack of 3 bytes", wire.KindAck, 0, []byte{1, 2, 3}, "malformed ack body"},
	} {
		var logs syncBuffer
		ts := startServer(t, simplerpc.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		good := openWire(t, ts.addr, "cbor")
		w := openWire(t, ts.addr, "cbor")
		w.frame(tc.kind, tc.flags, 1, tc.body)
		w.expectClosed()
		good.expectAdd(1)
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(logs.String(), tc.log) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if !strings.Contains(logs.String(), tc.log) {
			t.Errorf("%s: no %q in the log:\n%s", tc.name, tc.log, logs.String())
		}
	}
}

// TestProtocol_2_OversizeFrameClosesBeforeItsBody: a frame whose size
// field is over the announced limit closes the connection without the
// server waiting for, or reading, the body.
func TestProtocol_2_OversizeFrameClosesBeforeItsBody(t *testing.T) {
	ts := startServer(t, simplerpc.WithMaxMessageSize(1<<16))
	w := openWire(t, ts.addr, "cbor")
	w.write(wire.AppendHeader(nil, wire.Header{Size: 1<<16 + 1, Kind: wire.KindCall, ID: 1}))
	w.expectClosed()
	// At the limit, the frame is read.
	w = openWire(t, ts.addr, "cbor")
	body, flags := w.callBody("Calc.Echo", 0, nil, []byte{})
	pad := make([]byte, 1<<16-len(body)-4)
	body, _ = w.callBody("Calc.Echo", 0, nil, pad)
	w.frame(wire.KindCall, flags, 1, body)
	var got []byte
	w.results(w.reply(), &got)
	if len(body) > 1<<16 || len(got) != len(pad) {
		t.Fatalf("a %d-byte call at the limit: echoed %d bytes", len(body), len(got))
	}
}

// TestProtocol_2_RepliesInAnyOrder: many calls may be in flight on one
// connection; the id matches each reply to its call, whatever the order.
func TestProtocol_2_RepliesInAnyOrder(t *testing.T) {
	cs := startConf(t)
	w := openWire(t, cs.addr, "json")
	w.call(7, "Conf.Wait", "slow")
	cs.waitStarted(t, "slow")
	w.call(3, "Calc.Add", 1, 1)
	f := w.reply()
	var n int
	w.results(f, &n)
	if f.ID != 3 || n != 2 {
		t.Fatalf("first reply: id %d = %d, want the quick call 3", f.ID, n)
	}
	cs.open()
	f = w.reply()
	var tag string
	w.results(f, &tag)
	if f.ID != 7 || tag != "slow" {
		t.Fatalf("second reply: id %d = %q", f.ID, tag)
	}
}

// TestProtocol_2_LargeIDs: a call id is any 64-bit value, echoed exactly.
func TestProtocol_2_LargeIDs(t *testing.T) {
	ts := startServer(t)
	w := openWire(t, ts.addr, "cbor")
	for _, id := range []uint64{1 << 32, 1<<63 + 1, 1<<64 - 1} {
		w.expectAdd(id)
	}
}
