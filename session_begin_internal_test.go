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
