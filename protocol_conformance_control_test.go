package simplerpc_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// TestProtocol_5_GoAway: a server shutting down sends go-away (flag final
// clear, id 0, a reason), refuses new calls with unavailable, answers
// the calls it accepted, then sends a final go-away and closes.
func TestProtocol_5_GoAway(t *testing.T) {
	cs := startConf(t)
	w := openWire(t, cs.addr, "cbor")
	w.call(1, "Conf.Wait", "accepted")
	cs.waitStarted(t, "accepted")
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- cs.srv.Shutdown(ctx)
	}()
	f := w.next()
	if f.Kind != wire.KindGoAway || f.Flags != 0 || f.ID != 0 || len(f.body) == 0 {
		t.Fatalf("first frame of a shutdown: %+v %q", f.Header, f.body)
	}
	w.call(2, "Calc.Add", 1, 2)
	if e := w.expectCode(2, simplerpc.CodeUnavailable); !strings.Contains(e.Message, "not run") {
		t.Errorf("call after go-away: %+v", e)
	}
	cs.open()
	f = w.reply()
	var tag string
	w.results(f, &tag)
	if f.ID != 1 || tag != "accepted" {
		t.Fatalf("the accepted call: %d %q", f.ID, tag)
	}
	if f = w.next(); f.Kind != wire.KindGoAway || f.Flags != wire.FlagFinal || f.ID != 0 {
		t.Fatalf("after the last reply: %+v", f.Header)
	}
	w.expectClosed()
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
}

// TestProtocol_7_Cancel: a cancel ends the context of the call it names,
// which then answers canceled; a cancel for an unknown id is ignored.
func TestProtocol_7_Cancel(t *testing.T) {
	cs := startConf(t)
	w := openWire(t, cs.addr, "json")
	w.frame(wire.KindCancel, 0, 99, nil)
	w.call(1, "Conf.Wait", "doomed")
	cs.waitStarted(t, "doomed")
	w.frame(wire.KindCancel, 0, 1, nil)
	w.expectCode(1, simplerpc.CodeCanceled)
	w.expectAdd(2)
}

// TestProtocol_7_PingPong: a ping is answered with a pong of the same
// token and an empty body; a pong that matches no ping is ignored.
func TestProtocol_7_PingPong(t *testing.T) {
	ts := startServer(t)
	w := openWire(t, ts.addr, "cbor")
	w.frame(wire.KindPong, 0, 5, nil)
	for _, token := range []uint64{0, 1, 0xdeadbeef, 1<<64 - 1} {
		w.frame(wire.KindPing, 0, token, nil)
		if f := w.next(); f.Kind != wire.KindPong || f.ID != token || f.Flags != 0 || len(f.body) != 0 {
			t.Fatalf("ping %d: answered %+v", token, f.Header)
		}
	}
	w.expectAdd(1)
}

// TestProtocol_7_ServerKeepalive: the server pings an idle connection
// with token 0, keeps it while the client answers, and closes it when
// nothing arrives within the keepalive timeout.
func TestProtocol_7_ServerKeepalive(t *testing.T) {
	ts := startServer(t, simplerpc.WithKeepalive(50*time.Millisecond, 200*time.Millisecond))
	w := openWire(t, ts.addr, "cbor")
	for range 3 {
		f := w.next()
		if f.Kind != wire.KindPing || f.ID != 0 || f.Flags != 0 || len(f.body) != 0 {
			t.Fatalf("keepalive: %+v", f.Header)
		}
		w.frame(wire.KindPong, 0, f.ID, nil)
	}
	w.expectAdd(1)
	w.expectClosed() // pings left unanswered
}
