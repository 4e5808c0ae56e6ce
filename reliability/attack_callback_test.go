package reliability_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// Callback abuse (PROTOCOL.md §13) by a client that takes callbacks: it
// never answers, answers with replies as large as the message limit to
// many invocations at once, or answers invocations that do not exist or
// belong to another call or connection.

// Frame kinds and the hello flag of callbacks.
const (
	helloCallbacks    = 1 << 3
	welcomeCallbacks  = 1 << 2
	kindCallback      = 10
	kindCallbackReply = 11
)

// fanRunning counts the Fan and FanBytes calls running.
var fanRunning atomic.Int64

// Fan calls f(i) for i in [0, n) (n at most 256), all at once, and returns
// the sum of what they return, or the first error.
func (v *Victim) Fan(ctx context.Context, n int, f func(context.Context, int) (int, error)) (int, error) {
	fanRunning.Add(1)
	defer fanRunning.Add(-1)
	n = min(max(n, 0), 256)
	var sum atomic.Int64
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := f(ctx, i)
			sum.Add(int64(r))
			errs[i] = err
		})
	}
	wg.Wait()
	return int(sum.Load()), errors.Join(errs...)
}

// FanBytes calls f(i) for i in [0, n) (n at most 256), all at once, and
// returns the total length of what they return.
func (v *Victim) FanBytes(ctx context.Context, n int, f func(context.Context, int) ([]byte, error)) (int, error) {
	fanRunning.Add(1)
	defer fanRunning.Add(-1)
	n = min(max(n, 0), 256)
	var total atomic.Int64
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			b, err := f(ctx, i)
			total.Add(int64(len(b)))
			errs[i] = err
		})
	}
	wg.Wait()
	return int(total.Load()), errors.Join(errs...)
}

// fanCall is a call of method(n, f) with f in slot 0.
func fanCall(id uint64, method string, n int) []byte {
	return callFrame(id, method, 0, cborArray(cborUint(uint64(n)), cborUint(0)))
}

// cbInvocation is a callback frame the server sent.
type cbInvocation struct{ call, inv uint64 }

// cbConn is a raw connection that took callbacks; its reader goroutine
// answers pings, hands callback frames to inv and replies to replies,
// and ends with the connection.
type cbConn struct {
	nc      net.Conn
	wmu     sync.Mutex
	inv     chan cbInvocation
	replies chan rawFrame
	done    chan struct{}
	err     error // why the reader ended; read after done
}

// dialCallbacks opens a connection whose hello asks for callbacks (and a
// session, with sess) and starts its reader.
func (a *attackRun) dialCallbacks(sess bool, buffered int) (*cbConn, error) {
	flags := byte(helloCallbacks)
	if sess {
		flags |= helloSession
	}
	nc, w, err := a.dialHello(net.Dialer{}, "cbor", flags, newSessionID())
	if err != nil {
		return nil, err
	}
	if w.status != 0 || w.flags&welcomeCallbacks == 0 {
		return nil, fmt.Errorf("welcome status %d flags %#x: callbacks not granted", w.status, w.flags)
	}
	_ = nc.SetDeadline(time.Time{})
	c := &cbConn{nc: nc, inv: make(chan cbInvocation, buffered), replies: make(chan rawFrame, 64), done: make(chan struct{})}
	go c.read()
	return c, nil
}

func (c *cbConn) read() {
	defer close(c.done)
	br := bufio.NewReaderSize(c.nc, 64<<10)
	for {
		f, err := readFrame(br)
		if err != nil {
			c.err = err
			return
		}
		switch f.kind {
		case kindPing:
			c.write(frameHeader(0, kindPong, 0, f.id))
		case kindCallback:
			var inv uint64
			if _, n := binary.Uvarint(f.body); n > 0 { // the slot, then the invocation
				inv, _ = binary.Uvarint(f.body[n:])
			}
			select {
			case c.inv <- cbInvocation{call: f.id, inv: inv}:
			default: // more than the test waits for: counted by the channel being full
			}
		case kindReply:
			select {
			case c.replies <- f:
			default:
			}
		}
	}
}

func (c *cbConn) write(bs ...[]byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for _, b := range bs {
		if _, err := c.nc.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// callbackReplyHead is the header and invocation number of a callback
// reply to inv of call, whose results (CBOR) are size bytes after them.
func callbackReplyHead(call, inv uint64, size int) []byte {
	body := binary.AppendUvarint(nil, inv)
	return append(frameHeader(uint32(len(body)+size), kindCallbackReply, 0, call), body...)
}

// intResults is the CBOR results array [n, nil] of a func returning (int, error).
func intResults(n uint64) []byte { return cborArray(cborUint(n), []byte{0xf6}) }

// waitFansEnd waits until no Fan call runs, for at most limit.
func waitFansEnd(limit time.Duration) int64 {
	deadline := time.Now().Add(limit)
	for fanRunning.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return fanRunning.Load()
}

// TestAttackCallbacksNeverAnswered opens, on many connections, calls that
// each ask for 64 invocations, more than the connection's 256, and never
// answers one: the server must send no more than its limit, hold little
// for them, and end every call when the connection closes.
func TestAttackCallbacksNeverAnswered(t *testing.T) {
	conns, calls := attackSize(8, 32), 8
	as := startAttackServer(t, attackSetup{budget: attackBudget()})
	hold := time.Duration(attackSize(1, 5)) * time.Second
	name := fmt.Sprintf("%d connections × %d calls asking for 64 callbacks each, never answered", conns, calls)
	as.attack(t, name, hold+30*time.Second, func(a *attackRun) string {
		var sent []*cbConn
		for range conns {
			c, err := a.dialCallbacks(len(sent)%2 == 0, 1024) // half of them in a session, whose server keeps each callback frame
			if err != nil {
				a.t.Fatal(err)
			}
			sent = append(sent, c)
			for id := range calls {
				if err := c.write(fanCall(uint64(id+1), "Victim.Fan", 64)); err != nil {
					a.t.Fatal(err)
				}
			}
		}
		time.Sleep(hold)
		most, total := 0, 0
		for _, c := range sent {
			n := len(c.inv)
			most, total = max(most, n), total+n
			if n > simplerpc.DefaultCallbacksPerConn {
				a.t.Errorf("a connection was sent %d callbacks, more than the %d a connection may have in flight", n, simplerpc.DefaultCallbacksPerConn)
			}
		}
		running := fanRunning.Load()
		a.closeAll()
		for _, c := range sent {
			<-c.done
		}
		// Without a session the calls end with their connection; in one,
		// they wait for a resume until the session expires or is evicted:
		// those are counted, not failed.
		left := waitFansEnd(3 * time.Second)
		return fmt.Sprintf("%d callbacks sent in all, at most %d to a connection; %d calls running before the close, %d a few seconds after", total, most, running, left)
	})
}

// TestAttackCallbackHugeReplies answers, on a few connections, 256
// invocations at once each with a reply as large as the message limit:
// what the server holds of them must stay within its memory budget,
// which must count them while they wait to be decoded (a reply at least
// is seen counted) and give them all back after.
func TestAttackCallbackHugeReplies(t *testing.T) {
	const limit = 1 << 20
	conns := attackSize(2, 8)
	as := startAttackServer(t, attackSetup{budget: attackBudget(), opts: []simplerpc.ServerOption{simplerpc.WithMaxMessageSize(limit)}})
	const perCall, calls = 64, 4
	size := limit - 16
	// The results [bytes, nil] of exactly size bytes: array head (1),
	// byte string head (5), data, nil (1).
	data := size - 1 - 5 - 1
	payload := append(append(append([]byte{0x82}, cborBytesHead(uint64(data))...), make([]byte, data)...), 0xf6)
	name := fmt.Sprintf("%d connections × %d callbacks answered at once with replies of %s", conns, perCall*calls, byteCount(int64(limit)))
	as.attack(t, name, 120*time.Second, func(a *attackRun) string {
		var wg sync.WaitGroup
		var right, wrong atomic.Int64
		idle := as.srv.Stats().MemoryInUse
		var peak atomic.Int64
		sampled := make(chan struct{})
		stopSampling := make(chan struct{})
		go func() {
			defer close(sampled)
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stopSampling:
					return
				case <-tick.C:
					if n := as.srv.Stats().MemoryInUse - idle; n > peak.Load() {
						peak.Store(n)
					}
				}
			}
		}()
		for range conns {
			c, err := a.dialCallbacks(false, perCall*calls)
			if err != nil {
				a.t.Fatal(err)
			}
			wg.Go(func() {
				for id := range calls {
					if err := c.write(fanCall(uint64(id+1), "Victim.FanBytes", perCall)); err != nil {
						a.t.Error(err)
						return
					}
				}
				var invs []cbInvocation
				for len(invs) < perCall*calls {
					select {
					case iv := <-c.inv:
						invs = append(invs, iv)
					case <-c.done:
						a.t.Errorf("connection ended after %d callbacks: %v", len(invs), c.err)
						return
					case <-a.ctx.Done():
						return
					}
				}
				for _, iv := range invs { // every reply at once
					if err := c.write(callbackReplyHead(iv.call, iv.inv, len(payload)), payload); err != nil {
						if !a.stopped() {
							a.t.Errorf("sending a reply: %v", err)
						}
						return
					}
				}
				for range calls {
					select {
					case r := <-c.replies:
						want := cborUint(uint64(perCall * data))
						if r.flags&flagError == 0 && len(r.body) == 1+len(want) && string(r.body[1:]) == string(want) {
							right.Add(1)
						} else {
							wrong.Add(1)
							a.t.Errorf("call %d: reply flags %d body % x, want [%d]", r.id, r.flags, r.body[:min(len(r.body), 16)], perCall*data)
						}
					case <-c.done:
						a.t.Errorf("connection ended before the replies: %v", c.err)
						return
					case <-a.ctx.Done():
						return
					}
				}
			})
		}
		wg.Wait()
		close(stopSampling)
		<-sampled
		if peak.Load() < limit {
			a.t.Errorf("the memory budget counted at most %s more than before while replies of %s were read: the replies are not counted", byteCount(peak.Load()), byteCount(limit))
		}
		// Every reply decoded, the budget is given back.
		left := as.srv.Stats().MemoryInUse - idle
		for deadline := time.Now().Add(5 * time.Second); left > limit && time.Now().Before(deadline); left = as.srv.Stats().MemoryInUse - idle {
			time.Sleep(10 * time.Millisecond)
		}
		if left > limit {
			a.t.Errorf("the memory budget still counts %s more than before the attack, its calls answered", byteCount(left))
		}
		return fmt.Sprintf("%d calls answered with the right total, %d wrong; at most %s of the budget counted for the replies", right.Load(), wrong.Load(), byteCount(peak.Load()))
	})
}

// cbMalformed matches the log line of a connection closed for a callback
// reply without an invocation number.
var cbMalformed = regexp.MustCompile(`callback reply.*|no invocation number`)

// TestAttackCallbackStrayReplies answers invocations that do not exist,
// under the id of another call, and under the id of another connection's
// call: each must be dropped, the calls they aim at answered with what
// their own client sent, and a reply without an invocation number must
// close its connection with a logged reason.
func TestAttackCallbackStrayReplies(t *testing.T) {
	as := startAttackServer(t, attackSetup{})
	stray := attackSize(10000, 100000)
	name := fmt.Sprintf("%d stray callback replies: unknown invocations, another call's id, another connection's call", stray)
	as.attack(t, name, 60*time.Second, func(a *attackRun) string {
		victim, err := a.dialCallbacks(false, 4)
		if err != nil {
			a.t.Fatal(err)
		}
		other, err := a.dialCallbacks(false, 4)
		if err != nil {
			a.t.Fatal(err)
		}
		// The victim's call 1 asks for one callback; its call 2 runs
		// without one. The other connection's call 5 asks for one too.
		if err := victim.write(fanCall(1, "Victim.Fan", 1), callFrame(2, "Victim.Slow", 0, cborArray(cborUint(300)))); err != nil {
			a.t.Fatal(err)
		}
		if err := other.write(fanCall(5, "Victim.Fan", 1)); err != nil {
			a.t.Fatal(err)
		}
		var iv, oiv cbInvocation
		for _, w := range []struct {
			c  *cbConn
			to *cbInvocation
		}{{victim, &iv}, {other, &oiv}} {
			select {
			case *w.to = <-w.c.inv:
			case <-time.After(5 * time.Second):
				a.t.Fatal("no callback came")
			}
		}
		// The stray replies: from the other connection to the victim's
		// invocation (same call id, same number), and on the victim's own
		// connection for invocations that do not exist, for call 2, for
		// no call.
		bad := intResults(666)
		var buf []byte
		for i := range stray {
			var id, inv uint64
			switch i % 3 {
			case 0:
				id, inv = iv.call, iv.inv+1+uint64(i)
			case 1:
				id, inv = 2, iv.inv
			case 2:
				id, inv = 99, iv.inv
			}
			buf = append(append(buf, callbackReplyHead(id, inv, len(bad))...), bad...)
		}
		if err := other.write(callbackReplyHead(iv.call, iv.inv, len(bad)), bad); err != nil {
			a.t.Fatal(err)
		}
		if err := victim.write(buf); err != nil {
			a.t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		good := intResults(7)
		if err := victim.write(callbackReplyHead(iv.call, iv.inv, len(good)), good); err != nil {
			a.t.Fatal(err)
		}
		got := map[uint64]string{}
		for len(got) < 2 {
			select {
			case r := <-victim.replies:
				got[r.id] = fmt.Sprintf("% x", r.body)
			case <-victim.done:
				a.t.Fatalf("the victim's connection ended: %v", victim.err)
			case <-time.After(10 * time.Second):
				a.t.Fatalf("replies: got %v, want calls 1 and 2", got)
			}
		}
		if want := fmt.Sprintf("% x", cborArray(cborUint(7))); got[1] != want {
			a.t.Errorf("the victim's call 1 returned %s, want %s (7, from its own reply)", got[1], want)
		}
		if want := fmt.Sprintf("% x", cborArray()); got[2] != want {
			a.t.Errorf("the victim's call 2 returned %s, want %s", got[2], want)
		}
		// The other connection's call still waits for its own reply, and
		// takes it.
		if err := other.write(callbackReplyHead(oiv.call, oiv.inv, len(good)), good); err != nil {
			a.t.Fatal(err)
		}
		select {
		case r := <-other.replies:
			if want := fmt.Sprintf("% x", cborArray(cborUint(7))); fmt.Sprintf("% x", r.body) != want {
				a.t.Errorf("the other connection's call returned % x, want %s", r.body, want)
			}
		case <-time.After(10 * time.Second):
			a.t.Error("the other connection's call got no reply")
		}
		// A reply without an invocation number is a violation.
		mark := as.logs.count()
		if err := other.write(frameHeader(0, kindCallbackReply, 0, 5)); err != nil {
			a.t.Fatal(err)
		}
		how, _, err := awaitClose(other.nc, 5*time.Second)
		if err != nil {
			a.t.Error(err)
		}
		<-other.done
		time.Sleep(50 * time.Millisecond)
		logged := as.logs.matching(mark, cbMalformed)
		if logged == 0 {
			a.t.Errorf("no log line for the malformed callback reply; logged: %q", as.logs.since(mark))
		}
		return fmt.Sprintf("call 1 answered %s, call 2 %s; a reply without an invocation number: %s, %d log line(s)", got[1], got[2], how, logged)
	})
}
