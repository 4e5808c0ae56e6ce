package frameio

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// ErrClosed is returned by Write after the Writer has stopped.
var ErrClosed = errors.New("frameio: writer closed")

// ErrBacklog stops a Writer whose queue would pass its limit: the peer is
// not reading what it asked for.
var ErrBacklog = errors.New("frameio: peer is not reading: write backlog over its limit")

// Writer queues frames and writes them from one send loop: each turn of
// the loop writes everything queued so far in one call, so frames from many
// concurrent callers share a system call. WriteSolo lets an uncontended
// caller write its frame itself, sparing the hand-off to the loop.
type Writer struct {
	conn      net.Conn
	timeout   time.Duration
	highWater int // queue size past which Write waits; 0: never waits
	limit     int // queue size past which the writer stops; 0: no limit

	mu      sync.Mutex
	buf     []byte
	spare   []byte
	err     error         // set once; the reason the writer stopped
	closing bool          // drain then stop
	busy    bool          // a write to conn is under way
	space   chan struct{} // closed when the queue drains below highWater
	wake    chan struct{}
	done    chan struct{}
}

// Buffers larger than this are dropped rather than kept for reuse.
const maxKeptBuffer = 1 << 20

// NewWriter returns a Writer for conn. Each write must finish within
// timeout (0: no limit). A queue over highWater bytes makes Write wait
// (0: never); a frame that would take the queue over limit bytes stops
// the writer with ErrBacklog instead (0: no limit). Run must be called to
// start the send loop.
func NewWriter(conn net.Conn, timeout time.Duration, highWater, limit int) *Writer {
	return &Writer{
		conn:      conn,
		timeout:   timeout,
		highWater: highWater,
		limit:     limit,
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
}

// Write queues one complete frame, copying it. It waits while the queue is
// over its high-water mark, until ctx is done or the writer stops.
func (w *Writer) Write(ctx context.Context, frame []byte) error { return w.write(ctx, frame, false) }

// WriteSolo is Write for a writer that expects no company: when nothing
// is queued and no write is under way, it writes the frame itself rather
// than hand it to the send loop, sparing a goroutine switch. Under load
// callers should use Write, so that frames share system calls.
func (w *Writer) WriteSolo(ctx context.Context, frame []byte) error { return w.write(ctx, frame, true) }

func (w *Writer) write(ctx context.Context, frame []byte, solo bool) error {
	w.mu.Lock()
	for w.err == nil && !w.closing && w.highWater > 0 && len(w.buf) >= w.highWater {
		if w.space == nil {
			w.space = make(chan struct{})
		}
		space := w.space
		w.mu.Unlock()
		select {
		case <-space:
		case <-w.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		w.mu.Lock()
	}
	if w.err != nil || w.closing {
		err := w.err
		w.mu.Unlock()
		if err == nil {
			err = ErrClosed
		}
		return err
	}
	if w.limit > 0 && len(w.buf) > 0 && len(w.buf)+len(frame) > w.limit {
		w.mu.Unlock()
		w.stop(ErrBacklog)
		w.kick()
		return ErrBacklog
	}
	if solo && !w.busy && len(w.buf) == 0 {
		w.busy = true
		w.mu.Unlock()
		err := w.writeConn(frame)
		w.mu.Lock()
		w.busy = false
		more := len(w.buf) > 0
		w.mu.Unlock()
		if err != nil {
			w.stop(err)
			w.kick()
			return err
		}
		if more {
			w.kick()
		}
		return nil
	}
	wasEmpty := len(w.buf) == 0
	w.buf = append(w.buf, frame...)
	w.mu.Unlock()
	if wasEmpty {
		w.kick()
	}
	return nil
}

// writeConn writes b to the connection within the write timeout.
func (w *Writer) writeConn(b []byte) error {
	if w.timeout > 0 {
		_ = w.conn.SetWriteDeadline(time.Now().Add(w.timeout))
	}
	_, err := w.conn.Write(b)
	return err
}

// Run is the send loop. It returns when the writer is closed (after
// writing what was queued, for CloseAfterFlush) or a write fails.
func (w *Writer) Run() {
	defer close(w.done)
	for {
		<-w.wake
		w.mu.Lock()
		if w.err != nil {
			w.mu.Unlock()
			return
		}
		if w.busy {
			// A Write is writing inline; it wakes the loop when done.
			w.mu.Unlock()
			continue
		}
		b := w.buf
		w.buf = w.spare[:0]
		w.spare = nil
		w.busy = len(b) > 0
		closing := w.closing
		w.mu.Unlock()
		if len(b) > 0 {
			if err := w.writeConn(b); err != nil {
				w.stop(err)
				return
			}
		}
		w.mu.Lock()
		w.busy = false
		if cap(b) <= maxKeptBuffer {
			w.spare = b[:0]
		}
		if w.space != nil && len(w.buf) < w.highWater {
			close(w.space)
			w.space = nil
		}
		more := len(w.buf) > 0
		w.mu.Unlock()
		if closing && !more {
			w.stop(ErrClosed)
			return
		}
		if more {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
}

// stop records err as the reason the writer stopped and wakes every waiter.
func (w *Writer) stop(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	if w.space != nil {
		close(w.space)
		w.space = nil
	}
	w.buf = nil
	w.mu.Unlock()
}

// Close stops the writer at once, dropping queued frames. It does not
// close the connection.
func (w *Writer) Close() {
	w.stop(ErrClosed)
	w.kick()
}

// CloseAfterFlush makes the writer refuse new frames, write those already
// queued, then stop. Done reports when it has.
func (w *Writer) CloseAfterFlush() {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	w.kick()
}

// Done is closed when the send loop has returned.
func (w *Writer) Done() <-chan struct{} { return w.done }

// Err returns why the writer stopped, or nil while it runs.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *Writer) kick() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}
