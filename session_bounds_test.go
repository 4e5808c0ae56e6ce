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
