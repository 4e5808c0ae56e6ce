package simplerpc

import (
	"bytes"
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
