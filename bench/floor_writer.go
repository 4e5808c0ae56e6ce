package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync"
)

const (
	// inlineMax is the largest payload part frameWriter copies; larger
	// parts are queued by reference and written with writev.
	inlineMax = 4 << 10
	arenaSize = 16 << 10
)

// frameWriter writes floor frames to a connection. A coalescing writer
// queues frames and its send loop writes everything queued with one writev
// per wake-up; a naive writer writes each frame as soon as it is sent.
type frameWriter struct {
	conn     net.Conn
	coalesce bool

	mu    sync.Mutex
	bufs  net.Buffers // queued, not yet written
	arena []byte      // copies of small queued parts
	// tail is the arena offset where bufs' last element starts when that
	// element is the arena's tail, so the next small part extends it;
	// otherwise -1.
	tail int
	// writing is what the write in progress (by loop, or by send in a
	// naive writer) has left; WriteTo consumes it. It is a field because
	// a local would escape to the heap on every write.
	writing net.Buffers
	err     error
	wake    chan struct{}
	stop    chan struct{}
	stopped chan struct{}
}

func newFrameWriter(conn net.Conn, coalesce bool) *frameWriter {
	w := &frameWriter{conn: conn, coalesce: coalesce, tail: -1}
	if coalesce {
		w.wake = make(chan struct{}, 1)
		w.stop = make(chan struct{})
		w.stopped = make(chan struct{})
		go w.loop()
	}
	return w
}

// send queues (or, for a naive writer, writes) one frame whose payload is
// head followed by the body parts. head and small body parts are copied;
// body parts larger than inlineMax are queued by reference and must not
// change until the frame is written.
func (w *frameWriter) send(id uint32, head []byte, body ...[]byte) error {
	size := 4 + len(head)
	for _, p := range body {
		size += len(p)
	}
	var hdr [8]byte
	binary.LittleEndian.PutUint32(hdr[:4], uint32(size))
	binary.LittleEndian.PutUint32(hdr[4:], id)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.inline(hdr[:])
	w.inline(head)
	for _, p := range body {
		if len(p) > inlineMax {
			w.bufs = append(w.bufs, p)
			w.tail = -1
		} else {
			w.inline(p)
		}
	}
	if !w.coalesce {
		w.writing = w.bufs
		_, err := w.writing.WriteTo(w.conn)
		w.reset(w.bufs, w.arena)
		if err != nil {
			w.err = fmt.Errorf("floor write: %w", err)
		}
		return w.err
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

// inline queues a copy of p, made in the arena.
func (w *frameWriter) inline(p []byte) {
	if len(p) == 0 {
		return
	}
	if cap(w.arena)-len(w.arena) < len(p) {
		// Queued parts keep the old arena alive until written.
		w.arena = make([]byte, 0, max(arenaSize, len(p)))
		w.tail = -1
	}
	if w.tail < 0 {
		w.tail = len(w.arena)
		w.bufs = append(w.bufs, nil)
	}
	w.arena = append(w.arena, p...)
	w.bufs[len(w.bufs)-1] = w.arena[w.tail:len(w.arena):len(w.arena)]
}

// reset empties the queue, reusing bufs and arena as its storage.
func (w *frameWriter) reset(bufs net.Buffers, arena []byte) {
	clear(bufs) // drop references to written payloads
	w.bufs, w.arena, w.tail = bufs[:0], arena[:0], -1
}

// loop writes everything queued since its last write, one writev per round.
func (w *frameWriter) loop() {
	defer close(w.stopped)
	var spareBufs net.Buffers
	var spareArena []byte
	for {
		select {
		case <-w.wake:
		case <-w.stop:
			return
		}
		w.mu.Lock()
		out, arena := w.bufs, w.arena
		w.reset(spareBufs, spareArena)
		w.mu.Unlock()
		w.writing = out
		if _, err := w.writing.WriteTo(w.conn); err != nil {
			w.mu.Lock()
			w.err = fmt.Errorf("floor write: %w", err)
			w.mu.Unlock()
			w.conn.Close()
			return
		}
		clear(out) // drop references to written payloads
		spareBufs, spareArena = out[:0], arena[:0]
	}
}

func (w *frameWriter) close() {
	if w.coalesce {
		close(w.stop)
		<-w.stopped
	}
}
