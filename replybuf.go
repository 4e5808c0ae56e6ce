package simplerpc

import (
	"bytes"
	"sync"
	"time"
)

// Large replies — a 16 MiB echo's, a download's — are built in buffers
// too large for bufferPool, and one made fresh for every reply costs more
// than the copy of the reply into it: the allocation comes from memory
// the runtime has to fault in or clear, and every fresh 16 MiB brings the
// next collection nearer. A method whose replies have lately been over
// minLargeReply (its replySize) has its next reply built in one of a few
// buffers kept for that, reused once nothing holds it any more.
//
// Budget: a session that ends counts its kept replies as freed but not
// yet collected (memBudget.giveFreed) until the collector runs; a lent
// buffer freed so is reused instead, and is counted there until then
// all the same — conservative, never short. minLargeReply keeps the
// replies lent to those large enough for the copy to matter, so that
// the many kept replies of middling size stay as they were.
//
// Who holds a lent buffer: the call that builds the reply, then the
// session that keeps it until the client has it (both drop it with
// putBuffer); and the connection's writer while the frame waits in its
// queue or is being written (writeReply hands it over with
// WriteSeqOwned, whose done callback drops it). Each holder counts one
// reference; at zero the buffer goes idle, ready for the next large
// reply. A resent reply is a copy (session.begin), so it holds none.
//
// Memory: the cache lends at most maxLargeReplies buffers at once, each
// of at most maxLargeReply bytes; past that a reply gets a fresh buffer,
// as before. A lent buffer's bytes are those of a reply in flight or
// kept, counted where such replies are. Idle, it keeps at most
// maxIdleLargeReplies, and drops each once it has lain unused for
// largeReplyIdle: a server that stops sending large replies holds none
// of them a little later.

const (
	// maxLargeReplies bounds the buffers lent and idle together.
	maxLargeReplies = 4
	// maxIdleLargeReplies bounds the idle ones.
	maxIdleLargeReplies = 2
	// maxLargeReply is the largest buffer the cache makes or keeps:
	// a reply of the default message limit, with room to spare.
	maxLargeReply = 2 * DefaultMaxMessageSize
	// largeReplyIdle is how long an idle buffer is kept unused.
	largeReplyIdle = time.Second
	// minLargeReply is the reply size past which a method's replies are
	// built in lent buffers.
	minLargeReply = 1 << 20
)

// largeReplies is the process's cache of large reply buffers, shared by
// its servers as bufferPool is.
var largeReplies replyCache

// replyCache lends reusable buffers for large replies. mu guards every
// field and every largeReply's fields but arr; it is a leaf lock, which a
// Writer's done callback takes under the Writer's own.
type replyCache struct {
	mu    sync.Mutex
	lent  []*largeReply
	idle  []*largeReply
	timer *time.Timer // armed while idle buffers wait to be dropped
	made  int         // buffers made so far
}

// largeReply is one buffer of the cache.
type largeReply struct {
	arr   []byte        // the memory, at full capacity; set once
	buf   *bytes.Buffer // the wrapper lent over arr; nil once the reply left arr (or while idle)
	refs  int           // holders while lent
	since time.Time     // when it went idle
}

// get lends a buffer with room for n bytes, or returns nil when n is
// over maxLargeReply or the cache lends all it may. The buffer is empty;
// the caller holds one reference.
func (c *replyCache) get(n int) *largeReply {
	if n > maxLargeReply {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	best := -1
	for i, e := range c.idle {
		if cap(e.arr) >= n && (best < 0 || cap(e.arr) < cap(c.idle[best].arr)) {
			best = i
		}
	}
	var e *largeReply
	switch {
	case best >= 0:
		e = c.idle[best]
		c.idle = deleteAt(c.idle, best)
	case len(c.lent)+len(c.idle) < maxLargeReplies || len(c.idle) > 0:
		if len(c.lent)+len(c.idle) >= maxLargeReplies {
			c.idle = deleteAt(c.idle, 0) // too small for n: make room
		}
		// An eighth more than asked, so that replies a little larger
		// than the last still fit.
		e = &largeReply{arr: make([]byte, 0, min(n+n/8, maxLargeReply))}
		c.made++
	default:
		return nil
	}
	e.buf, e.refs = bytes.NewBuffer(e.arr[:0]), 1
	c.lent = append(c.lent, e)
	return e
}

// holds reports whether b still builds its reply in e's memory: a reply
// that outgrew e was moved to a fresh array.
func (e *largeReply) holds(b *bytes.Buffer) bool { return sameMemory(b.Bytes(), e.arr) }

// sameMemory reports whether a and b start at the same array element.
func sameMemory(a, b []byte) bool {
	return cap(a) > 0 && cap(b) > 0 && &a[:1][0] == &b[:1][0]
}

// leave drops the reference of e's builder when its reply outgrew e:
// the wrapper no longer stands for e.
func (c *replyCache) leave(e *largeReply) {
	c.mu.Lock()
	e.buf = nil
	c.unrefLocked(e)
	c.mu.Unlock()
}

// put drops the reference b's holder has, when b is a lent wrapper; it
// reports whether it was.
func (c *replyCache) put(b *bytes.Buffer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.lent {
		if e.buf == b {
			e.buf = nil
			c.unrefLocked(e)
			return true
		}
	}
	return false
}

// share takes a reference for a writer about to hold frame, when frame
// is in a lent buffer whose builder or keeper still holds it, and
// returns the buffer (nil otherwise) for unref once the writer lets go.
func (c *replyCache) share(frame []byte) *largeReply {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.lent {
		if e.buf != nil && sameMemory(frame, e.arr) {
			e.refs++
			return e
		}
	}
	return nil
}

// unref drops one reference to e.
func (c *replyCache) unref(e *largeReply) {
	c.mu.Lock()
	c.unrefLocked(e)
	c.mu.Unlock()
}

// unrefLocked drops one reference to e; at none, e goes idle, or is
// dropped when the cache keeps enough idle. c.mu must be held.
func (c *replyCache) unrefLocked(e *largeReply) {
	if e.refs--; e.refs > 0 {
		return
	}
	for i, l := range c.lent {
		if l == e {
			c.lent = deleteAt(c.lent, i)
			break
		}
	}
	if len(c.idle) >= maxIdleLargeReplies {
		return // dropped: the collector frees it
	}
	e.buf, e.since = nil, time.Now()
	c.idle = append(c.idle, e)
	if c.timer == nil {
		c.timer = time.AfterFunc(largeReplyIdle, c.trim)
	}
}

// trim drops the buffers idle for largeReplyIdle, and waits again for
// the rest. It runs on the timer's goroutine, which ends with it.
func (c *replyCache) trim() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	kept := c.idle[:0]
	next := time.Duration(0)
	for _, e := range c.idle {
		if age := now.Sub(e.since); age < largeReplyIdle {
			kept = append(kept, e)
			if wait := largeReplyIdle - age; next == 0 || wait < next {
				next = wait
			}
		}
	}
	clear(c.idle[len(kept):])
	c.idle = kept
	if len(kept) == 0 {
		c.timer = nil
		return
	}
	c.timer.Reset(next)
}

// deleteAt removes s[i], keeping the order, and clears the slot freed.
func deleteAt(s []*largeReply, i int) []*largeReply {
	copy(s[i:], s[i+1:])
	s[len(s)-1] = nil
	return s[:len(s)-1]
}

// replyBuffer returns the buffer a call's reply is built in: a lent one
// (with e, to pass to settleReplyBuffer) when the method's replies have
// lately been over minLargeReply; a pooled one otherwise, and for a
// stream's reply, which its stream keeps apart.
func (sc *serverConn) replyBuffer(m *method, st *serverStream) (buf *bytes.Buffer, e *largeReply) {
	if n := m.reply.n.Load(); st == nil && n > minLargeReply {
		if e = largeReplies.get(int(n)); e != nil {
			return e.buf, e
		}
	}
	return getBuffer(), nil
}

// settleReplyBuffer returns the buffer to send and keep the reply built
// in buf from, which replyBuffer returned with e. A reply that outgrew
// e's memory was moved to an array of its own, and no longer holds e; one
// that fills less than half of it is moved to a buffer of its size, so
// that a small reply does not hold (nor count, where kept replies are
// counted by their buffers' capacity) a large buffer's memory.
func settleReplyBuffer(buf *bytes.Buffer, e *largeReply) *bytes.Buffer {
	switch {
	case e == nil:
		return buf
	case !e.holds(buf):
		largeReplies.leave(e)
		return buf
	case buf.Len() >= cap(e.arr)/2:
		return buf
	}
	var moved *bytes.Buffer
	if buf.Len() <= maxPooledBuffer {
		moved = getBuffer()
		moved.Write(buf.Bytes())
	} else {
		moved = bytes.NewBuffer(bytes.Clone(buf.Bytes()))
	}
	largeReplies.put(buf)
	return moved
}

// writeLargeReply writes a reply frame too large for the pool, which no
// caller changes once built: by reference, and, when it is in a lent
// buffer, holding the buffer until the writer lets go of it.
func (sc *serverConn) writeLargeReply(frame []byte) (uint64, error) {
	if e := largeReplies.share(frame); e != nil {
		return sc.w.WriteSeqOwned(sc.ctx, frame, sc.sched.soloReply(), func() { largeReplies.unref(e) })
	}
	return sc.w.WriteSeqShared(sc.ctx, frame, sc.sched.soloReply())
}
