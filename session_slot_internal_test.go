package simplerpc

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc/internal/faultproxy"
)

// Holder's Hold runs until released; Quick returns at once.
type Holder struct {
	entered chan struct{}
	release chan struct{}
}

// Hold signals that it runs, then waits for the release.
func (h *Holder) Hold() int {
	h.entered <- struct{}{}
	<-h.release
	return 1
}

// Quick returns 2.
func (h *Holder) Quick() int { return 2 }

// onlySession returns the server's one session, waiting for it.
func onlySession(t *testing.T, srv *Server) *session {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		srv.mu.Lock()
		for _, sess := range srv.sessions {
			srv.mu.Unlock()
			return sess
		}
		srv.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
	t.Fatal("no session opened")
	return nil
}

// waitRunning waits until sess counts n calls running.
func waitRunning(t *testing.T, sess *session, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		sess.mu.Lock()
		got := sess.running
		sess.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the session counts %d calls running, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// A call whose connection ends while it waits at the connection's limit
// for a slot never ran: its session forgets it, so that the client's
// resume runs it, and it is not left counted as running (an orphan
// counted for good would lower every connection's limit).
func TestCallWaitingForASlotWhenItsConnectionEnds(t *testing.T) {
	h := &Holder{entered: make(chan struct{}, 1), release: make(chan struct{})}
	srv := NewServer(WithLogger(slog.New(slog.DiscardHandler)))
	if err := srv.Register("Holder", h); err != nil {
		t.Fatal(err)
	}
	addr := serveInternal(t, srv)
	proxy, err := faultproxy.New(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	c, err := Dial(context.Background(), proxy.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// Calls that outlived their connections (as the test sets them) hold
	// every connection to one call at a time.
	srv.orphanCalls.Add(maxConnCalls - 1)
	released := false
	release := func() {
		if !released {
			released = true
			close(h.release)
		}
	}
	defer release()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	var held int
	var heldErr error
	wg.Go(func() { heldErr = c.Call(ctx, "Holder.Hold", nil, &held) })
	<-h.entered
	sess := onlySession(t, srv)
	quickCtx, quickCancel := context.WithTimeout(ctx, 5*time.Second)
	defer quickCancel()
	quickDone := make(chan error, 1)
	var quick int
	go func() { quickDone <- c.Call(quickCtx, "Holder.Quick", nil, &quick) }()
	waitRunning(t, sess, 2) // Quick begun, its reader waiting for the slot Hold has

	proxy.Reset() // the connection breaks; the client resumes the session
	if err := <-quickDone; err != nil || quick != 2 {
		t.Fatalf("Quick, resumed while Hold still runs: %d, %v", quick, err)
	}
	release()
	wg.Wait()
	if heldErr != nil || held != 1 {
		t.Fatalf("Hold: %d, %v", held, heldErr)
	}
	waitRunning(t, sess, 0)
	if n := srv.orphanCalls.Add(-(maxConnCalls - 1)); n != 0 {
		t.Errorf("%d calls still counted as outliving their connections", n)
	}
}

// detachedHolding adds n detached sessions to srv, each with one call
// still running, as detach leaves them.
func detachedHolding(srv *Server, n int) []*session {
	var all []*session
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for i := range n {
		sess := &session{srv: srv, cancels: newCancelSet(), orphans: 1, running: 1, detachedAt: time.Now()}
		sess.id[0], sess.id[1] = 0xee, byte(i)
		sess.ctx, sess.cancel = context.WithCancel(context.Background())
		srv.sessions[sess.id] = sess
		srv.detached.push(sess)
		srv.orphanCalls.Add(1)
		srv.detachedCalls.Add(1)
		all = append(all, sess)
	}
	return all
}

// waitSlotFor runs sc's takeSlot, counting running calls in, for d, and
// reports whether it took a slot.
func waitSlotFor(sc *serverConn, d time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	sc.ctx = ctx
	return sc.takeSlot() == nil
}

// A connection waiting at a limit that detached sessions' calls hold down
// evicts one such session for its call, not one every time it looks
// again; and none when the calls of sessions already ended hold the limit
// below what it runs by themselves, since evicting would make no room.
func TestTakeSlotEvictsOnceAndOnlyToMakeRoom(t *testing.T) {
	srv := NewServer(WithLogger(slog.New(slog.DiscardHandler)))
	sessions := detachedHolding(srv, 3)
	sc := &serverConn{srv: srv}
	sc.sched.wake = make(chan struct{}, 1)
	sc.sched.running.Store(int32(srv.connCallLimit())) // at the limit
	if waitSlotFor(sc, 100*time.Millisecond) {
		t.Fatal("a slot was taken at the limit")
	}
	ended := 0
	for _, sess := range sessions {
		if sess.ctx.Err() != nil {
			ended++
		}
	}
	if ended != 1 {
		t.Fatalf("%d of 3 detached sessions evicted for one call, want 1", ended)
	}

	// Ten calls of ended sessions still running, one detached session's:
	// the connection runs more than evicting it would let it.
	srv = NewServer(WithLogger(slog.New(slog.DiscardHandler)))
	sessions = detachedHolding(srv, 1)
	srv.orphanCalls.Add(10)
	sc = &serverConn{srv: srv}
	sc.sched.wake = make(chan struct{}, 1)
	sc.sched.running.Store(maxConnCalls - 10) // above the limit, 4,085
	if waitSlotFor(sc, 50*time.Millisecond) {
		t.Fatal("a slot was taken over the limit")
	}
	if sessions[0].ctx.Err() != nil {
		t.Error("a detached session was evicted though that made no room")
	}
	srv.orphanCalls.Add(-10)
}
