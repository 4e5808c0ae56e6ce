package simplerpc

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
)

// recordingConn is a replyConn that counts the replies written to it.
type recordingConn struct{ n uint64 }

func (c *recordingConn) writeReply([]byte) (uint64, error) { c.n++; return c.n, nil }
func (c *recordingConn) abort()                            {}
func (c *recordingConn) supersede()                        {}
func (c *recordingConn) logger() *slog.Logger              { return slog.New(slog.DiscardHandler) }

// TestSessionBeginOrder checks begin's answers for ids above the highest
// begun (new without a look at the session's calls), for ids below it
// that the session holds, and for ids below it that it never saw.
func TestSessionBeginOrder(t *testing.T) {
	srv := NewServer()
	sc := &recordingConn{}
	sess := &session{srv: srv, cancels: newCancelSet(), conn: sc}
	want := func(id uint64, on replyConn, act callAction) {
		t.Helper()
		if got, _ := sess.begin(id, on); got != act {
			t.Fatalf("begin(%d) = %v, want %v", id, got, act)
		}
	}
	want(1, sc, callNew)
	want(2, sc, callNew)
	want(5, sc, callNew)
	want(1, sc, callDuplicate)             // running, same connection
	want(2, &recordingConn{}, callRunning) // running, received again on another
	sess.finish(1, bytes.NewBufferString("reply 1"))
	if got, r := sess.begin(1, sc); got != callDone || string(r.frame) != "reply 1" {
		t.Fatalf("begin(1) after its reply = %v %q, want the kept reply", got, r.frame)
	}
	want(4, sc, callNew) // below the highest, never seen
	want(4, sc, callDuplicate)
	want(3, sc, callNew)
	sess.ack(5)
	want(6, sc, callNew)
	want(5, sc, callStale)
	if sess.running != 5 {
		t.Fatalf("running = %d, want 5 (2, 3, 4, 5, 6)", sess.running)
	}
}

// TestKeptReplyFitsItsBuffer checks that a reply built in a buffer far
// larger than it — a pooled buffer an earlier, larger frame grew — is
// kept, and counted on the budget, at about its own size, and is sent
// again whole; that one with little room to spare is kept as it is; and
// that a large reply's own buffer, past maxPooledBuffer, is kept as it is.
func TestKeptReplyFitsItsBuffer(t *testing.T) {
	srv := NewServer()
	sc := &recordingConn{}
	sess := &session{srv: srv, cancels: newCancelSet(), conn: sc}
	reply := bytes.Repeat([]byte("reply 1 "), 500) // 4,000 bytes, a description's size
	cases := []struct {
		room  int
		fitIn bool // moved to a buffer of its size
	}{
		{len(reply), false},
		{len(reply) + 1<<10, false},
		{64<<10 + 8<<10, true},
		{208 << 10, true},
		{maxPooledBuffer, true},
		{maxPooledBuffer + 1, false}, // a large reply's own buffer: kept whole
	}
	for i, tc := range cases {
		id := uint64(i + 1)
		if act, _ := sess.begin(id, sc); act != callNew {
			t.Fatalf("begin(%d) = %v, want new", id, act)
		}
		buf := bytes.NewBuffer(make([]byte, 0, tc.room))
		buf.Write(reply)
		before, keptBefore := srv.budget.used.Load(), sess.bytes
		sess.finish(id, buf)
		cost := srv.budget.used.Load() - before
		c, ok := sess.calls.get(id)
		if !ok || c.reply == nil {
			t.Fatalf("reply %d in a buffer of %d bytes is not kept", id, tc.room)
		}
		if int64(sess.bytes-keptBefore) != cost || cost != int64(c.cost) {
			t.Fatalf("reply %d: the budget counts %d, the session %d, the call %d", id, cost, sess.bytes-keptBefore, c.cost)
		}
		if tc.fitIn {
			if most := int64(max(2*len(reply), len(reply)+keptSlack) + keptOverhead); cost > most {
				t.Fatalf("a %d-byte reply in a buffer of %d bytes is kept at a cost of %d, more than %d", len(reply), tc.room, cost, most)
			}
		} else if c.reply != buf || cost != int64(keptCost(buf)) {
			t.Fatalf("a %d-byte reply in a buffer of %d bytes was moved (cost %d)", len(reply), tc.room, cost)
		}
		if act, r := sess.begin(id, &recordingConn{}); act != callDone || !bytes.Equal(r.frame, reply) {
			t.Fatalf("begin(%d) again = %v with %d bytes, want the kept reply of %d", id, act, len(r.frame), len(reply))
		}
	}
}

// TestSessionCountsCallsAcrossForgetAll checks that the calls a session
// counts as running, and the orphans the server counts for it, come back
// to zero when the session's memory is dropped (forgetAll: over its
// bounds, or ended) while calls run or wait: a call begun before then
// and refused or ended by forget after, and a call begun after then,
// each count out once, never twice, never not at all.
func TestSessionCountsCallsAcrossForgetAll(t *testing.T) {
	srv := NewServer()
	sc := &recordingConn{}
	sess := &session{srv: srv, cancels: newCancelSet(), conn: sc}
	for id := uint64(1); id <= 3; id++ {
		if act, _ := sess.begin(id, sc); act != callNew {
			t.Fatalf("begin(%d) = %v, want callNew", id, act)
		}
	}
	// Detached with its three calls running: each is an orphan.
	sess.mu.Lock()
	sess.conn = nil
	sess.orphans = sess.running
	srv.orphanCalls.Add(int64(sess.orphans))
	srv.detachedCalls.Add(int64(sess.orphans))
	sess.forgetAll() // as end does, under the lock
	sess.mu.Unlock()
	sess.forget(1)                               // refused once its session ended, or a resumable stream's end
	sess.finish(2, bytes.NewBufferString("two")) // returned after the end
	check := func(when string, running, orphans int) {
		t.Helper()
		if sess.running != running || sess.orphans != orphans || srv.orphanCalls.Load() != int64(orphans) {
			t.Fatalf("%s: running %d, orphans %d, server's orphan calls %d; want %d, %d, %d", when,
				sess.running, sess.orphans, srv.orphanCalls.Load(), running, orphans, orphans)
		}
	}
	check("with call 3 still running", 1, 1)
	sess.finish(3, bytes.NewBufferString("three"))
	if sess.running != 0 || sess.orphans != 0 || srv.orphanCalls.Load() != 0 || srv.detachedCalls.Load() != 0 {
		t.Fatalf("after every call: running %d, orphans %d, server's orphan calls %d, detached calls %d; want all 0",
			sess.running, sess.orphans, srv.orphanCalls.Load(), srv.detachedCalls.Load())
	}

	// Attached and over its bounds: its calls are no orphans, and it
	// takes calls still, which run without a session's memory.
	sess = &session{srv: srv, cancels: newCancelSet(), conn: sc}
	sess.begin(1, sc)
	sess.begin(2, sc)
	sess.mu.Lock()
	sess.forgetAll()
	sess.mu.Unlock()
	for id := uint64(3); id <= 4; id++ {
		if act, _ := sess.begin(id, sc); act != callNew {
			t.Fatalf("begin(%d) on a broken session = %v, want callNew", id, act)
		}
	}
	check("over its bounds, four calls running", 4, 0)
	sess.forget(1)
	sess.finish(2, bytes.NewBufferString("two"))
	sess.forget(3)
	sess.finish(4, bytes.NewBufferString("four"))
	check("over its bounds, after every call", 0, 0)
}

// The call that takes a session over its bound of calls remembered runs
// without the session's memory, and counts in and out of those running
// as every other call does.
func TestSessionCountsTheCallOverItsBounds(t *testing.T) {
	srv := NewServer()
	sc := &recordingConn{}
	sess := &session{srv: srv, cancels: newCancelSet(), conn: sc}
	for id := uint64(1); id <= maxSessionCalls+1; id++ {
		if act, _ := sess.begin(id, sc); act != callNew {
			t.Fatalf("begin(%d) = %v, want callNew", id, act)
		}
	}
	if !sess.broken || sess.running != maxSessionCalls+1 {
		t.Fatalf("over its bounds: broken %v, running %d; want true, %d", sess.broken, sess.running, maxSessionCalls+1)
	}
	for id := uint64(1); id <= maxSessionCalls+1; id++ {
		if id%2 == 0 {
			sess.forget(id)
		} else {
			sess.finish(id, bytes.NewBufferString("done"))
		}
	}
	if sess.running != 0 {
		t.Fatalf("after every call: running %d, want 0", sess.running)
	}
}

// A detached session that breaks its bounds (a call returning after its
// connection ended) can never be resumed: when its time is up it leaves
// the server's table and the detached list like any other.
func TestSessionBrokenWhileDetachedExpires(t *testing.T) {
	srv := NewServer()
	sess := &session{srv: srv, cancels: newCancelSet()}
	sess.id[0] = 1
	sess.ctx, sess.cancel = context.WithCancel(context.Background())
	srv.mu.Lock()
	srv.sessions[sess.id] = sess
	srv.detached.push(sess)
	srv.mu.Unlock()
	sess.mu.Lock()
	sess.forgetAll() // as finish does past the bound of replies kept
	sess.mu.Unlock()
	sess.expire()
	srv.mu.Lock()
	_, kept := srv.sessions[sess.id]
	listed := srv.detached.head != nil
	srv.mu.Unlock()
	if kept || listed {
		t.Fatalf("after its time: in the table %v, on the detached list %v; want neither", kept, listed)
	}
	if sess.ctx.Err() == nil {
		t.Error("the expired session's calls were not canceled")
	}
}
