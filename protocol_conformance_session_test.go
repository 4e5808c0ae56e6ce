package simplerpc_test

import (
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// waitDetached waits until the server holds n detached sessions.
func (cs *confServer) waitDetached(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, d, _ := simplerpc.SessionStats(cs.srv); d == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server does not hold %d detached sessions", n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestProtocol_6_Hello: a hello naming a new id starts the session (with
// or without resume, never resumed); one naming a held id without resume
// is refused with status 4, attached or detached; resume without a
// session names none and is refused with 4; a resume of a held session
// is welcomed with resumed.
func TestProtocol_6_Hello(t *testing.T) {
	cs := startConf(t)
	sid := newSessionID(t)
	first, wel := openSession(t, cs.addr, sid, false)
	if wel.Status != wire.StatusOK || wel.Flags != 0 {
		t.Fatalf("new session: %+v", wel)
	}
	first.expectAdd(1)
	fresh, wel := openSession(t, cs.addr, newSessionID(t), true)
	if wel.Status != wire.StatusOK || wel.Flags&wire.WelcomeResumed != 0 {
		t.Fatalf("resume of an unknown id: %+v", wel)
	}
	fresh.expectAdd(1)

	taken, wel := openSession(t, cs.addr, sid, false)
	if wel.Status != wire.StatusSessionRefused {
		t.Fatalf("held id, attached, without resume: %+v", wel)
	}
	taken.expectClosed()
	first.expectAdd(2) // the session's connection is untouched

	w := dialWire(t, cs.addr)
	if wel := w.hello(wire.Hello{Version: wire.Version, Flags: wire.HelloResume, Codec: "cbor"}); wel.Status != wire.StatusSessionRefused {
		t.Fatalf("resume without a session: %+v", wel)
	}
	w.expectClosed()

	first.nc.Close()
	cs.waitDetached(t, 1)
	taken, wel = openSession(t, cs.addr, sid, false)
	if wel.Status != wire.StatusSessionRefused {
		t.Fatalf("held id, detached, without resume: %+v", wel)
	}
	taken.expectClosed()
	again, wel := openSession(t, cs.addr, sid, true)
	if wel.Status != wire.StatusOK || wel.Flags != wire.WelcomeResumed {
		t.Fatalf("resume: %+v", wel)
	}
	again.expectAdd(3)
}

// TestProtocol_6_SupersededConnectionClosed: a resume on a new connection
// closes the one the session had.
func TestProtocol_6_SupersededConnectionClosed(t *testing.T) {
	cs := startConf(t)
	sid := newSessionID(t)
	old, _ := openSession(t, cs.addr, sid, false)
	old.expectAdd(1)
	w, wel := openSession(t, cs.addr, sid, true)
	if wel.Flags != wire.WelcomeResumed {
		t.Fatalf("resume: %+v", wel)
	}
	old.expectClosed()
	w.expectAdd(2)
}

// TestProtocol_6_RunningReplyPushedAfterResume: the reply of a call still
// running at the resume goes to the new connection as soon as it
// finishes, though the client did not send the call again.
func TestProtocol_6_RunningReplyPushedAfterResume(t *testing.T) {
	cs, sid := detachedWithCall(t, "running")
	w, wel := openSession(t, cs.addr, sid, true)
	if wel.Flags != wire.WelcomeResumed {
		t.Fatalf("resume: %+v", wel)
	}
	cs.open()
	f := w.reply()
	var tag string
	w.results(f, &tag)
	if f.ID != 1 || tag != "running" {
		t.Fatalf("pushed reply: %d %q", f.ID, tag)
	}
}

// TestProtocol_6_KeptReplyOnlyWhenSentAgain: the reply of a call that
// finished while the session was detached is not pushed after the
// resume; it is written when the client sends the call again, and the
// call is not run again.
func TestProtocol_6_KeptReplyOnlyWhenSentAgain(t *testing.T) {
	cs, sid := detachedWithCall(t, "done")
	cs.open()
	cs.waitIdle(t)
	w, wel := openSession(t, cs.addr, sid, true)
	if wel.Flags != wire.WelcomeResumed {
		t.Fatalf("resume: %+v", wel)
	}
	w.expectSilence(300 * time.Millisecond)
	w.call(1, "Conf.Wait", "done")
	f := w.reply()
	var tag string
	w.results(f, &tag)
	if f.ID != 1 || tag != "done" {
		t.Fatalf("kept reply: %d %q", f.ID, tag)
	}
	// Sent again on the same connection, it is answered from memory too.
	w.call(1, "Conf.Wait", "done")
	w.results(w.reply(), &tag)
	if runs := cs.conf.runs.Load(); runs != 1 {
		t.Fatalf("the call ran %d times", runs)
	}
}

// TestProtocol_6_RunningCallSentAgainAnsweredOnce: a call sent again
// after a resume while it still runs is answered once, when it finishes.
func TestProtocol_6_RunningCallSentAgainAnsweredOnce(t *testing.T) {
	cs, sid := detachedWithCall(t, "once")
	w, _ := openSession(t, cs.addr, sid, true)
	w.call(1, "Conf.Wait", "once")
	w.expectSilence(100 * time.Millisecond)
	cs.open()
	f := w.reply()
	var tag string
	w.results(f, &tag)
	if f.ID != 1 || tag != "once" {
		t.Fatalf("reply: %d %q", f.ID, tag)
	}
	w.expectSilence(300 * time.Millisecond)
	if runs := cs.conf.runs.Load(); runs != 1 {
		t.Fatalf("the call ran %d times", runs)
	}
}

// TestProtocol_6_SessionIDs: ids need not increase, but one at or below
// the last ack (0 included) is refused, as is the id of a call running
// on the same connection; a refused call is not run and the connection
// goes on.
func TestProtocol_6_SessionIDs(t *testing.T) {
	cs := startConf(t)
	w, _ := openSession(t, cs.addr, newSessionID(t), false)
	w.call(0, "Conf.Count")
	w.expectCode(0, simplerpc.CodeInvalidArgument)
	for _, id := range []uint64{10, 5, 7} {
		w.call(id, "Conf.Count")
		var n int64
		if f := w.reply(); f.ID != id {
			t.Fatalf("reply %d for call %d", f.ID, id)
		} else {
			w.results(f, &n)
		}
	}
	w.call(11, "Conf.Wait", "long")
	cs.waitStarted(t, "long")
	w.call(11, "Conf.Count")
	if e := w.expectCode(11, simplerpc.CodeInvalidArgument); e.Method != "Conf.Count" {
		t.Errorf("duplicate of a running id: %+v", e)
	}
	w.frame(wire.KindAck, 0, 8, nil) // ids up to 8 settled
	w.call(6, "Conf.Count")
	w.expectCode(6, simplerpc.CodeInvalidArgument)
	w.call(8, "Conf.Count")
	w.expectCode(8, simplerpc.CodeInvalidArgument)
	w.call(9, "Conf.Count")
	var n int64
	w.results(w.reply(), &n)
	cs.open()
	var tag string
	if f := w.reply(); f.ID != 11 {
		t.Fatalf("reply %d, want the running call 11", f.ID)
	} else {
		w.results(f, &tag)
	}
	if runs := cs.conf.runs.Load(); runs != 5 || n != 5 {
		t.Fatalf("%d runs (count %d), want 5: refused calls must not run", runs, n)
	}
}

// TestProtocol_6_AckWithFrameCount: an ack's body is empty or 8 bytes
// counting the frames the client read; the server then forgets the
// replies among them, and the call is no longer answered from memory.
func TestProtocol_6_AckWithFrameCount(t *testing.T) {
	cs := startConf(t)
	w, _ := openSession(t, cs.addr, newSessionID(t), false)
	w.call(1, "Conf.Count")
	var n int64
	w.results(w.reply(), &n)
	w.frame(wire.KindAck, 0, 0, wire.AppendAckBody(nil, 1)) // read 1 frame: that reply
	w.expectAdd(2)
	w.call(1, "Conf.Count") // forgotten, and above the ack: run as new
	w.results(w.reply(), &n)
	if n != 2 {
		t.Fatalf("count %d: the call was answered from memory after its reply was acknowledged", n)
	}
}

// TestProtocol_6_WithoutSessionIDs: without a session, an id is refused
// only while a call under it runs on the connection; once answered, it
// may be used again.
func TestProtocol_6_WithoutSessionIDs(t *testing.T) {
	cs := startConf(t)
	w := openWire(t, cs.addr, "cbor")
	w.call(1, "Conf.Wait", "first")
	cs.waitStarted(t, "first")
	w.call(1, "Conf.Count")
	w.expectCode(1, simplerpc.CodeInvalidArgument)
	cs.open()
	var tag string
	w.results(w.reply(), &tag)
	for range 2 {
		w.call(1, "Conf.Count")
		var n int64
		w.results(w.reply(), &n)
	}
	w.call(0, "Conf.Count")
	var n int64
	w.results(w.reply(), &n)
	if runs := cs.conf.runs.Load(); runs != 4 {
		t.Fatalf("%d runs, want 4", runs)
	}
}

// detachedWithCall opens a session on a new Conf server, leaves call 1
// (Conf.Wait with tag) running on it and closes the connection, then
// waits until the server holds the session detached.
func detachedWithCall(t *testing.T, tag string) (*confServer, [wire.SessionIDSize]byte) {
	t.Helper()
	cs := startConf(t)
	sid := newSessionID(t)
	old, _ := openSession(t, cs.addr, sid, false)
	old.call(1, "Conf.Wait", tag)
	cs.waitStarted(t, tag)
	old.nc.Close()
	cs.waitDetached(t, 1)
	return cs, sid
}
