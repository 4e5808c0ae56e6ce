package simplerpc

import (
	"context"
	"reflect"
	"sync"
	"time"
)

// workerIdle is how long a call goroutine may stay idle before it exits
// (between one and two of these, as the pool is trimmed on a timer).
const workerIdle = 5 * time.Second

// task is one accepted call, ready to run.
type task struct {
	sc     *serverConn
	id     uint64
	m      *method
	ctx    context.Context
	cancel context.CancelFunc
	args   []reflect.Value
	// reserve is what the call holds of the memory budget until its reply
	// is built (serverConn.reserve).
	reserve int64
	// stream is the call's stream, if it opens one.
	stream *serverStream
}

// workerPool keeps call goroutines between calls, so that a call spares
// creating one and growing its stack again for the reflective call;
// still, no two calls ever share a goroutine at the same time. Idle
// goroutines form a stack: the one that ran last runs next, its stack
// still in the cache, and those at the bottom, idle the longest, are the
// ones a timer retires.
//
// Locks: mu guards idle, gen, trim and closed, and is a leaf (a task is
// handed to a goroutine after it is released; under it a retired
// goroutine's channel is only closed); wg counts the goroutines.
type workerPool struct {
	run func(task)     // what the goroutines do with a task
	wg  sync.WaitGroup // call goroutines

	mu     sync.Mutex
	idle   []*worker
	gen    uint64      // turns of the trim timer
	trim   *time.Timer // armed while goroutines are idle
	closed bool
}

// worker is an idle call goroutine's mailbox.
type worker struct {
	tasks chan task // its next call; closed to make it exit
	gen   uint64    // the pool's gen when it became idle
}

// start runs t in a goroutine of its own: the idle one that ran last, or
// a new one.
func (p *workerPool) start(t task) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		w.tasks <- t
		return
	}
	p.wg.Add(1) // under mu, so never after close's Wait began
	p.mu.Unlock()
	go p.work(&worker{tasks: make(chan task, 1)}, t)
}

// work runs calls until the pool retires this goroutine or closes.
func (p *workerPool) work(w *worker, t task) {
	defer p.wg.Done()
	for {
		p.run(t)
		if !p.park(w) {
			return
		}
		var ok bool
		if t, ok = <-w.tasks; !ok {
			return
		}
	}
}

// park puts w on the idle stack, unless the pool is closed.
func (p *workerPool) park(w *worker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	w.gen = p.gen
	p.idle = append(p.idle, w)
	if p.trim == nil {
		p.trim = time.AfterFunc(workerIdle, p.retire)
	}
	return true
}

// retire runs on the trim timer: it makes the goroutines idle since
// before the previous turn exit, and re-arms itself while any stay idle.
func (p *workerPool) retire() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gen++
	n := 0
	for n < len(p.idle) && p.idle[n].gen+1 < p.gen {
		close(p.idle[n].tasks)
		n++
	}
	k := copy(p.idle, p.idle[n:])
	clear(p.idle[k:])
	p.idle = p.idle[:k]
	if len(p.idle) > 0 && !p.closed {
		p.trim.Reset(workerIdle)
	} else {
		p.trim = nil
	}
}

// close makes idle goroutines exit, and busy ones once their call ends,
// and waits for them all when wait is set.
func (p *workerPool) close(wait bool) {
	p.mu.Lock()
	p.closed = true
	for _, w := range p.idle {
		close(w.tasks)
	}
	p.idle = nil
	if p.trim != nil {
		p.trim.Stop()
		p.trim = nil
	}
	p.mu.Unlock()
	if wait {
		p.wg.Wait()
	}
}
