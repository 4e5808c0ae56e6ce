package frameio

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simplerpc/simplerpc/internal/wire"
)

// ErrClosed is returned by Write after the Writer has stopped.
var ErrClosed = errors.New("frameio: writer closed")

// Writer queues frames and writes them from a send loop: each turn of the
// loop writes everything queued so far in one call, so frames from many
// concurrent callers share a system call. The loop runs only while there
// is something to write — an idle connection costs no goroutine — and
// WriteSolo lets an uncontended caller write its frame itself, sparing
// the hand-off to the loop.
type Writer struct {
	conn      net.Conn
	timeout   time.Duration
	highWater int             // queue size past which Write waits; 0: never waits
	onFail    func(err error) // called once if a write fails
	done      chan struct{}   // closed once stopped and idle
	doneOnce  sync.Once

	mu      sync.Mutex
	q       queue         // frames waiting for the loop
	queued  atomic.Int64  // q.n, readable without mu
	held    atomic.Int64  // bytes of frames queued or being written
	acct    *atomic.Int64 // a counter shared with other writers, kept in step with held; may be nil
	spare   queue         // the loop's last queue, emptied, for its slice
	iov     net.Buffers   // the loop's vectored write, consumed by it; a field, so it does not escape
	iovs    net.Buffers   // iov's backing array, for reuse
	err     error         // set once; the reason the writer stopped
	closing bool          // drain then stop
	busy    bool          // a write to conn is under way (inline or by the loop)
	// deadline is the write deadline set on conn; only the goroutine
	// whose write is under way (busy) touches it.
	deadline time.Time
	frames   uint64        // frames accepted, in the order they reach conn
	looping  bool          // a send loop goroutine is running
	space    chan struct{} // closed when the queue drains below highWater
	sources  []Source      // scheduled sources whose frames the loop takes (source.go)
	push     func([]byte)  // what a source pushes its frames with; made once

	zip int // compress bodies of at least this size (compress.go); 0: never

	// owned holds the done callbacks of the frames in q queued by
	// reference for an owner that waits to be told (WriteSeqOwned); the
	// loop takes it with q, and calls them once q is written.
	owned []func()

	// expected counts the goroutines announced by Expect that have not
	// yet Arrived (expect.go).
	expected atomic.Int32
	// urgent says a control frame (WriteControl) is queued: the loop
	// starts for it though goroutines are expected (expect.go).
	urgent bool
}

// NewWriter returns a Writer for conn. Each write must finish within
// timeout, or at most a quarter more (0: no limit). A queue over highWater bytes makes Write wait
// (0: never). onFail, if not nil, is called once, from the goroutine that
// found it, when a write fails.
func NewWriter(conn net.Conn, timeout time.Duration, highWater int, onFail func(error)) *Writer {
	return &Writer{
		conn:      conn,
		timeout:   timeout,
		highWater: highWater,
		onFail:    onFail,
		done:      make(chan struct{}),
	}
}

// Write queues one complete frame, copying it. It waits while the queue is
// over its high-water mark, until ctx is done or the writer stops.
func (w *Writer) Write(ctx context.Context, frame []byte) error {
	_, err := w.write(ctx, frame, false, true)
	return err
}

// WriteControl queues a small control frame without waiting for room:
// one that must not be held back, nor dropped, when the queue is full,
// nor wait for goroutines expected to write (expect.go).
func (w *Writer) WriteControl(frame []byte) error {
	if err := w.WriteControlLazy(frame); err != nil {
		return err
	}
	if w.expected.Load() == 0 {
		// Nothing held it: write started the loop, or the last caller
		// to arrive since has (Arrived).
		return nil
	}
	w.mu.Lock()
	if w.q.n > 0 {
		w.urgent = true
		w.startLoopLocked()
	}
	w.mu.Unlock()
	return nil
}

// WriteControlLazy is WriteControl for a frame that may wait, as other
// small frames do, for the goroutines expected to write: one whose
// delay by a few microseconds costs nothing, such as an acknowledgement.
func (w *Writer) WriteControlLazy(frame []byte) error {
	_, err := w.write(context.Background(), frame, false, false)
	return err
}

// WriteSolo is Write for a writer that expects no company: when nothing
// is queued and no write is under way, it writes the frame itself rather
// than hand it to the send loop, sparing a goroutine switch. Under load
// callers should use Write, so that frames share system calls.
func (w *Writer) WriteSolo(ctx context.Context, frame []byte) error {
	_, err := w.write(ctx, frame, true, true)
	return err
}

// WriteSeq is WriteSolo when solo is set, Write otherwise, and returns the
// frame's place among all the frames the Writer has taken, counting from
// 1: the peer, counting the frames it reads, can say which it has.
func (w *Writer) WriteSeq(ctx context.Context, frame []byte, solo bool) (uint64, error) {
	return w.write(ctx, frame, solo, true)
}

func (w *Writer) write(ctx context.Context, frame []byte, solo, wait bool) (uint64, error) {
	if w.zip > 0 && len(frame)-wire.HeaderSize >= w.zip {
		return w.writeCompressed(ctx, frame, solo, wait)
	}
	return w.put(ctx, frame, solo, wait, false, nil)
}

// put is write, for frames as they go on the wire; shared says the
// queue may hold frame itself rather than a copy (shared.go). done, if
// not nil, is called once the Writer holds frame no more: before put
// returns, unless the queue holds it, then when that is written or
// dropped.
func (w *Writer) put(ctx context.Context, frame []byte, solo, wait, shared bool, done func()) (uint64, error) {
	w.mu.Lock()
	if wait && w.highWater > 0 {
		if err := w.waitLocked(ctx, w.highWater); err != nil {
			w.mu.Unlock()
			called(done)
			return 0, err
		}
	}
	if w.err != nil || w.closing {
		err := w.err
		w.mu.Unlock()
		called(done)
		if err == nil {
			err = ErrClosed
		}
		return 0, err
	}
	w.frames++
	seq := w.frames
	if solo && !w.busy && w.q.n == 0 {
		w.busy = true
		w.mu.Unlock()
		err := w.writeConn(frame)
		called(done)
		w.mu.Lock()
		w.busy = false
		w.startLoopLocked()
		finish := w.closing && w.err == nil && !w.looping && w.q.n == 0 && len(w.sources) == 0
		w.mu.Unlock()
		if err != nil {
			w.fail(err)
			return 0, err
		}
		if finish {
			w.stop(ErrClosed)
		}
		w.checkDone()
		return seq, nil
	}
	if shared && len(frame) > chunkSize {
		w.q.pushShared(frame)
		if done != nil {
			w.owned = append(w.owned, done)
			done = nil // the queue's now
		}
	} else {
		w.q.push(frame)
	}
	w.queued.Store(int64(w.q.n))
	w.account(int64(len(frame)))
	w.startLoopLocked()
	w.mu.Unlock()
	called(done)
	return seq, nil
}

// Account makes the writer add the bytes it holds — frames queued or
// being written — to acct as well, which other writers may share: a
// server counts what all its connections hold. Call it before the first
// write.
func (w *Writer) Account(acct *atomic.Int64) { w.acct = acct }

// Held returns the bytes of frames queued or being written.
func (w *Writer) Held() int64 { return w.held.Load() }

// account records that the writer holds n bytes more (or fewer, if n < 0).
func (w *Writer) account(n int64) {
	if n == 0 {
		return
	}
	w.held.Add(n)
	if w.acct != nil {
		w.acct.Add(n)
	}
}

// WaitBelow waits until fewer than mark bytes are queued, the writer
// stops, or ctx is done. It returns nil when the queue is below mark,
// else the reason the writer stopped, or ctx's error. A reader can call it
// before taking in more work whose output would join the queue.
func (w *Writer) WaitBelow(ctx context.Context, mark int) error {
	if w.queued.Load() < int64(mark) {
		return nil // the usual case, without the lock
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.waitLocked(ctx, mark); err != nil {
		return err
	}
	return w.err
}

// waitLocked waits until fewer than mark bytes are queued, the writer
// stops or is closing, or ctx is done. w.mu is held on entry and on
// return.
func (w *Writer) waitLocked(ctx context.Context, mark int) error {
	for w.err == nil && !w.closing && w.q.n >= mark {
		if w.space == nil {
			w.space = make(chan struct{})
		}
		space := w.space
		w.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			w.mu.Lock()
			return ctx.Err()
		}
		w.mu.Lock()
	}
	return nil
}

// startLoopLocked starts the send loop if frames wait and nothing is
// writing them, unless they are held for goroutines expected to add
// theirs (expect.go). w.mu must be held.
func (w *Writer) startLoopLocked() {
	if !w.busy && !w.looping && (w.q.n > 0 || len(w.sources) > 0) && w.err == nil && !w.awaitingLocked() {
		w.looping = true
		go w.loop()
	}
}

// coalesceBelow is the queue size under which the loop yields once
// before writing, so that frames being produced by other goroutines at
// that moment join the same write.
const coalesceBelow = 16 << 10

// loop writes what is queued, turn after turn, until the queue is empty.
func (w *Writer) loop() {
	for {
		w.mu.Lock()
		if n := w.q.n; n > 0 && n < coalesceBelow {
			w.mu.Unlock()
			runtime.Gosched()
			w.mu.Lock()
		}
		if w.err == nil && !w.busy {
			w.takeSourcesLocked()
		}
		if w.err != nil || w.busy || w.q.n == 0 {
			// Stopped; or an inline write is under way, which restarts
			// the loop when it ends; or nothing left to write.
			w.looping = false
			closing := w.closing && w.err == nil && !w.busy
			w.mu.Unlock()
			if closing {
				w.stop(ErrClosed)
			}
			w.checkDone()
			return
		}
		b := w.q
		w.q, w.spare = w.spare, queue{}
		owned := w.owned
		w.owned = nil
		w.queued.Store(0)
		w.urgent = false
		w.busy = true
		w.mu.Unlock()
		err := w.writeQueue(&b)
		written := b.n
		b.release()
		letGo(owned)
		w.account(-int64(written))
		w.mu.Lock()
		w.busy = false
		w.spare = b
		if w.space != nil {
			// Waiters check their own mark again.
			close(w.space)
			w.space = nil
		}
		w.mu.Unlock()
		if err != nil {
			w.mu.Lock()
			w.looping = false
			w.mu.Unlock()
			w.fail(err)
			return
		}
	}
}

// writeQueue writes what q holds to the connection, in one vectored write
// when it spans chunks, within the write timeout.
func (w *Writer) writeQueue(q *queue) error {
	if len(q.chunks) == 1 {
		return w.writeConn(*q.chunks[0])
	}
	w.armDeadline()
	w.iovs = q.buffers(w.iovs)
	w.iov = w.iovs
	_, err := w.iov.WriteTo(w.conn)
	clear(w.iovs)
	return err
}

// writeConn writes b to the connection within the write timeout.
func (w *Writer) writeConn(b []byte) error {
	w.armDeadline()
	_, err := w.conn.Write(b)
	return err
}

// armDeadline makes sure the write about to begin has at least the
// timeout to finish, and at most a quarter more. Setting a deadline moves
// a runtime timer, which with many connections each writing a frame now
// and then cost as much as the write; so it is set a quarter of the
// timeout further than needed, and set again only once a write would
// begin with less than the timeout left: once a quarter of the timeout
// at most, however many frames are written.
func (w *Writer) armDeadline() {
	if w.timeout <= 0 {
		return
	}
	now := time.Now()
	if w.deadline.Sub(now) >= w.timeout {
		return
	}
	w.deadline = now.Add(w.timeout + w.timeout/4)
	_ = w.conn.SetWriteDeadline(w.deadline)
}

// fail stops the writer with err and tells the owner, once.
func (w *Writer) fail(err error) {
	if w.stop(err) && w.onFail != nil {
		w.onFail(err)
	}
}

// stop records err as the reason the writer stopped and wakes every
// waiter. It reports whether this call stopped it.
func (w *Writer) stop(err error) bool {
	w.mu.Lock()
	first := w.err == nil
	if first {
		w.err = err
	}
	if w.space != nil {
		close(w.space)
		w.space = nil
	}
	w.account(-int64(w.q.n))
	w.q.release() // never the queue being written: the loop swaps that out under mu
	letGo(w.owned)
	w.owned = nil
	clear(w.sources)
	w.sources = w.sources[:0]
	w.queued.Store(0)
	w.mu.Unlock()
	w.checkDone()
	return first
}

// checkDone closes done once the writer has stopped and no write runs.
func (w *Writer) checkDone() {
	w.mu.Lock()
	idle := w.err != nil && !w.busy && !w.looping
	w.mu.Unlock()
	if idle {
		w.doneOnce.Do(func() { close(w.done) })
	}
}

// Close stops the writer at once, dropping queued frames. It does not
// close the connection; a write under way ends when the connection does.
func (w *Writer) Close() { w.stop(ErrClosed) }

// CloseAfterFlush makes the writer refuse new frames, write those already
// queued, then stop. Done reports when it has.
func (w *Writer) CloseAfterFlush() {
	w.mu.Lock()
	w.closing = true
	idle := !w.busy && !w.looping && w.q.n == 0 && len(w.sources) == 0
	w.startLoopLocked()
	w.mu.Unlock()
	if idle {
		w.stop(ErrClosed)
	}
}

// Done is closed when the writer has stopped and no write is under way.
func (w *Writer) Done() <-chan struct{} { return w.done }

// Err returns why the writer stopped, or nil while it runs.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
