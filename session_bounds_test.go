package simplerpc_test

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// ackFrame is an ack of every id up to id, with no count of frames read
// (the body is optional).
func ackFrame(id uint64) []byte {
	return wire.AppendHeader(nil, wire.Header{Kind: wire.KindAck, ID: id})
}

// TestEmptyAcksReleaseWhatTheServerKeeps checks that a client whose acks
// carry no count of frames read still lets the server forget the replies
// it acknowledged: its memory does not grow with the calls made.
func TestEmptyAcksReleaseWhatTheServerKeeps(t *testing.T) {
	ts := startServer(t)
	nc := rawSession(t, ts.addr, [16]byte{9})
	const batches, perBatch = 200, 50 // 10,000 calls
	id := uint64(0)
	for range batches {
		var out []byte
		for range perBatch {
			id++
			out = append(out, callBytes(t, id, "Calc.Add", 1, 2)...)
		}
		_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := nc.Write(out); err != nil {
			t.Fatal(err)
		}
		for range perBatch {
			readReply(t, nc)
		}
		if _, err := nc.Write(ackFrame(id)); err != nil {
			t.Fatal(err)
		}
	}
	// The server sweeps one ack in 16: at most that many batches' replies
	// may still be listed.
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, _, listed := simplerpc.SessionStats(ts.srv)
		if listed <= 17*perBatch {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d calls, all acknowledged, the connection still lists %d replies as kept", id, listed)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSessionOverItsBoundsIsForgotten checks that a session pushed past
// the calls it may remember is removed from the server once its
// connection closes, rather than kept forever.
func TestSessionOverItsBoundsIsForgotten(t *testing.T) {
	ts := startServer(t)
	nc := rawSession(t, ts.addr, [16]byte{10})
	const calls = 8192 + 100 // past maxSessionCalls, never acknowledged
	var out []byte
	for id := uint64(1); id <= calls; id++ {
		out = append(out, callBytes(t, id, "Calc.Add", 1, 2)...)
	}
	go func() { _, _ = nc.Write(out) }()
	for range calls {
		readReply(t, nc)
	}
	nc.Close()
	deadline := time.Now().Add(3 * time.Second)
	for {
		n, _, _ := simplerpc.SessionStats(ts.srv)
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions held after the session over its bounds closed", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAbandonedSessionsStayInTheBudget opens sessions that make calls
// with large replies and leave without reading them, past the server's
// memory budget, beside a well-behaved client: the server evicts the
// sessions detached the longest, the budget in use stays near its limit,
// and the well-behaved client's calls all succeed.
func TestAbandonedSessionsStayInTheBudget(t *testing.T) {
	const budget = 16 << 20
	ts := startServer(t, simplerpc.WithMemoryBudget(budget), simplerpc.WithMaxMessageSize(1<<20))
	good := dial(t, ts.addr)
	var peak int64
	for s := range 24 { // 24 sessions × 3 × 512 KiB kept = 36 MiB
		nc := rawSession(t, ts.addr, [16]byte{11, byte(s)})
		var out []byte
		for id := uint64(1); id <= 3; id++ {
			out = append(out, callBytes(t, id, "Calc.Echo", bytes.Repeat([]byte{'x'}, 512<<10))...)
		}
		if _, err := nc.Write(out); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // the calls run
		nc.(*net.TCPConn).SetLinger(0)
		nc.Close()
		var n int
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := good.Call(ctx, "Calc.Add", []any{40, 2}, &n); err != nil || n != 42 {
			t.Fatalf("well-behaved call after %d abandoned sessions: %d, %v", s+1, n, err)
		}
		cancel()
		peak = max(peak, simplerpc.BudgetInUse(ts.srv))
	}
	// What is in use may pass the limit by what the calls admitted last
	// hold: here a few replies of 512 KiB.
	if limit := int64(budget + 4<<20); peak > limit {
		t.Errorf("budget in use peaked at %d bytes; limit %d", peak, int64(budget))
	}
	t.Logf("budget in use peaked at %.1f MiB (limit %d MiB)", float64(peak)/(1<<20), budget>>20)
	sessions, detached, _ := simplerpc.SessionStats(ts.srv)
	if detached >= 24 {
		t.Errorf("all %d abandoned sessions still held (%d sessions in all): none was evicted", detached, sessions)
	}
}

// TestNeverReadingConnectionStaysInItsShare sends many calls with large
// replies on one connection that never reads: the server stops reading
// it once it holds its share of the budget, instead of running every
// call and holding every reply.
func TestNeverReadingConnectionStaysInItsShare(t *testing.T) {
	const budget, maxMsg = 64 << 20, 1 << 20 // a connection's share: 8 MiB
	ts := startServer(t, simplerpc.WithMemoryBudget(budget), simplerpc.WithMaxMessageSize(maxMsg))
	good := dial(t, ts.addr)
	nc := rawSessionWith(t, ts.addr, [16]byte{12}, func(c *net.TCPConn) { _ = c.SetReadBuffer(4 << 10) })
	var out []byte
	for id := uint64(1); id <= 1024; id++ { // 1 GiB of replies
		out = append(out, callBytes(t, id, "Calc.Zeros", 512<<10)...)
	}
	go func() { _, _ = nc.Write(out) }()
	var peak int64
	for range 50 {
		time.Sleep(10 * time.Millisecond)
		peak = max(peak, simplerpc.BudgetInUse(ts.srv))
		var n int
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := good.Call(ctx, "Calc.Add", []any{40, 2}, &n); err != nil || n != 42 {
			t.Fatalf("well-behaved call beside the connection that never reads: %d, %v", n, err)
		}
		cancel()
	}
	t.Logf("budget in use peaked at %.1f MiB (limit %d MiB)", float64(peak)/(1<<20), budget>>20)
	// Its share (8 MiB) of calls running, the replies written and kept
	// for its session (16 MiB, twice the backlog limit), and those
	// queued (up to the backlog limit, 8 MiB), with those being built:
	// within the budget.
	if limit := int64(budget); peak > limit {
		t.Errorf("a connection that never reads made the budget hold %d bytes; want at most %d", peak, limit)
	}
}

// TestClientGoneWhileWaitingForRoomDetaches closes a session's
// connection while the server has stopped reading it, its share of the
// budget held by calls still running: the server must notice the client
// gone and detach the session (so that it can be evicted) long before
// those calls end, not leave it attached to a connection no one reads.
func TestClientGoneWhileWaitingForRoomDetaches(t *testing.T) {
	const budget, maxMsg = 16 << 20, 1 << 20 // a connection's share: 2 MiB
	ts := startServer(t, simplerpc.WithMemoryBudget(budget), simplerpc.WithMaxMessageSize(maxMsg), simplerpc.WithMaxConcurrentCalls(5000))
	nc := rawSession(t, ts.addr, [16]byte{14})
	var out []byte
	for id := uint64(1); id <= 3000; id++ { // 2 KiB or more each: over the share
		out = append(out, callBytes(t, id, "Calc.Sleep", int64(time.Minute))...)
	}
	if _, err := nc.Write(out); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for simplerpc.ReadersWaitingForRoom(ts.srv) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if simplerpc.ReadersWaitingForRoom(ts.srv) == 0 {
		t.Fatal("the server never stopped reading the connection over its share")
	}
	nc.Close()
	closed := time.Now()
	for time.Now().Before(closed.Add(5 * time.Second)) {
		if _, detached, _ := simplerpc.SessionStats(ts.srv); detached == 1 {
			t.Logf("detached %v after the client closed", time.Since(closed).Round(time.Millisecond))
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("5 s after its client closed, the session is still attached to the connection the server waits to read")
}

// TestCallsOutlivingTheirConnectionAreBounded leaves sessions whose
// connections close with thousands of slow calls running, more than the
// server lets outlive their connections: the oldest sessions are evicted
// and their calls canceled, and a well-behaved client's calls are not
// refused, even with a limit on concurrent calls that the abandoned
// calls would fill.
func TestCallsOutlivingTheirConnectionAreBounded(t *testing.T) {
	ts := startServer(t, simplerpc.WithMaxConcurrentCalls(5000))
	good := dial(t, ts.addr)
	// A first call tells the server how small Sleep's replies are, so
	// that it reserves little for each of the calls below.
	if err := good.Call(context.Background(), "Calc.Sleep", []any{time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	for s := range 3 {
		nc := rawSession(t, ts.addr, [16]byte{13, byte(s)})
		before := simplerpc.ActiveCalls(ts.srv)
		var out []byte
		for id := uint64(1); id <= 2000; id++ {
			out = append(out, callBytes(t, id, "Calc.Sleep", int64(3*time.Second))...)
		}
		if _, err := nc.Write(out); err != nil {
			t.Fatal(err)
		}
		// (The third session's last calls pass the concurrency limit:
		// they are refused once the oldest session is gone.)
		deadline := time.Now().Add(2 * time.Second)
		for simplerpc.ActiveCalls(ts.srv) < before+2000 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		nc.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for simplerpc.OrphanCalls(ts.srv) > 4096 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := simplerpc.OrphanCalls(ts.srv); n > 4096 {
		t.Fatalf("%d calls still run for sessions whose connection is gone; want at most 4096", n)
	}
	var n int
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := good.Call(ctx, "Calc.Add", []any{40, 2}, &n); err != nil || n != 42 {
		t.Fatalf("well-behaved call: %d, %v", n, err)
	}
}
