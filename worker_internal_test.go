package simplerpc

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestWorkerPoolReusesAndRetires checks that call goroutines are kept
// idle after their tasks, reused last-in first-out, retired once idle
// through a whole turn of the trim timer, and all gone after close.
func TestWorkerPoolReusesAndRetires(t *testing.T) {
	var mu sync.Mutex
	gates := map[uint64]chan struct{}{}
	gate := func(id uint64) chan struct{} {
		mu.Lock()
		defer mu.Unlock()
		if gates[id] == nil {
			gates[id] = make(chan struct{})
		}
		return gates[id]
	}
	p := &workerPool{run: func(t task) { <-gate(t.id) }}
	idle := func() []*worker {
		p.mu.Lock()
		defer p.mu.Unlock()
		return append([]*worker(nil), p.idle...)
	}
	waitIdle := func(n int) []*worker {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if w := idle(); len(w) == n {
				return w
			}
		}
		t.Fatalf("want %d idle goroutines, have %d", n, len(idle()))
		return nil
	}
	p.start(task{id: 1})
	p.start(task{id: 2})
	close(gate(1))
	waitIdle(1)
	close(gate(2))
	parked := waitIdle(2)
	// The goroutine that parked last takes the next task.
	p.start(task{id: 3})
	if w := idle(); len(w) != 1 || w[0] != parked[0] {
		t.Fatalf("after a new task the idle stack is %v, want the bottom of %v", w, parked)
	}
	close(gate(3))
	waitIdle(2)
	// One turn of the timer marks them; the next retires them.
	p.retire()
	if len(idle()) != 2 {
		t.Fatal("goroutines idle for less than a turn were retired")
	}
	p.retire()
	if len(idle()) != 0 {
		t.Fatal("goroutines idle for a whole turn were kept")
	}
	p.start(task{id: 4}) // a new goroutine
	close(gate(4))
	waitIdle(1)
	p.close(true) // returns once every goroutine has exited
	if len(idle()) != 0 {
		t.Error("closed pool keeps idle goroutines")
	}
}

// TestCallSlotsBound checks that a connection's reader waits at
// maxConnCalls running calls until one ends, and stops waiting when the
// connection ends.
func TestCallSlotsBound(t *testing.T) {
	sc := slotConn(t, NewServer())
	for range maxConnCalls {
		if err := sc.takeSlot(); err != nil {
			t.Fatal(err)
		}
	}
	took := make(chan error, 1)
	go func() { took <- sc.takeSlot() }()
	select {
	case err := <-took:
		t.Fatalf("a slot past the bound was taken: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	sc.sched.leave()
	if err := <-took; err != nil {
		t.Fatal(err)
	}
	if n := sc.sched.running.Load(); n != maxConnCalls {
		t.Fatalf("%d calls counted running, want %d", n, maxConnCalls)
	}
	go func() { took <- sc.takeSlot() }()
	sc.cancel()
	if err := <-took; err == nil {
		t.Fatal("a reader waiting for a slot was not released when the connection ended")
	}
}

// TestCallSlotsMakeRoomForOrphans checks that a connection may run as
// many fewer calls as there are calls outliving their connections, and
// as many again once they return.
func TestCallSlotsMakeRoomForOrphans(t *testing.T) {
	srv := NewServer()
	sc := slotConn(t, srv)
	srv.orphanCalls.Store(maxConnCalls - 10) // 10 calls left for a connection
	for range 10 {
		if err := sc.takeSlot(); err != nil {
			t.Fatal(err)
		}
	}
	took := make(chan error, 1)
	go func() { took <- sc.takeSlot() }()
	select {
	case err := <-took:
		t.Fatalf("an 11th call ran with room for 10: %v", err)
	case <-time.After(3 * roomPoll):
	}
	srv.orphanCalls.Store(0) // the canceled calls returned
	select {
	case err := <-took:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the limit did not rise again when the calls outliving their connections returned")
	}
	srv.orphanCalls.Store(2 * maxConnCalls) // far over: still one call each
	if got := srv.connCallLimit(); got != 1 {
		t.Fatalf("limit %d far over the bound, want 1", got)
	}
}

// slotConn returns a connection of srv with just what takeSlot and
// freeSlot use, ended with the test.
func slotConn(t *testing.T, srv *Server) *serverConn {
	sc := &serverConn{srv: srv}
	sc.sched.wake = make(chan struct{}, 1)
	sc.ctx, sc.cancel = context.WithCancel(context.Background())
	t.Cleanup(sc.cancel)
	return sc
}
