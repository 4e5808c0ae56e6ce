package simplerpc

import (
	"testing"
	"time"
)

// TestSweepWatchesQuickCalls sends calls of a method known to be quick:
// they run in the reader goroutine, watched by the server's sweep and
// not by the connection's takeover timer, and the sweep lets the
// connection go, and stops, once the calls stop.
func TestSweepWatchesQuickCalls(t *testing.T) {
	srv, nc := rawQuickServer(t)
	add := srv.dispatch.lookup([]byte("Q.Add"))
	add.cost.ns.Store(1)
	sc := onlyConn(t, srv)
	// The sweep watches quick calls once the server has many
	// connections: count as many as that, beside the one.
	srv.connCount.Add(int32(sweepFrom * srv.cores))
	defer srv.connCount.Add(-int32(sweepFrom * srv.cores))
	for id := uint64(1); id <= 50; id++ {
		if id%costSampleEvery == 0 {
			continue // a timed call could find Add slow under the race detector
		}
		if _, err := nc.Write(appendCall(nil, id, "Q.Add", []byte{0x82, 0x02, 0x03})); err != nil {
			t.Fatal(err)
		}
		if got, body := readReply(t, nc); got != id || string(body) != "\x81\x05" {
			t.Fatalf("reply %d: % x, want %d: 81 05", got, body, id)
		}
	}
	if sc.sched.inlineCalls.Load() == 0 {
		t.Fatal("no call ran in the reader goroutine")
	}
	if sc.sched.takeover != nil {
		t.Fatal("calls of a quick method made the connection's takeover timer")
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		srv.sweep.mu.Lock()
		listed, armed := len(srv.sweep.conns), srv.sweep.timer != nil
		srv.sweep.mu.Unlock()
		if listed == 0 && !armed && !sc.sched.listed.Load() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("2s after the last call the sweep lists %d connections (armed %v)", listed, armed)
		}
		time.Sleep(time.Millisecond)
	}
}

// With few connections, calls of a quick method are watched by the
// connection's takeover timer, as any call: the sweep lists nothing.
func TestFewConnectionsKeepTheTimer(t *testing.T) {
	srv, nc := rawQuickServer(t)
	add := srv.dispatch.lookup([]byte("Q.Add"))
	add.cost.ns.Store(1)
	sc := onlyConn(t, srv)
	for id := uint64(1); id <= 20; id++ {
		if id%costSampleEvery == 0 {
			continue
		}
		if _, err := nc.Write(appendCall(nil, id, "Q.Add", []byte{0x82, 0x02, 0x03})); err != nil {
			t.Fatal(err)
		}
		if got, _ := readReply(t, nc); got != id {
			t.Fatalf("reply to %d, want %d", got, id)
		}
	}
	if sc.sched.inlineCalls.Load() == 0 {
		t.Fatal("no call ran in the reader goroutine")
	}
	if sc.sched.takeover == nil || sc.sched.listed.Load() {
		t.Fatalf("one connection's quick calls: takeover timer made %v, listed by the sweep %v", sc.sched.takeover != nil, sc.sched.listed.Load())
	}
}

// A listed connection whose reader runs no call at the sweep's look is
// dropped, though it ran calls since the last: one look per call for a
// connection whose calls come one at a time. One whose reader runs a
// call begun since the last look stays listed.
func TestSweepDropsConnectionBetweenCalls(t *testing.T) {
	sc := &serverConn{}
	s := &sc.sched
	s.listed.Store(true)
	s.sweepSeen.Store(0)
	s.inlineCalls.Store(3) // three calls since the last look, none running
	if sc.sweepOne() || s.listed.Load() {
		t.Fatal("a connection between calls stays listed")
	}
	s.listed.Store(true)
	s.inlineCalls.Store(4)
	s.readerState.Store(readerRunning) // a call begun since the last look runs
	if !sc.sweepOne() || !s.listed.Load() {
		t.Fatal("a connection running a call new since the last look was dropped")
	}
	if s.readerState.Load() != readerRunning {
		t.Fatal("a call new since the last look was taken over")
	}
}
