package simplerpc

import (
	"bytes"
	"sync"

	"github.com/simplerpc/simplerpc/internal/wire"
)

// consumption is what the receiving half of a stream has consumed, and
// what of it the peer has been told in window frames (PROTOCOL.md §12):
// both sides keep one, under their stream's lock.
type consumption struct {
	w        wire.Window // items consumed and their cost, since the stream opened
	reported uint64      // w.Bytes in the last window frame sent
}

// add counts an item of the given cost consumed.
func (c *consumption) add(cost uint64) {
	c.w.Items++
	c.w.Bytes += cost
}

// addN counts n items of the given cost, all told, consumed.
func (c *consumption) addN(n int, cost uint64) {
	c.w.Items += uint64(n)
	c.w.Bytes += cost
}

// due returns the window to report and whether one is due: after every
// quarter of a window consumed since the last.
func (c *consumption) due() (wire.Window, bool) {
	if c.w.Bytes-c.reported < wire.StreamWindow/4 {
		return c.w, false
	}
	c.reported = c.w.Bytes
	return c.w, true
}

// keptItems are the frames of the items a resumable stream has sent and
// not yet seen consumed, oldest first: what a resume sends again
// (stream_resume.go). Both sides keep one, under their stream's lock.
//
// What it holds is counted as the memory it takes — its ring's buffer,
// the buffers of its large items as allocated, its index of items — not
// the bytes of the frames alone, so that what the server's budget counts
// of kept items is what they pin on the heap.
//
// A plain item frame with a small body — most of a stream of numbers —
// is kept as its body alone, in a run of them (itemRing.pushKept): its
// header is the stream's item header but for its size, which copies
// writes again.
type keptItems struct {
	frames  itemRing
	from    uint64                // the index of the oldest among the items sent
	counted int64                 // the footprint last reported by add, trim or clear
	head    [wire.HeaderSize]byte // the header of the first item kept in a run
}

// add keeps a copy of frame; grown then returns how much more memory the
// kept items take. (Two calls, not one: add stays small enough to be
// inlined, so that the stack of the goroutine that sends items, parked
// while its stream is idle, stays within its first 4 KiB.)
func (k *keptItems) add(frame []byte) { k.frames.pushKept(frame, &k.head) }

// fromRun returns the frame of an item kept in a run, of its body.
func (k *keptItems) fromRun(body []byte) []byte {
	frame := append(k.head[:len(k.head):len(k.head)], body...)
	wire.PutSize(frame, len(body))
	return frame
}

// addHanded keeps frame, the whole of a buffer also handed to the
// connection's writer, by reference (itemRing.pushHanded).
func (k *keptItems) addHanded(frame *bytes.Buffer) { k.frames.pushHanded(frame) }

// holdNewest marks the newest item, a handed buffer, as one a pop must
// not pool while a writer holds it: a window frame may report it
// consumed before the writer is done with it (a peer may send one early,
// counting on the item it knows comes), and pooled then, the buffer could
// take another client's message while the writer still reads it. letGo
// ends the hold once the writer is done.
func (k *keptItems) holdNewest() { k.frames.holdNewest() }

// letGo ends holdNewest for own, and reports whether own is still kept.
// If it is not — popped while held — it is its caller's to pool.
func (k *keptItems) letGo(own *bytes.Buffer) bool { return k.frames.release(own) }

// writerDone ends the hold on own once the connection's writer holds it
// no more, under mu, the lock of the stream the kept items are; if the
// peer reported the item consumed meanwhile, own is pooled now rather
// than then.
func (k *keptItems) writerDone(mu *sync.Mutex, own *bytes.Buffer) {
	mu.Lock()
	kept := k.letGo(own)
	mu.Unlock()
	if !kept {
		putBuffer(own)
	}
}

// grown returns how much more memory the kept items take since they were
// last counted.
func (k *keptItems) grown() int64 { return k.recount() }

// trim drops the items the peer has (those before index n) and returns
// how much less memory the kept items take.
func (k *keptItems) trim(n uint64) int64 {
	for k.frames.len() > 0 && k.from < n {
		k.from += k.frames.popRun(n - k.from)
	}
	return -k.recount()
}

// recount returns the change in the kept items' footprint since it was
// last counted.
func (k *keptItems) recount() int64 {
	fp := int64(k.frames.footprint())
	d := fp - k.counted
	k.counted = fp
	return d
}

// copies returns copies of the kept frames, to write once the stream's
// lock is released.
func (k *keptItems) copies() [][]byte { return k.frames.copies(k.fromRun) }

// clear drops every kept item and returns the memory they took.
func (k *keptItems) clear() int64 {
	n := k.counted
	k.frames.clear()
	k.counted = 0
	return n
}
