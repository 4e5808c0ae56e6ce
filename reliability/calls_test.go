package reliability_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simplerpc/simplerpc"
)

// callLog records, for every call a test makes, how many times Call
// returned and with what.
type callLog struct {
	mu    sync.Mutex
	calls map[string]*callRecord
}

// callRecord is one call as its caller saw it.
type callRecord struct {
	returns int
	result  string
	err     error
	timeout time.Duration // the call's deadline, from its start
	elapsed time.Duration // from the start to the (last) return
}

func newCallLog() *callLog { return &callLog{calls: make(map[string]*callRecord)} }

func (cl *callLog) begin(token string, timeout time.Duration) {
	cl.mu.Lock()
	cl.calls[token] = &callRecord{timeout: timeout}
	cl.mu.Unlock()
}

func (cl *callLog) end(token, result string, err error, elapsed time.Duration) {
	cl.mu.Lock()
	r := cl.calls[token]
	r.returns++
	r.result, r.err, r.elapsed = result, err, elapsed
	cl.mu.Unlock()
}

// take returns the records of the tokens with the given prefix and
// forgets them.
func (cl *callLog) take(prefix string) map[string]callRecord {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	out := make(map[string]callRecord)
	for tok, r := range cl.calls {
		if strings.HasPrefix(tok, prefix) {
			out[tok] = *r
			delete(cl.calls, tok)
		}
	}
	return out
}

// callDo makes one Work.Do call with a fresh token and records it.
func callDo(c *simplerpc.Client, log *callLog, token string, holdMs int, timeout time.Duration) error {
	log.begin(token, timeout)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	var got string
	err := c.Call(ctx, "Work.Do", []any{token, holdMs}, &got)
	cancel()
	log.end(token, got, err, time.Since(start))
	return err
}

// workload is a set of goroutines calling Work.Do in a loop, each call
// with a unique token "<prefix><epoch>/<worker>/<seq>".
type workload struct {
	prefix  string
	epoch   atomic.Int64 // advanced by long runs, to judge calls in batches
	log     *callLog
	timeout time.Duration
	maxHold int // each call holds 0..maxHold ms on the server

	stop    chan struct{}
	wg      sync.WaitGroup
	running atomic.Int64 // calls started and not returned
}

// startWorkload starts perClient workers on each client.
func startWorkload(prefix string, log *callLog, clients []*simplerpc.Client, perClient int, timeout time.Duration, maxHold int) *workload {
	w := &workload{prefix: prefix, log: log, timeout: timeout, maxHold: maxHold, stop: make(chan struct{})}
	n := 0
	for _, c := range clients {
		for range perClient {
			id := n
			n++
			w.wg.Go(func() { w.loop(c, id) })
		}
	}
	return w
}

func (w *workload) loop(c *simplerpc.Client, id int) {
	for seq := 0; ; seq++ {
		select {
		case <-w.stop:
			return
		default:
		}
		hold := 0
		if w.maxHold > 0 {
			hold = (id*7 + seq*13) % (w.maxHold + 1)
		}
		w.running.Add(1)
		_ = callDo(c, w.log, fmt.Sprintf("%s%d/%d/%d", w.prefix, w.epoch.Load(), id, seq), hold, w.timeout)
		w.running.Add(-1)
	}
}

// finish stops the workers and waits for their calls to return, up to
// limit. It reports how many calls had not returned by then.
func (w *workload) finish(limit time.Duration) int64 {
	close(w.stop)
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
		return 0
	case <-time.After(limit):
		return w.running.Load()
	}
}
