package simplerpc

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/simplerpc/simplerpc/internal/codec"
	"github.com/simplerpc/simplerpc/internal/frameio"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// A clientStream is the client's half of one stream: the items the
// server sent that the caller has not received yet, the credit the
// server's window frames give the items the caller sends, and — with
// sessions — the items sent and not known consumed, kept to be sent again
// when the session resumes on another connection.
//
// The reader of the connection it is on feeds it (item, window) and
// completes its pending call with the reply; the caller drains it (take)
// and sends through it (sendFrame). When that connection breaks, the call
// table keeps it as an orphan (without sessions it fails with
// CodeConnectionLost) and, on the connection that resumes the session,
// sends its call frame again with a resume window (resumeFrame); the
// server's resume window says where its own items resume (resumed).
//
// Locks: sendMu serializes the writes of its items; mu, a leaf, guards
// the state and is taken under sendMu and under the call table's lock.
type clientStream struct {
	id        uint64
	method    string
	codec     codec.Codec
	maxBody   int
	resumable bool          // the client keeps sessions: the stream outlives its connection
	got       chan struct{} // signaled, without blocking, when a window or a connection arrives
	gone      atomic.Bool   // its call has left the call table: frames for its id are not its
	gotItem   chan struct{} // signaled, without blocking, when an item arrives for a caller waiting for one

	sendMu sync.Mutex // held while one of its items is written

	mu       sync.Mutex  // guards the fields below
	recvConn *clientConn // the connection its items come from; nil while orphaned
	sendConn *clientConn // the connection its items go to; nil until the server said where to resume
	items    itemRing    // item bodies received and not consumed, oldest first
	lent     bool        // the oldest of items is the caller's, until its next take
	rest     []byte      // the items of the packed frame lent that the caller has yet to take: the caller's, not under mu
	waiting  bool        // the caller waits for an item: the next one signals gotItem
	replying bool        // the caller took an item since it last sent one
	queued   int64       // the cost of the items not consumed
	recvd    uint64      // items received
	open     bool        // the server said the stream is open
	consumed consumption // of the items received
	sent     uint64      // cost of the items sent
	nsent    uint64      // items sent (the end included)
	peer     wire.Window // the server's last window frame
	kept     keptItems   // items sent and not known consumed (resumable only)
}

// item takes in an item frame of the server's, from cc: one item, or
// several packed in one frame (wire.FlagPacked), queued as one entry. A
// large item's body is queued as it is when own hands it over
// (frameio.Reader.Own), else copied.
func (cs *clientStream) item(cc *clientConn, h wire.Header, body []byte, own func([]byte) bool) error {
	if h.Flags&wire.FlagEnd != 0 {
		return fmt.Errorf("%w: the server ended a stream's half with an item; it ends a stream with its reply", errProtocol)
	}
	packed := h.Flags&wire.FlagPacked != 0
	sum := wire.PackedSummary{Items: 1, Cost: wire.ItemCost(len(body))}
	if packed {
		var err error
		if !cc.packed {
			return fmt.Errorf("%w: server sent packed items on a connection that did not ask for them", errProtocol)
		}
		if sum, err = wire.CheckPacked(body); err != nil {
			return fmt.Errorf("%w: call %d: %w", errProtocol, h.ID, err)
		}
	} else {
		sum.Last = sum.Cost
	}
	cs.mu.Lock()
	if cs.recvConn != cc {
		cs.mu.Unlock()
		return nil // from a connection the stream has left: the server sends it again
	}
	// As if each item came on its own: each found less than a window
	// unconsumed, the last one included.
	if cs.queued+int64(sum.Cost-sum.Last) >= wire.StreamWindow {
		cs.mu.Unlock()
		return fmt.Errorf("%w: call %d's stream sent past its window of %d bytes", errProtocol, h.ID, wire.StreamWindow)
	}
	switch {
	case packed:
		cs.items.pushPacked(body, sum)
	case len(body) > ringSmall && own(body):
		cs.items.pushRead(body)
	default:
		cs.items.push(body)
	}
	cs.queued += int64(sum.Cost)
	cs.recvd += uint64(sum.Items)
	wake := cs.waiting
	cs.waiting = false
	cs.mu.Unlock()
	if wake {
		signal(cs.gotItem)
	}
	return nil
}

// window takes in a window frame of the server's, from cc.
func (cs *clientStream) window(cc *clientConn, h wire.Header, body []byte) error {
	if h.Flags&wire.FlagResume != 0 {
		return cs.resumed(cc, h, body)
	}
	cs.mu.Lock()
	if cs.recvConn != cc {
		cs.mu.Unlock()
		return nil
	}
	w, err := wire.ParseWindowBody(body, cs.peer)
	if err == nil && w.Items > cs.nsent {
		err = fmt.Errorf("the window reports %d items consumed, of %d sent", w.Items, cs.nsent)
	}
	if err != nil {
		cs.mu.Unlock()
		return fmt.Errorf("%w: call %d: %w", errProtocol, h.ID, err)
	}
	cs.peer, cs.open = w, true
	cs.kept.trim(w.Items)
	cs.mu.Unlock()
	cs.signal()
	return nil
}

// resumed takes in the server's resume window: it has received w.Items
// of the items sent, and consumed their cost up to w.Bytes. The kept
// items after those are sent again on cc, and later items follow them.
func (cs *clientStream) resumed(cc *clientConn, h wire.Header, body []byte) error {
	cs.sendMu.Lock()
	defer cs.sendMu.Unlock()
	cs.mu.Lock()
	if cs.recvConn != cc {
		cs.mu.Unlock()
		return nil
	}
	w, err := wire.ParseWindowBody(body, wire.Window{Items: cs.kept.from, Bytes: cs.peer.Bytes})
	if err == nil && w.Items > cs.nsent {
		err = fmt.Errorf("the server says it received %d items of the %d sent", w.Items, cs.nsent)
	}
	if err != nil {
		cs.mu.Unlock()
		return fmt.Errorf("%w: call %d: %w", errProtocol, h.ID, err)
	}
	cs.peer.Bytes = w.Bytes
	cs.kept.trim(w.Items)
	frames := cs.kept.copies()
	cs.sendConn = cc
	cs.mu.Unlock()
	for _, f := range frames {
		_ = cc.w.Write(context.Background(), f)
	}
	cs.signal()
	return nil
}

// detachLocked takes the stream off its connection, which broke; the
// call table's lock is held.
func (cs *clientStream) detachLocked() {
	cs.mu.Lock()
	cs.recvConn, cs.sendConn = nil, nil
	cs.mu.Unlock()
}

// resumeFrame puts the stream's receiving half on cc, which resumed the
// session, and returns the window frame that resumes it there: the items
// received so far, and the cost consumed. The call table's lock is held.
func (cs *clientStream) resumeFrame(cc *clientConn) []byte {
	cs.mu.Lock()
	cs.recvConn = cc
	w := wire.Window{Items: cs.recvd, Bytes: cs.consumed.w.Bytes}
	cs.consumed.reported = w.Bytes
	cs.mu.Unlock()
	frame := wire.AppendHeader(nil, wire.Header{Kind: wire.KindWindow, Flags: wire.FlagResume, ID: cs.id, Size: wire.WindowBodySize})
	return wire.AppendWindowBody(frame, w)
}

func (cs *clientStream) signal() { signal(cs.got) }

// signal signals ch, a channel of one slot, without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// take returns the next item body received, if there is one, reporting
// what is consumed to the server as the window requires. The body is the
// caller's until its next take; the stream's lock is not held meanwhile.
// When there is none, the next item to arrive signals gotItem.
//
// The items of a packed frame are taken with one lock: the first take
// counts them all consumed, lends the frame, and the takes after it split
// the caller's rest of it without the lock.
func (cs *clientStream) take() ([]byte, bool) {
	if len(cs.rest) > 0 {
		body, rest := wire.NextPacked(cs.rest)
		cs.rest = rest
		return body, true
	}
	cs.mu.Lock()
	if cs.lent {
		cs.items.pop()
		cs.lent = false
	}
	body, ok := cs.items.front()
	if !ok {
		cs.waiting = true
		cs.mu.Unlock()
		return nil, false
	}
	cs.lent = true
	cs.replying = true
	n, cost := 1, wire.ItemCost(len(body))
	if packed, sum := cs.items.frontPacked(body); packed {
		n, cost = sum.Items, sum.Cost
		body, cs.rest = wire.NextPacked(body)
	}
	cs.queued -= int64(cost)
	cs.consumed.addN(n, cost)
	conn := cs.recvConn
	var w wire.Window
	report := false
	if conn != nil {
		w, report = cs.consumed.due()
	}
	cs.mu.Unlock()
	if report {
		conn.writeWindow(cs.id, w)
	}
	return body, true
}

// pending reports whether items wait to be taken.
func (cs *clientStream) pending() bool {
	if len(cs.rest) > 0 {
		return true
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	n := cs.items.len()
	if cs.lent {
		n--
	}
	return n > 0
}

// isOpen reports whether the server said the stream is open.
func (cs *clientStream) isOpen() bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.open
}

// room reports whether an item may be sent now: the stream is on a
// connection and the window has room.
func (cs *clientStream) room() bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.sendConn != nil && cs.sent-cs.peer.Bytes < wire.StreamWindow
}

// sendFrame writes an item frame (the end included), counting its cost
// against the window and keeping it, with sessions, until the server
// reports it consumed. It reports false when the stream has no
// connection to send on: the caller waits for one.
//
// own, if not nil, is a pooled buffer that frame is the whole of. A large
// item's frame is handed to the connection's writer as that buffer
// itself, by reference, rather than copied into its queue: a run of
// large items the window has room for then shares the send loop's
// writes, one system call for several (frameio.Writer.WriteSeqOwned).
// handed says the buffer is no longer the caller's. Without sessions the
// writer puts it back in its pool once it holds it no more. With
// sessions the kept items hold it too, by reference (itemRing.pushHanded),
// held out of the pool until the writer is done with it (writerDone), and
// it goes back once the server has reported the item consumed as well:
// a server reporting it early, or reporting items never sent, cannot have
// it pooled while the writer reads it. Only a buffer at most twice the
// item is kept so.
func (cs *clientStream) sendFrame(ctx context.Context, frame []byte, own *bytes.Buffer) (sent, handed bool, err error) {
	cs.sendMu.Lock()
	defer cs.sendMu.Unlock()
	cs.mu.Lock()
	conn := cs.sendConn
	if conn == nil {
		cs.mu.Unlock()
		return false, false, nil
	}
	cs.sent += wire.ItemCost(len(frame) - wire.HeaderSize)
	cs.nsent++
	large := own != nil && len(frame) >= batchLarge
	if cs.resumable {
		// By reference only a buffer at most twice the item: a pooled
		// buffer that a large call grew would pin its whole size for it.
		if own != nil && len(frame) > ringSmall && own.Cap() <= 2*len(frame) {
			cs.kept.addHanded(own)
			cs.kept.holdNewest() // until the writer is done with it
			handed = true
		} else {
			cs.kept.add(frame)
		}
	}
	// The caller's answer to the item it took last, as a lone call, is
	// written by the caller itself when nothing else is being written
	// (frameio.Writer.WriteSolo): no hand-over to the send loop, and no
	// copy into its queue. A large item goes to the send loop by
	// reference, so that the items queued while it writes share its next
	// write; a run of small items goes through it too, to share its
	// writes.
	solo := cs.replying && !large
	cs.replying = false
	cs.mu.Unlock()
	switch {
	case large && handed:
		_, err = conn.w.WriteSeqOwned(ctx, frame, false, func() { cs.writerDone(own) })
	case large:
		handed = true
		_, err = conn.w.WriteSeqOwned(ctx, frame, false, func() { putBuffer(own) })
	case solo:
		err = conn.w.WriteSolo(ctx, frame)
	default:
		err = conn.w.Write(ctx, frame)
	}
	if handed && !large {
		cs.writerDone(own) // written, or copied into the writer's queue
	}
	if err != nil && cs.resumable && ctx.Err() == nil {
		err = nil // kept: sent again when the session resumes
	}
	return true, handed, err
}

// writerDone ends the hold on own, a kept item's buffer, once the
// connection's writer holds it no more (keptItems.writerDone).
func (cs *clientStream) writerDone(own *bytes.Buffer) { cs.kept.writerDone(&cs.mu, own) }

// writeWindow writes a window frame for the stream id.
func (cc *clientConn) writeWindow(id uint64, w wire.Window) {
	frame := make([]byte, 0, wire.HeaderSize+wire.WindowBodySize)
	frame = wire.AppendHeader(frame, wire.Header{Kind: wire.KindWindow, ID: id, Size: wire.WindowBodySize})
	_ = cc.w.WriteControl(wire.AppendWindowBody(frame, w))
}

// streamFrame routes an item or window frame to its stream; a frame for a
// stream that has ended is dropped. fr is the connection's reader, which
// read body.
func (cc *clientConn) streamFrame(fr *frameio.Reader, h wire.Header, body []byte) error {
	if !cc.streams {
		return fmt.Errorf("%w: server sent a %s frame on a connection without streams", errProtocol, h.Kind)
	}
	// The stream of the last item, while it is still in the call table,
	// spares the table's lock for each item of a run.
	cs := cc.last
	if cs == nil || cs.id != h.ID || cs.gone.Load() {
		if cs = cc.sink.stream(h.ID); cs == nil {
			return nil
		}
		cc.last = cs
	}
	if h.Kind == wire.KindItem {
		return cs.item(cc, h, body, fr.Own)
	}
	return cs.window(cc, h, body)
}
