package reliability_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// Attacks 2, 3, 4, 7 and 8: making the server hold memory or calls for
// clients that are gone, never read, or never acknowledge.

// ciBudget is the memory budget of the servers the short forms attack, so
// that few sessions exceed it; the full forms attack the default budget.
const ciBudget = 64 << 20

// attackBudget is the budget of a server under a memory attack.
func attackBudget() int { return attackSize(ciBudget, 0) }

// TestAttackAbandonedSessions opens sessions that each ask for replies and
// close without reading them, and expects the heap to stay bounded, the
// sessions detached the longest to be evicted, and the well-behaved
// clients to see no failure.
func TestAttackAbandonedSessions(t *testing.T) {
	t.Run("1 MiB replies", func(t *testing.T) {
		sessions := attackSize(8, 120)
		as := startAttackServer(t, attackSetup{budget: attackBudget()})
		as.attack(t, fmt.Sprintf("abandoned sessions: %d × 60 calls to the 1 MiB method", sessions), 60*time.Second, func(a *attackRun) string {
			return abandonSessions(a, sessions, 60, false, func(id uint64) []byte { return callFrame(id, "Victim.Big", 0, cborArray()) })
		})
	})
	t.Run("small replies", func(t *testing.T) {
		sessions, calls := attackSize(24, 400), attackSize(4000, 8000)
		as := startAttackServer(t, attackSetup{budget: attackSize(16<<20, 0)})
		as.attack(t, fmt.Sprintf("abandoned sessions: %d × %d calls to Add", sessions, calls), 120*time.Second, func(a *attackRun) string {
			return abandonSessions(a, sessions, calls, true, func(id uint64) []byte { return addCall(id, id, 1) })
		})
	})
}

// abandonSessions opens sessions one after another, each sending calls
// frames in one write and closing without acknowledging a reply; then it
// checks that the oldest session was evicted. With drain it reads the
// replies first (the server cannot tell a reply read from one unread
// until an ack says so), to know the server answered every call before
// the close; without, it closes at once, its replies unread.
func abandonSessions(a *attackRun, sessions, calls int, drain bool, frame func(id uint64) []byte) string {
	t := a.t
	ids := make([]sessionID, 0, sessions)
	for range sessions {
		if a.stopped() {
			break
		}
		sid := newSessionID()
		nc, w, err := a.dialHello(net.Dialer{Control: smallReceiveBuffer}, "cbor", helloSession, sid)
		if err != nil || w.status != 0 {
			t.Errorf("session %d: hello: %v, status %d", len(ids)+1, err, w.status)
			break
		}
		ids = append(ids, sid)
		if _, err := nc.Write(repeatFrames(calls, func(i int) []byte { return frame(uint64(i + 1)) })); err != nil {
			t.Logf("session %d: sending the calls: %v", len(ids), err)
		}
		if drain {
			fr := newFastReader(nc)
			for i := range calls {
				if _, err := fr.nextReply(time.Now().Add(10 * time.Second)); err != nil {
					t.Errorf("session %d: reply %d: %v", len(ids), i+1, err)
					break
				}
			}
		} else {
			time.Sleep(20 * time.Millisecond) // the server reads them
		}
		nc.Close()
	}
	time.Sleep(500 * time.Millisecond) // the last calls finish
	if len(ids) == 0 {
		return "no session opened"
	}
	// The oldest session must be gone; the newest may still be there.
	oldest, newest := probeSession(a, ids[0]), probeSession(a, ids[len(ids)-1])
	if oldest {
		t.Errorf("the oldest of %d abandoned sessions can still be resumed: not evicted", len(ids))
	}
	return fmt.Sprintf("%d sessions opened; the oldest resumable %v, the newest %v", len(ids), oldest, newest)
}

// probeSession reports whether the server resumes the session sid.
func probeSession(a *attackRun, sid sessionID) bool {
	nc, w, err := a.dialHello(net.Dialer{Control: smallReceiveBuffer}, "cbor", helloSession|helloResume, sid)
	if err != nil {
		a.t.Logf("probing a session: %v", err)
		return false
	}
	nc.Close()
	return w.resumed()
}

// TestAttackNeverReads sends 4,096 calls to the 1 MiB method in one write
// on one connection and never reads: the server must stop reading it
// before its replies exceed the memory budget.
func TestAttackNeverReads(t *testing.T) {
	as := startAttackServer(t, attackSetup{budget: attackBudget()})
	hold := time.Duration(attackSize(2, 10)) * time.Second
	as.attack(t, "one connection, 4,096 calls to the 1 MiB method, never read", hold+30*time.Second, func(a *attackRun) string {
		nc, err := a.dialRaw(net.Dialer{Control: smallReceiveBuffer}, "cbor")
		if err != nil {
			a.t.Fatal(err)
		}
		start := time.Now()
		if _, err := nc.Write(repeatFrames(4096, func(i int) []byte { return callFrame(uint64(i+1), "Victim.Big", 0, cborArray()) })); err != nil {
			return fmt.Sprintf("sending the calls failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
		}
		if waitWriteFails(nc, frameHeader(0, kindPing, 0, 1), start.Add(hold)) && !a.stopped() {
			return fmt.Sprintf("closed by the server after %v", time.Since(start).Round(time.Millisecond))
		}
		return fmt.Sprintf("held for %v", time.Since(start).Round(time.Millisecond))
	})
}

// TestAttackCallsOutliveConnection opens sessions that each start 4,096
// slow calls and close: the calls of sessions nobody resumes must not pile
// up, nor crowd out the well-behaved clients.
func TestAttackCallsOutliveConnection(t *testing.T) {
	// The race detector allows 8,128 goroutines: under it, one session
	// at a time without a limit.
	sessions := attackSize(1, 8)
	if raceEnabled {
		sessions = 1
	}
	t.Run("no call limit", func(t *testing.T) {
		as := startAttackServer(t, attackSetup{budget: attackBudget()})
		as.attack(t, fmt.Sprintf("calls outliving their connection: %d × 4,096 slow calls", sessions), 60*time.Second, func(a *attackRun) string {
			return outliveSessions(a, sessions, 2*4096)
		})
	})
	t.Run("WithMaxConcurrentCalls(1000)", func(t *testing.T) {
		n := attackSize(3, 8)
		as := startAttackServer(t, attackSetup{budget: attackBudget(), opts: []simplerpc.ServerOption{simplerpc.WithMaxConcurrentCalls(1000)}})
		as.attack(t, fmt.Sprintf("calls outliving their connection: %d × 4,096 slow calls, at most 1,000 running", n), 60*time.Second, func(a *attackRun) string {
			return outliveSessions(a, n, 1000)
		})
	})
}

// outliveSessions opens sessions one after another, each sending 4,096
// calls to the slow method and closing, and checks that the calls running
// stay within bound.
func outliveSessions(a *attackRun, sessions int, bound int64) string {
	t := a.t
	v := a.as.victim
	v.peakRunning.Store(0)
	for i := range sessions {
		if a.stopped() {
			break
		}
		nc, w, err := a.dialHello(net.Dialer{}, "cbor", helloSession, newSessionID())
		if err != nil || w.status != 0 {
			t.Errorf("session %d: hello: %v, status %d", i+1, err, w.status)
			break
		}
		frames := repeatFrames(4096, func(i int) []byte {
			return callFrame(uint64(i+1), "Victim.Slow", 0, cborArray(cborUint(uint64(slowMax/time.Millisecond))))
		})
		if _, err := nc.Write(frames); err != nil {
			t.Logf("session %d: sending the calls: %v", i+1, err)
		}
		time.Sleep(300 * time.Millisecond) // the server starts them
		nc.Close()
	}
	time.Sleep(time.Second) // the well-behaved clients call while the calls run on
	peak, left := v.peakRunning.Load(), v.running.Load()
	if peak > bound {
		t.Errorf("%d slow calls ran at once, more than %d", peak, bound)
	}
	return fmt.Sprintf("at most %d slow calls ran at once; %d still running a second after the last close", peak, left)
}

// TestAttackEmptyAcks makes 200,000 calls on one session, acknowledging
// them with acks without a body (which carry only an id): the server's
// memory must not grow with the count.
func TestAttackEmptyAcks(t *testing.T) {
	as := startAttackServer(t, attackSetup{budget: attackBudget()})
	total := attackSize(200_000, 1_000_000)
	as.attack(t, fmt.Sprintf("%d calls acknowledged by acks with an empty body", total), 120*time.Second, func(a *attackRun) string {
		nc, w, err := a.dialHello(net.Dialer{}, "cbor", helloSession, newSessionID())
		if err != nil || w.status != 0 {
			a.t.Fatalf("hello: %v, status %d", err, w.status)
		}
		const warm = 20_000
		var atWarm uint64
		n, err := ackedCalls(nc, total, func(settled uint64) []byte {
			if settled >= warm && atWarm == 0 {
				atWarm = settledHeap()
			}
			return ackFrame(settled, -1)
		})
		if err != nil {
			a.t.Fatalf("after %d calls: %v", n, err)
		}
		end := settledHeap()
		if growth := int64(end) - int64(atWarm); growth > 2<<20 {
			a.t.Errorf("heap in use grew by %s from call %d to call %d, with the connection open", mib(uint64(growth)), warm, n)
		}
		return fmt.Sprintf("heap in use %s after %d calls, %s after %d", mib(atWarm), warm, mib(end), n)
	})
}

// ackedCalls makes total calls to Add on nc, up to four batches of 128 in
// flight, and after each batch of replies sends ack(settled): every call
// up to settled is answered. It returns the calls answered.
func ackedCalls(nc net.Conn, total int, ack func(settled uint64) []byte) (int, error) {
	const batch, window = 128, 4
	total = (total + batch - 1) / batch * batch
	credit := make(chan struct{}, window)
	for range window {
		credit <- struct{}{}
	}
	frames := newAddBatch(batch)
	werr := make(chan error, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for id := uint64(1); id <= uint64(total); id += batch {
			select {
			case <-credit:
			case <-stop:
				werr <- nil
				return
			}
			if _, err := nc.Write(frames.next(id)); err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}()
	fr := newFastReader(nc)
	answered := make(map[uint64]bool, batch*window)
	var settled uint64
	for n := 1; n <= total; n++ {
		id, err := fr.nextReply(time.Now().Add(10 * time.Second))
		if err != nil {
			nc.Close()
			if werr := <-werr; werr != nil {
				err = fmt.Errorf("%w (sending: %w)", err, werr)
			}
			return n - 1, err
		}
		answered[id] = true
		for answered[settled+1] {
			delete(answered, settled+1)
			settled++
		}
		if n%batch == 0 {
			if _, err := nc.Write(ack(settled)); err != nil {
				return n, err
			}
			credit <- struct{}{}
		}
	}
	return total, <-werr
}

// TestAttackSessionPastItsLimit pushes sessions past the 8,192 calls a
// session remembers, never acknowledging a reply: the server must forget
// them, the heap coming back to where it was once they close.
func TestAttackSessionPastItsLimit(t *testing.T) {
	as := startAttackServer(t, attackSetup{budget: attackBudget()})
	sessions := attackSize(4, 32)
	row := as.attack(t, fmt.Sprintf("%d sessions × 8,704 calls never acknowledged", sessions), 120*time.Second, func(a *attackRun) string {
		var ids []sessionID
		for range sessions {
			sid := newSessionID()
			nc, w, err := a.dialHello(net.Dialer{}, "cbor", helloSession, sid)
			if err != nil || w.status != 0 {
				a.t.Fatalf("hello: %v, status %d", err, w.status)
			}
			ids = append(ids, sid)
			fr := &frameReader{nc: nc}
			const batch = 512
			for id := uint64(0); id < 8192+512; id += batch {
				first := id + 1
				if _, err := nc.Write(repeatFrames(batch, func(i int) []byte { return addCall(first+uint64(i), 1, 2) })); err != nil {
					a.t.Fatalf("after %d calls: %v", id, err)
				}
				for range batch {
					if _, err := fr.next(time.Now().Add(10 * time.Second)); err != nil {
						a.t.Fatalf("after %d calls, reading a reply: %v", id, err)
					}
				}
			}
			nc.Close()
		}
		resumable := 0
		for _, sid := range ids {
			if probeSession(a, sid) {
				resumable++
			}
		}
		if resumable > 0 {
			a.t.Errorf("%d of %d sessions past their limit can still be resumed", resumable, len(ids))
		}
		return fmt.Sprintf("%d of %d sessions resumable afterwards", resumable, len(ids))
	})
	if row.after > row.before+8<<20 {
		t.Errorf("heap in use %s after the sessions closed, %s before", mib(row.after), mib(row.before))
	}
}

// dialRaw opens a connection and completes a hello without a session.
func (a *attackRun) dialRaw(d net.Dialer, codec string) (net.Conn, error) {
	nc, w, err := a.dialHello(d, codec, 0, sessionID{})
	if err == nil && w.status != 0 {
		err = fmt.Errorf("welcome status %d", w.status)
	}
	return nc, err
}
