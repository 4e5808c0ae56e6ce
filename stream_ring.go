package simplerpc

import (
	"bytes"
	"math"
	"math/bits"
	"sync"
	"unsafe"

	"github.com/simplerpc/simplerpc/internal/frameio"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// An itemRing holds byte strings — the frames or bodies of a stream's
// items — oldest first: small ones back to back in one ring buffer, so
// that a stream holds thousands of small items without a buffer each and
// a ring that has grown to what a window lets it hold allocates no more;
// large ones (over ringSmall bytes) each in a pooled buffer of its own,
// so that the ring stays small. The frames a stream keeps for a resume
// (keptItems) go in with pushKept, small plain items in runs of their
// bodies, one entry of the index for many items, which popRun drops.
// Its owner's lock guards it.
//
// front lends the oldest item to the caller, who reads it after letting
// go of that lock: the lent bytes stay held, so that push never writes
// over them, until pop drops the item.
type itemRing struct {
	buf   []byte
	r     int        // where the oldest item starts in buf
	n     int        // the bytes of small items held, from r on, wrapping
	items []ringItem // the items held, oldest first, from items[head] on
	head  int
	large int // the bytes of large items held
	owned int // the capacity of their buffers
	last  int // the size of the buffer it gave back when it last emptied
}

// A ringItem is one item of a ring: its size, and its own buffer if it is
// large.
type ringItem struct {
	size  uint32        // a frame's body is at most 4 GiB
	count uint32        // the items a run holds (markRun), or a packed body, if known (pushPacked)
	own   *bytes.Buffer // pooled
	mark  ringMark
}

// A ringMark says what a ringItem is besides its bytes. (Flags of one
// field, not a bool each: a struct of more than four fields is kept in
// memory rather than registers wherever it is copied, and the stack of
// the goroutine that sends a stream's items, parked while its stream is
// idle, would outgrow its first 4 KiB.)
type ringMark uint8

const (
	// markPacked: it holds several items (wire.FlagPacked).
	markPacked ringMark = 1 << iota
	// markHanded: own is also queued on a connection's writer (pushHanded).
	markHanded
	// markHeld: handed, and the writer holds it still
	// (keptItems.holdNewest): own is not pooled.
	markHeld
	// markRead: own is a body a connection's frame reader handed over
	// (pushRead), which goes back to the reader's pool
	// (frameio.Recycle).
	markRead
	// markRun: it holds count small bodies, each behind a byte giving
	// its length (pushRun).
	markRun
)

const (
	// ringStart is the size of a ring's first buffer; they double from
	// there.
	ringStart = 64
	// ringKeep is the largest buffer a ring keeps while it is empty: an
	// idle stream holds little, and a larger buffer goes back to its pool.
	ringKeep = 4 << 10
	// ringSmall is the size of the largest item kept in the ring itself.
	ringSmall = 512
)

// ringPools hold the buffers of empty rings, by size: ringKeep << i.
var ringPools [10]sync.Pool

// len returns the number of items held, a run (markRun) counting as one.
func (q *itemRing) len() int { return len(q.items) - q.head }

// bytes returns the bytes the items held take.
func (q *itemRing) bytes() int { return q.n + q.large }

// footprint returns the memory the ring takes: its buffer, its large
// items' buffers and its index of items.
func (q *itemRing) footprint() int {
	return len(q.buf) + q.owned + cap(q.items)*int(unsafe.Sizeof(ringItem{}))
}

// ownBuffer returns a buffer holding a copy of b, a large item: a pooled
// one if it has the room and at most twice it, else a new one with a
// quarter more room than b needs — a pooled buffer that a batch of frames
// grew would pin its whole size for b, and one grown by the copy would
// take twice b's; the quarter lets the buffer, back in the pool, take an
// item of about b's size with its header, or a batch holding one, without
// growing.
func ownBuffer(b []byte) *bytes.Buffer {
	own := getBuffer()
	if c := own.Cap(); c < len(b) || c > 2*len(b) {
		putBuffer(own)
		own = bytes.NewBuffer(make([]byte, 0, len(b)+len(b)/4))
	}
	own.Write(b)
	return own
}

// push adds a copy of b as the newest item.
func (q *itemRing) push(b []byte) { q.pushIn(b, len(b) <= ringSmall) }

// pushPacked adds a copy of b, a packed frame's body, as the newest item,
// in the ring itself whatever its size: it holds small items, whose
// bytes a window bounds. sum is what wire.CheckPacked found in it; when
// each item's length takes a byte, the item is marked with their count,
// from which frontPacked tells their cost without parsing them again.
func (q *itemRing) pushPacked(b []byte, sum wire.PackedSummary) {
	q.pushIn(b, true)
	it := &q.items[len(q.items)-1]
	it.mark |= markPacked
	bodies := sum.Cost - uint64(sum.Items)*wire.ItemOverhead
	if uint64(len(b))-bodies == uint64(sum.Items) && sum.Items <= math.MaxUint32 {
		it.count = uint32(sum.Items)
	}
}

// pushIn adds a copy of b as the newest item, in the ring itself if
// inRing, else in a buffer of its own.
func (q *itemRing) pushIn(b []byte, inRing bool) {
	if q.head > 0 && q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head > 64 && q.head*2 > len(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	if !inRing {
		own := ownBuffer(b)
		q.items = append(q.items, ringItem{size: uint32(len(b)), own: own})
		q.large += len(b)
		q.owned += own.Cap()
		return
	}
	q.appendBytes(b)
	q.items = append(q.items, ringItem{size: uint32(len(b))})
}

// appendBytes copies b onto the end of the bytes held in the ring
// itself, growing it if need be.
func (q *itemRing) appendBytes(b []byte) {
	if q.n+len(b) > len(q.buf) {
		q.grow(q.n + len(b))
	}
	if len(b) > 0 {
		w := q.r + q.n
		if w >= len(q.buf) {
			w -= len(q.buf)
		}
		m := copy(q.buf[w:], b)
		copy(q.buf, b[m:])
		q.n += len(b)
	}
}

// pushKept adds a copy of frame, a whole frame, as the newest item. A
// plain item frame of the stream whose item header is head (set from the
// first such frame), with a body of at most runBody bytes, joins the run
// at the end of the ring, if the newest item is one with room: its body
// alone, behind a byte giving its length — a stream that sends thousands
// of small items keeps them with one entry of the index, not one each, in
// a few bytes each, and drops them a run at a time (popRun). (One
// function, as push is: the stack of a goroutine that sends items, parked
// while its stream is idle, stays within its first 4 KiB.)
func (q *itemRing) pushKept(frame []byte, head *[wire.HeaderSize]byte) {
	n := len(frame) - wire.HeaderSize
	if n < 0 || n > runBody || wire.Kind(frame[4]) != wire.KindItem || frame[5] != 0 {
		q.pushIn(frame, len(frame) <= ringSmall)
		return
	}
	if head[4] == 0 {
		copy(head[:], frame)
	}
	if [8]byte(frame[6:wire.HeaderSize]) != [8]byte(head[6:]) {
		q.pushIn(frame, true)
		return
	}
	i := len(q.items) - 1
	if i < q.head || q.items[i].mark != markRun || q.items[i].count >= runMax {
		q.pushIn(nil, true) // the compaction of the index, and an empty item
		i = len(q.items) - 1
		q.items[i].mark = markRun
	}
	q.appendRun(frame[wire.HeaderSize:])
	q.items[i].size += uint32(1 + n)
	q.items[i].count++
}

// appendRun appends body, behind its length, to the bytes held.
func (q *itemRing) appendRun(body []byte) {
	need := 1 + len(body)
	if q.n+need > len(q.buf) {
		q.grow(q.n + need)
	}
	w := q.r + q.n
	if w >= len(q.buf) {
		w -= len(q.buf)
	}
	q.n += need
	if w+need <= len(q.buf) {
		q.buf[w] = byte(len(body))
		copy(q.buf[w+1:], body)
		return
	}
	q.buf[w] = byte(len(body)) // it wraps around the ring's end
	for i, c := range body {
		q.buf[(w+1+i)%len(q.buf)] = c
	}
}

const (
	// runMax is the most items a run holds: few enough that a trim
	// mostly drops whole runs, walking at most one run's items.
	runMax = 64
	// runBody is the largest body a run holds: its length takes a byte.
	runBody = 0x7f
)

// popRun drops up to n of the oldest items — the oldest entry, or the
// start of its run — and returns how many it dropped (at least one, if n
// is).
func (q *itemRing) popRun(n uint64) uint64 {
	it := &q.items[q.head]
	if it.mark != markRun {
		q.pop()
		return 1
	}
	if uint64(it.count) <= n {
		c := it.count
		q.pop()
		return uint64(c)
	}
	at := 0 // the start of the run: each item's length is its first byte
	for range n {
		at += 1 + int(q.buf[(q.r+at)%len(q.buf)])
	}
	it.size -= uint32(at)
	it.count -= uint32(n)
	q.n -= at
	q.r = (q.r + at) % len(q.buf)
	return n
}

// frontPacked reports whether the oldest item, b, is a packed frame's
// body, and if it is, how many items it holds and their cost.
func (q *itemRing) frontPacked(b []byte) (bool, wire.PackedSummary) {
	it := q.items[q.head]
	if it.mark&markPacked == 0 {
		return false, wire.PackedSummary{}
	}
	if it.count == 0 {
		sum, _ := wire.CheckPacked(b) // checked as it arrived
		return true, sum
	}
	n := int(it.count)
	return true, wire.PackedSummary{Items: n, Cost: uint64(len(b)-n) + uint64(n)*wire.ItemOverhead}
}

// pushRead adds b, a large body the connection's frame reader handed
// over (frameio.Reader.Own), as the newest item, without a copy: pop and
// clear give its buffer back to the reader's pool (frameio.Recycle), so
// that a run of large items reads into the same few buffers.
func (q *itemRing) pushRead(b []byte) {
	q.pushIn(nil, true) // the compaction of the index, and an empty item
	own := bytes.NewBuffer(b)
	q.items[len(q.items)-1] = ringItem{size: uint32(len(b)), own: own, mark: markRead}
	q.large += len(b)
	q.owned += own.Cap()
}

// dropOwn gives back the buffer of it, a large item no one reads any
// more: to the reader's pool, or to the buffer pool unless it is handed
// (handedToo: a handed one too, unless a writer holds it still).
func dropOwn(it ringItem, handedToo bool) {
	switch {
	case it.mark&markRead != 0:
		frameio.Recycle(it.own.Bytes())
	case it.mark&markHeld != 0: // the writer's done pools it (keptItems.writerDone)
	case it.mark&markHanded == 0 || handedToo:
		putBuffer(it.own)
	}
}

// pushHanded adds own, a frame handed to a connection's writer as well
// (frameio.Writer.WriteSeqOwned), on either side, as the newest item,
// without a copy: no one changes its bytes. It is held out of the pool
// (keptItems.holdNewest) until the writer is done with it, whatever the
// peer's window reports — a peer that knows the item comes may report
// it consumed early. pop gives it back to the pool once both are done
// with it (or the writer's done, when pop came first: writerDone); clear
// never does.
func (q *itemRing) pushHanded(own *bytes.Buffer) {
	q.pushIn(nil, true) // the compaction of the index, and an empty item
	q.items[len(q.items)-1] = ringItem{size: uint32(own.Len()), own: own, mark: markHanded}
	q.large += own.Len()
	q.owned += own.Cap()
}

// holdNewest marks the newest item, if it is a handed one, as held by
// its writer.
func (q *itemRing) holdNewest() {
	if n := len(q.items); n > q.head && q.items[n-1].mark&markHanded != 0 {
		q.items[n-1].mark |= markHeld
	}
}

// release ends the hold on the item whose buffer is own, and reports
// whether the ring still holds it. It looks from the newest item back:
// own is one of the last few large items.
func (q *itemRing) release(own *bytes.Buffer) bool {
	for i := len(q.items) - 1; i >= q.head; i-- {
		if q.items[i].own == own {
			q.items[i].mark &^= markHeld
			return true
		}
	}
	return false
}

// grow moves the items held to a buffer of at least need bytes, in order
// from its start. A slice that front lent still reads the old buffer,
// which nothing writes again. A ring that gave its buffer back when it
// emptied takes one of that size again at once, rather than double its
// way there through buffers of every size between: a stream whose items
// come and go in runs takes one pooled buffer per run.
func (q *itemRing) grow(need int) {
	size := max(2*len(q.buf), need, ringStart)
	if len(q.buf) == 0 {
		size = max(size, q.last)
	}
	buf := getRingBuffer(size)
	m := copy(buf, q.buf[q.r:min(q.r+q.n, len(q.buf))])
	copy(buf[m:q.n], q.buf)
	q.buf, q.r = buf, 0
}

// getRingBuffer returns a buffer of at least size bytes: a pooled one of
// size's class, or a new one.
func getRingBuffer(size int) []byte {
	if size <= ringKeep {
		return make([]byte, size)
	}
	i := bits.Len(uint((size - 1) / ringKeep))
	if i >= len(ringPools) {
		return make([]byte, size)
	}
	if b, ok := ringPools[i].Get().(*[]byte); ok {
		return *b
	}
	return make([]byte, ringKeep<<i)
}

// putRingBuffer puts b, which no one reads any more, back in its pool,
// if it is of a pooled size.
func putRingBuffer(b []byte) {
	if len(b) <= ringKeep {
		return
	}
	i := bits.Len(uint((len(b) - 1) / ringKeep))
	if i < len(ringPools) && len(b) == ringKeep<<i {
		ringPools[i].Put(&b)
	}
}

// front returns the oldest item, which stays held until pop; ok is false
// when the ring is empty. The slice is a view of the ring unless the item
// wraps around its end, when it is a copy.
func (q *itemRing) front() (b []byte, ok bool) {
	if q.len() == 0 {
		return nil, false
	}
	it := q.items[q.head]
	if it.own != nil {
		return it.own.Bytes(), true
	}
	size := int(it.size)
	if q.r+size <= len(q.buf) {
		return q.buf[q.r : q.r+size : q.r+size], true
	}
	b = make([]byte, size)
	m := copy(b, q.buf[q.r:])
	copy(b[m:], q.buf)
	return b, true
}

// pop drops the oldest item and returns its size.
func (q *itemRing) pop() int {
	it := q.items[q.head]
	q.items[q.head] = ringItem{}
	q.head++
	size := int(it.size)
	if it.own != nil {
		q.owned -= it.own.Cap()
		dropOwn(it, true)
		q.large -= size
		return size
	}
	q.n -= size
	q.r += size
	if len(q.buf) > 0 {
		q.r %= len(q.buf)
	}
	if q.n == 0 {
		q.r = 0
		if len(q.buf) > ringKeep {
			putRingBuffer(q.buf)
			q.buf, q.last = nil, len(q.buf)
		}
	}
	return size
}

// copies returns copies of the items held, oldest first: a run's items
// each as fromRun makes it of its body (a copy the caller may keep).
func (q *itemRing) copies(fromRun func(body []byte) []byte) [][]byte {
	items := make([][]byte, 0, q.len())
	r := q.r
	for _, it := range q.items[q.head:] {
		if it.own != nil {
			items = append(items, bytes.Clone(it.own.Bytes()))
			continue
		}
		size := int(it.size)
		b := make([]byte, size)
		m := copy(b, q.buf[r:min(r+size, len(q.buf))])
		copy(b[m:], q.buf)
		if it.mark == markRun {
			for len(b) > 0 { // an item each
				n := 1 + int(b[0])
				items = append(items, fromRun(b[1:n:n]))
				b = b[n:]
			}
		} else {
			items = append(items, b)
		}
		r += size
		if r >= len(q.buf) {
			r -= len(q.buf)
		}
	}
	return items
}

// clear drops every item and the buffer. No slice front lent may be
// read after.
func (q *itemRing) clear() {
	for _, it := range q.items[q.head:] {
		if it.own != nil {
			dropOwn(it, false)
		}
	}
	putRingBuffer(q.buf)
	*q = itemRing{}
}
