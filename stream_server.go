package simplerpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/simplerpc/simplerpc/internal/codec"
	"github.com/simplerpc/simplerpc/internal/frameio"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// A serverStream is the server's half of one stream: the items the
// client sent that the method has not consumed yet, the credit the
// client's window frames give the items the method yields, and — for a
// stream within a session — the items sent and not yet known consumed,
// kept to be sent again when the session resumes (stream_resume.go).
//
// The reader of the connection the stream is on feeds it (item, window);
// the stream's call goroutine drains it (next) and sends through it
// (send). A stream outside a session ends with its connection; one in a
// session is detached when its connection ends and goes on when a
// connection of the session resumes it. It ends with its call, and is
// forgotten then — or, in a session, once the client acknowledged its
// reply — and items still arriving for it are dropped.
//
// Locks: sendMu serializes the writes of the frames that do not go
// through the batch (its last items, the resent ones, its reply), so that
// they leave in order — send, which only ever adds to the batch, waits
// instead while a resume is under way (resuming); mu guards the state and
// is taken under sendMu, never the other way; both are taken under the
// stream table's lock at most, and mu is a leaf but for the connection
// writer's lock, under which its send loop takes mu (TakeFrames): no
// writer is called with mu held.
type serverStream struct {
	id        uint64
	shape     *streamShape
	srv       *Server
	resumable bool        // it belongs to a session and outlives its connection
	codec     codec.Codec // its connection's
	bytesIn   bool        // the method receives []byte items without reflection (stream_typed.go)
	borrows   bool        // the method receives BorrowedBytes items: it gives the reader's buffers back (stream_borrowed.go)

	got  chan struct{}           // signaled, without blocking, when an item, the end, a window or a connection arrives
	stop context.CancelCauseFunc // ends the stream's context, set before it runs

	sendMu sync.Mutex // held while one of its frames is written

	mu        sync.Mutex    // guards the fields below
	conn      *serverConn   // the connection it is on; nil while detached
	resumeOn  *serverConn   // the connection its call came on again, to resume it
	queue     []queuedItem  // items received and not consumed, oldest first
	queued    int64         // their cost, reserved on the budget
	recvd     uint64        // items (the end included) received
	ended     bool          // the client ended its half
	done      bool          // the method stopped consuming: items are dropped
	consumed  consumption   // of the items received
	sent      uint64        // cost of the items sent
	nsent     uint64        // items sent
	peer      wire.Window   // the client's last window frame
	kept      keptItems     // items sent and not known consumed (resumable only); their bytes count on the budget
	reply     []byte        // the reply frame of a finished resumable stream
	failed    error         // an item that did not decode, for the reply
	batch     *bytes.Buffer // item frames sent and not yet taken by the connection's writer (pooled); nil while empty or while an item is encoded onto it
	packAt    int           // where in batch its last frame starts, if more items may be packed into it (stream_pack.go); else -1
	batched   int64         // the capacity of batch's buffer, counted on the budget
	scheduled bool          // the stream waits in its connection writer's sources
	resuming  bool          // a resume is sending the kept items again: send waits
	replying  bool          // the method consumed an item since it last sent one (sendSolo)
}

// openStream starts the stream of the call id, before its call runs, so
// that items that follow the call frame find it.
func (sc *serverConn) openStream(id uint64, m *method) *serverStream {
	table, resumable := sc.streamTable()
	st := &serverStream{id: id, shape: m.stream, srv: sc.srv, resumable: resumable, conn: sc, got: make(chan struct{}, 1), codec: sc.codec}
	st.borrows = m.stream.in == borrowedType && typedInputs[m.stream.inSeq] != nil
	st.bytesIn = m.stream.in == bytesType && typedInputs[m.stream.inSeq] != nil || st.borrows
	table.add(st)
	return st
}

// streamItem takes in an item frame of the client's.
func (sc *serverConn) streamItem(h wire.Header, body []byte) error {
	if h.Flags&wire.FlagPacked != 0 {
		return fmt.Errorf("%w: the client sent packed items for call %d; only a server packs them", errProtocol, h.ID)
	}
	table, _ := sc.streamTable()
	st := table.get(h.ID)
	if st == nil {
		return nil // its stream ended: an item sent before the client knew
	}
	if st.shape.in == nil && h.Flags&wire.FlagEnd == 0 {
		return fmt.Errorf("%w: item frame for call %d, whose method takes no stream", errProtocol, h.ID)
	}
	st.mu.Lock()
	if st.conn != sc {
		st.mu.Unlock()
		return nil // sent on a connection the stream has left: it is sent again after the resume
	}
	st.recvd++
	switch {
	case st.ended:
		st.mu.Unlock()
		return fmt.Errorf("%w: item frame for call %d after the client ended its stream", errProtocol, h.ID)
	case h.Flags&wire.FlagEnd != 0:
		st.ended = true
	case st.done:
		// Dropped unread, but consumed all the same, so that the client
		// is not left waiting for credit.
		st.consumed.add(wire.ItemCost(len(body)))
	default:
		if st.queued >= wire.StreamWindow {
			st.mu.Unlock()
			return fmt.Errorf("%w: call %d's stream sent past its window of %d bytes", errProtocol, h.ID, wire.StreamWindow)
		}
		st.queue = append(st.queue, st.queueItem(body, sc.fr))
		cost := int64(wire.ItemCost(len(body)))
		st.queued += cost
		sc.rereserve(0, cost) // on the connection's share: see releaseLocked
		sc.streamed.Add(cost)
	}
	st.mu.Unlock()
	st.signal()
	return nil
}

// writerDone ends the hold on b, a kept item's buffer handed to the
// connection's writer, once the writer holds it no more: a client's window
// may report the item consumed before that (one that knows the item comes
// can send it early), and the pop then leaves b to be pooled here rather
// than while the writer still reads it — pooled early, it could take
// another client's reply before the writer sent b's bytes.
func (st *serverStream) writerDone(b *bytes.Buffer) { st.kept.writerDone(&st.mu, b) }

// streamWindow takes in a window frame of the client's.
func (sc *serverConn) streamWindow(h wire.Header, body []byte) error {
	table, _ := sc.streamTable()
	st := table.get(h.ID)
	if st == nil {
		return nil
	}
	if h.Flags&wire.FlagResume != 0 {
		return sc.resumeStream(st, h, body)
	}
	st.mu.Lock()
	if st.conn != sc {
		st.mu.Unlock()
		return nil
	}
	w, err := wire.ParseWindowBody(body, st.peer)
	if err == nil && w.Items > st.nsent {
		err = fmt.Errorf("the window reports %d items consumed, of %d sent", w.Items, st.nsent)
	}
	if err != nil {
		st.mu.Unlock()
		return fmt.Errorf("%w: call %d: %w", errProtocol, h.ID, err)
	}
	st.peer = w
	freed := st.kept.trim(w.Items)
	st.mu.Unlock()
	st.srv.unkeep(freed)
	st.signal()
	return nil
}

func (st *serverStream) signal() {
	select {
	case st.got <- struct{}{}:
	default:
	}
}

// A queuedItem is an item received and not consumed, in a slice of its
// own, which its consumer may keep: its body, or — for a method that
// receives []byte items without reflection (bytesIn) — the bytes the body
// encodes, copied out of it as it arrives. For a method that borrows its
// items (borrows), own is the reader's buffer the body is in, if it is
// one, which the method's iterator recycles once the item is consumed.
type queuedItem struct {
	b     []byte
	own   []byte          // the buffer Own handed over, to give back; set only for a borrowing method
	from  *frameio.Reader // the reader own came from, which takes it back
	cost  uint64          // of the item's body
	bytes bool            // b holds the bytes the body encodes
}

// queueItem returns body, an item frame's, for the queue: the body
// itself when fr hands it over (frameio.Reader.Own: a large body, read
// into a buffer of its own), else a copy.
func (st *serverStream) queueItem(body []byte, fr *frameio.Reader) queuedItem {
	cost := wire.ItemCost(len(body))
	owned := fr.Own(body)
	var lent []byte
	var from *frameio.Reader
	if owned && st.borrows {
		lent, from = body, fr
	}
	if st.bytesIn {
		if view, ok := codec.BytesView(st.codec, body); ok {
			if !owned {
				view = bytes.Clone(view)
			}
			return queuedItem{b: view, own: lent, from: from, cost: cost, bytes: true}
		}
	}
	if !owned {
		body = bytes.Clone(body)
	}
	return queuedItem{b: body, own: lent, from: from, cost: cost}
}

// next returns the next item the client sent, waiting for one, which is
// the caller's; ok is false at the end of the client's half, or when ctx
// ends (err).
func (st *serverStream) next(ctx context.Context) (item queuedItem, ok bool, err error) {
	for {
		st.mu.Lock()
		if len(st.queue) > 0 {
			item = st.queue[0]
			st.queue[0] = queuedItem{}
			st.queue = st.queue[1:]
			cost := item.cost
			st.queued -= int64(cost)
			st.consumed.add(cost)
			st.replying = true
			w, report := st.consumed.due()
			st.releaseLocked(int64(cost))
			conn := st.conn
			st.mu.Unlock()
			if report && conn != nil {
				conn.writeWindow(st.id, w)
			}
			return item, true, nil
		}
		ended := st.ended
		st.mu.Unlock()
		if ended {
			return item, false, nil
		}
		select {
		case <-st.got:
		case <-ctx.Done():
			return item, false, ctx.Err()
		}
	}
}

// stopReading marks that the method consumes no more items: those held
// are given back and those still to come are dropped.
func (st *serverStream) stopReading() {
	st.mu.Lock()
	n := st.queued
	for _, it := range st.queue {
		st.consumed.add(it.cost)
		if it.own != nil {
			it.from.TakeBack(it.own) // a borrowing method's, which it never saw
		}
	}
	st.releaseLocked(n)
	st.queue, st.queued, st.done = nil, 0, true
	w, conn := st.consumed.w, st.conn
	st.mu.Unlock()
	if n > 0 && conn != nil {
		conn.writeWindow(st.id, w)
	}
}

// send sends one item, first waiting while the client's window is full
// or, for a stream within a session, while it is detached or being
// resumed. An item of a resumable stream is kept until the client
// reports it consumed. Only the goroutine ranging over the method's
// iterator calls it.
//
// Items leave in batches: each is encoded onto the end of the stream's
// batch, which the connection's send loop takes whole when it next
// writes (TakeFrames), so that a fast producer costs the writer one
// hand-over per write rather than one per item. A value whose encoding is
// quick and small (a number, a short string) is encoded under the
// stream's lock; any other, with the batch taken out meanwhile, so that
// a slow encoding never holds up the send loop, which takes that lock.
func (st *serverStream) send(ctx context.Context, c codec.Codec, v any) error {
	// An integer is encoded once, before the stream's lock is taken, so
	// that the lock the send loop also takes is held the shorter for it.
	var small [wire.HeaderSize + codec.MaxInt]byte
	intItem, isInt := intFrame(small[:0], c, v, st.id)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if st.resumable && (st.srv.keptFull() || st.srv.budgetSpent()) {
			// What a resumable stream sends it keeps until the client
			// reports it consumed: while the memory budget is spent, or
			// what the server's resumable streams keep is at its part
			// of the budget, the method's iterator is not pulled for
			// more, so that many streams cannot each keep a window past
			// the budget, nor leave none of it to calls.
			if err := waitPoll(ctx); err != nil {
				return err
			}
			continue
		}
		st.mu.Lock()
		conn := st.conn
		if conn != nil && st.paced(conn) {
			st.mu.Unlock()
			if err := waitPoll(ctx); err != nil {
				return err
			}
			continue
		}
		if conn == nil || st.resuming || st.sent-st.peer.Bytes >= wire.StreamWindow {
			st.mu.Unlock()
			select {
			case <-st.got:
			case <-ctx.Done():
				return ctx.Err()
			}
			continue
		}
		if st.replying && st.batch == nil && !st.scheduled && len(st.queue) == 0 {
			st.replying = false
			st.mu.Unlock()
			if sent, err := st.sendSolo(ctx, c, v, conn); sent {
				return err
			}
			continue
		}
		st.replying = false
		b, packAt := st.batch, st.packAt
		st.batch = nil
		if b == nil {
			b, packAt = getBuffer(), -1
		}
		var handed bool
		if isInt {
			// An integer, encoded apart: kept as its plain frame, and
			// packed straight onto the batch's packed frame. Its few
			// bytes are within any message size limit (1 KiB at least).
			frame := intItem
			st.sent += wire.ItemCost(len(frame) - wire.HeaderSize)
			st.nsent++
			if st.resumable {
				st.kept.add(frame)
				if n := st.kept.grown(); n != 0 {
					st.srv.keep(n)
				}
			}
			packAt = packInt(b, packAt, frame, conn.packOK)
		} else {
			var err error
			packAt, handed, err = st.appendItemLocked(c, v, conn, b, packAt)
			if errors.Is(err, errLeft) {
				continue
			}
			if err != nil {
				return err
			}
		}
		if c := int64(b.Cap()); c != st.batched { // counted as it grows: not an atomic add per item
			st.srv.budget.take(c - st.batched)
			st.batched = c
		}
		if b.Len() >= batchLarge {
			// A batch this large shares no write with anything: it is
			// queued at once, as it is, rather than grow. The send loop
			// found no batch meanwhile, so it leaves in order; after a
			// resume began it goes to the connection the stream left,
			// whose items the client drops.
			n := st.batched
			st.batched = 0
			st.mu.Unlock()
			var err error
			if handed { // b is the kept item's now, held out of the pool until the writer is done with it
				_, err = conn.w.WriteSeqOwned(ctx, b.Bytes(), false, func() { st.writerDone(b) })
			} else {
				err = conn.w.Write(ctx, b.Bytes()) // the method goes on encoding while the send loop writes
				putBuffer(b)
			}
			st.srv.budget.give(n) // the writer counts what it queued
			if err != nil && (!st.resumable || ctx.Err() != nil) {
				return err
			}
			return nil
		}
		st.packAt = packAt
		schedule := st.putBatchLocked(b)
		st.mu.Unlock()
		if schedule {
			conn.w.Schedule(st)
		}
		return nil
	}
}

// errLeft says that the stream left its connection while an item was
// encoded: send tries again.
var errLeft = errors.New("the stream left its connection")

// appendItemLocked encodes v onto the end of b, the stream's batch taken
// out, as a plain frame, which it keeps for a resume and packs into the
// frame at packAt (packItem); it returns where the next item may be
// packed, and whether b itself is kept (a large item alone in it). A
// value that does not encode quickly is encoded with st.mu released. On
// an error st.mu is released and b put back as the batch — or, with
// errLeft, which says the stream left conn meanwhile, in its pool.
func (st *serverStream) appendItemLocked(c codec.Codec, v any, conn *serverConn, b *bytes.Buffer, packAt int) (int, bool, error) {
	quick := quickItem(v)
	if !quick {
		st.mu.Unlock()
	}
	start := b.Len()
	b.Write(noHeader[:])
	err := c.Append(b, v)
	if n := b.Len() - start - wire.HeaderSize; err == nil && n > st.srv.cfg.maxMessageSize {
		err = fmt.Errorf("item of %d bytes exceeds the %d-byte limit", n, st.srv.cfg.maxMessageSize)
	}
	if !quick {
		st.mu.Lock()
	}
	if st.conn != conn { // detached meanwhile: what the batch held is kept, or lost with its connection
		st.srv.budget.give(st.batched)
		st.batched = 0
		st.mu.Unlock()
		putBuffer(b)
		if err != nil {
			return 0, false, fmt.Errorf("%w: %w", errResult, err)
		}
		return 0, false, errLeft
	}
	if err != nil {
		b.Truncate(start)
		st.packAt = packAt
		schedule := st.putBatchLocked(b)
		st.mu.Unlock()
		if schedule {
			conn.w.Schedule(st)
		}
		return 0, false, fmt.Errorf("%w: %w", errResult, err)
	}
	frame := b.Bytes()[start:]
	wire.PutHeader(frame, wire.KindItem, 0, st.id)
	st.sent += wire.ItemCost(len(frame) - wire.HeaderSize)
	st.nsent++
	// A large item alone in its batch is kept by reference, and handed
	// to the writer as it is, rather than copied twice.
	handed := st.resumable && start == 0 && len(frame) >= batchLarge && b.Cap() <= 2*len(frame)
	if st.resumable {
		if handed {
			st.kept.addHanded(b)
			st.kept.holdNewest() // until the writer is done with it (writerDone)
		} else {
			st.kept.add(frame)
		}
		if n := st.kept.grown(); n != 0 { // as the ring grows, or for a large item
			st.srv.keep(n)
		}
	}
	return packItem(b, packAt, start, conn.packOK), handed, nil
}

// paced reports whether the stream is to wait before it sends more on
// conn, whose writer holds what it has queued: while that is past
// streamQueueMark, or while the whole budget is spent and it holds
// anything, the method's iterator is not pulled, so that a client that
// reads its connection slowly — or many clients — cannot make the server
// hold every stream's window in its write queues. The writer drains
// without telling the stream: it looks again after roomPoll. st.mu is
// held; paced takes no lock.
func (st *serverStream) paced(conn *serverConn) bool {
	held := conn.w.Held()
	if held == 0 {
		return false
	}
	b := &st.srv.budget
	return held >= streamQueueMark || b.used.Load() > b.limit
}

// streamQueueMark is how much of a connection's write queue its streams
// may fill before they wait for it to drain: four windows, so that a lone
// stream is paced by its window, not by the queue — while one write of a
// window's items is under way the client consumes its start and credits
// another window, which queues behind it: two windows held (at two
// windows the lone stream of 64 KiB chunks waited here 174 times in
// 20,000 chunks) — and a connection with many streams holds a few
// windows more than the socket does, not every stream's window.
const streamQueueMark = 4 * wire.StreamWindow

// keptShare is the part of the memory budget that what resumable streams
// keep for a resume may take, server-wide: half. Kept items live as long
// as their session, where what a call holds is gone when it returns; the
// other half stays for calls, write queues and what the collector has
// yet to reclaim.
const keptShare = 2

// keep counts n more bytes kept for a resume on the budget.
func (s *Server) keep(n int64) {
	s.budget.take(n)
	s.kept.Add(n)
}

// unkeep counts n bytes kept for a resume given back.
func (s *Server) unkeep(n int64) {
	s.budget.give(n)
	s.kept.Add(-n)
}

// keptFull reports whether what resumable streams keep is at its part of
// the budget.
func (s *Server) keptFull() bool { return s.kept.Load() >= s.budget.limit/keptShare }

// waitPoll waits roomPoll, or until ctx ends.
func waitPoll(ctx context.Context) error {
	t := time.NewTimer(roomPoll)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// batchLarge is the size from which a stream's batch is queued at once.
const batchLarge = 32 << 10

// sendSolo writes an item at once, from the method's goroutine, as the
// reply of a lone call is written: a bidi stream's answer to the item it
// has just consumed, with nothing else queued either way, goes out
// without a hand-over to the connection's send loop (a ping-pong's round
// trip is then a unary call's). It reports false, having sent nothing,
// when the stream left conn or batched items meanwhile.
func (st *serverStream) sendSolo(ctx context.Context, c codec.Codec, v any, conn *serverConn) (bool, error) {
	b := getBuffer()
	defer putBuffer(b)
	b.Write(noHeader[:])
	if err := c.Append(b, v); err != nil {
		return true, fmt.Errorf("%w: %w", errResult, err)
	}
	if n := b.Len() - wire.HeaderSize; n > st.srv.cfg.maxMessageSize {
		return true, fmt.Errorf("%w: item of %d bytes exceeds the %d-byte limit", errResult, n, st.srv.cfg.maxMessageSize)
	}
	frame := b.Bytes()
	wire.PutHeader(frame, wire.KindItem, 0, st.id)
	st.sendMu.Lock()
	defer st.sendMu.Unlock()
	st.mu.Lock()
	if st.conn != conn || st.resuming || st.batch != nil || st.scheduled {
		st.mu.Unlock()
		return false, nil
	}
	st.sent += wire.ItemCost(len(frame) - wire.HeaderSize)
	st.nsent++
	if st.resumable {
		st.kept.add(frame)
		if n := st.kept.grown(); n != 0 {
			st.srv.keep(n)
		}
	}
	st.mu.Unlock()
	if err := conn.w.WriteSolo(ctx, frame); err != nil && (!st.resumable || ctx.Err() != nil) {
		return true, err
	}
	return true, nil // a resumable stream sends it again after the resume
}

// quickItem reports whether v encodes quickly into a few bytes, in any
// codec: a number, a bool or a short string.
func quickItem(v any) bool {
	switch v := v.(type) {
	case int64, int, int32, uint64, uint32, float64, float32, bool, nil, *int64, *int:
		return true
	case string:
		return len(v) <= 64
	case []byte:
		return len(v) <= 64
	}
	return false
}

// noHeader is the room an item's header takes before it is written.
var noHeader [wire.HeaderSize]byte

// putBatchLocked puts b back as the stream's batch and reports whether the
// stream is to be scheduled on its connection's writer: the batch holds
// frames and is not scheduled already. st.mu must be held.
func (st *serverStream) putBatchLocked(b *bytes.Buffer) bool {
	if b.Len() == 0 {
		putBuffer(b)
		st.srv.budget.give(st.batched)
		st.batched = 0
		return false
	}
	st.batch = b
	if st.scheduled {
		return false
	}
	st.scheduled = true
	return true
}

// TakeFrames hands the items of the stream's batch to w's send loop,
// if w is its connection's writer (frameio.Source).
func (st *serverStream) TakeFrames(w *frameio.Writer, push func([]byte)) {
	st.mu.Lock()
	st.scheduled = false
	b := st.batch
	if b == nil || st.conn == nil || st.conn.w != w {
		st.mu.Unlock()
		return
	}
	st.batch = nil
	n := st.batched
	st.batched = 0
	st.mu.Unlock()
	push(b.Bytes()) // which the writer counts
	st.srv.budget.give(n)
	putBuffer(b)
}

// flush writes what the stream's batch holds now, so that its reply,
// written next, follows its items.
func (st *serverStream) flush() {
	st.sendMu.Lock()
	defer st.sendMu.Unlock()
	st.mu.Lock()
	b, conn, n := st.batch, st.conn, st.batched
	st.batch, st.batched = nil, 0
	st.mu.Unlock()
	if b == nil {
		return
	}
	if conn != nil {
		_ = conn.w.Write(conn.ctx, b.Bytes())
	}
	st.srv.budget.give(n)
	putBuffer(b)
}

// releaseLocked gives back n of what the queued items hold: to the
// connection's share while the stream is on one, else to the budget (see
// moveLocked). st.mu must be held.
func (st *serverStream) releaseLocked(n int64) {
	if st.conn != nil {
		st.conn.streamed.Add(-n)
		st.conn.unreserve(n)
	} else {
		st.srv.budget.give(n)
	}
}

// moveLocked puts the stream on conn (nil: detached), moving what its
// queued items hold from the share of the connection it leaves to the
// budget alone, or from the budget to the new connection's share, so that
// a connection's share counts what its own streams hold. st.mu must be
// held.
func (st *serverStream) moveLocked(conn *serverConn) {
	if st.conn == conn {
		return
	}
	if st.conn != nil {
		st.conn.streamed.Add(-st.queued)
		st.conn.unreserve(st.queued)
		st.srv.budget.take(st.queued)
	}
	if conn != nil {
		st.srv.budget.give(st.queued)
		conn.rereserve(0, st.queued)
		conn.streamed.Add(st.queued)
	}
	st.conn = conn
	if st.batch != nil { // items for the connection left, kept to be sent again
		putBuffer(st.batch)
		st.batch = nil
		st.srv.budget.give(st.batched)
		st.batched = 0
	}
	st.scheduled = false
}

// opened tells the client that the stream is open (wire/stream.go).
func (st *serverStream) opened() {
	st.mu.Lock()
	conn := st.conn
	st.mu.Unlock()
	if conn != nil {
		conn.writeWindow(st.id, wire.Window{})
	}
}

// writeWindow writes a window frame for the stream id.
func (sc *serverConn) writeWindow(id uint64, w wire.Window) {
	sc.writeFrame(wire.Header{Kind: wire.KindWindow, ID: id}, wire.AppendWindowBody(nil, w))
}

// input returns the iterator the method receives the client's items
// through, of the parameter's own type.
func (st *serverStream) input(ctx context.Context, c codec.Codec, method string) reflect.Value {
	sh := st.shape
	if typed := typedInputs[sh.inSeq]; typed != nil {
		return reflect.ValueOf(typed(st, ctx, c, method))
	}
	zero := reflect.Zero(sh.in)
	nilErr := reflect.Zero(errorType)
	return reflect.MakeFunc(sh.inSeq, func(a []reflect.Value) []reflect.Value {
		yield := a[0]
		defer st.stopReading()
		for {
			item, ok, err := st.next(ctx)
			if !ok {
				if err != nil && sh.inErr {
					yield.Call([]reflect.Value{zero, reflect.ValueOf(streamContextError(ctx, method))})
				}
				return nil
			}
			v := reflect.New(sh.in)
			if err = c.Unmarshal(item.b, v.Interface()); err != nil {
				e := st.decodeFailed(method, err)
				if sh.inErr {
					yield.Call([]reflect.Value{zero, reflect.ValueOf(e)})
				}
				return nil
			}
			in := []reflect.Value{v.Elem()}
			if sh.inErr {
				in = append(in, nilErr)
			}
			if !yield.Call(in)[0].Bool() {
				return nil
			}
		}
	})
}

// output ranges over the iterator the method returned, sending each item;
// it returns the error that ends the stream early, if any.
func (st *serverStream) output(ctx context.Context, c codec.Codec, method string, seq reflect.Value, stacks bool) (*Error, any) {
	st.opened()
	defer st.flush()
	if seq.IsNil() {
		return nil, nil
	}
	send := func(v any) error { return st.send(ctx, c, v) }
	handled, iterErr, sendErr := rangeTyped(seq.Interface(), send)
	switch {
	case handled:
	case !st.shape.outErr:
		for v := range seq.Seq() {
			if sendErr = send(v.Interface()); sendErr != nil {
				break
			}
		}
	default:
		for v, ev := range seq.Seq2() {
			if iterErr, _ = ev.Interface().(error); iterErr != nil {
				break
			}
			if sendErr = send(v.Interface()); sendErr != nil {
				break
			}
		}
	}
	if iterErr != nil {
		return remoteError(method, iterErr, stacks)
	}
	if sendErr != nil {
		return st.sendError(ctx, method, sendErr), nil
	}
	// An iterator that stopped because the stream's context ended did
	// not finish its stream.
	if ctx.Err() != nil {
		return streamContextError(ctx, method), nil
	}
	return nil, nil
}

// sendError is the error of a stream whose item could not be sent.
func (st *serverStream) sendError(ctx context.Context, method string, err error) *Error {
	if ctx.Err() != nil {
		return streamContextError(ctx, method)
	}
	return resultError(method, err)
}

// decodeFailed records that an item did not decode, for the reply, and
// returns the error.
func (st *serverStream) decodeFailed(method string, err error) *Error {
	e := errorf(CodeInvalidArgument, method, "stream item: %v", err)
	st.mu.Lock()
	st.failed = e
	st.mu.Unlock()
	return e
}

// decodeFailure returns the error of an item that did not decode, if one
// did not.
func (st *serverStream) decodeFailure() *Error {
	st.mu.Lock()
	defer st.mu.Unlock()
	e, _ := st.failed.(*Error)
	return e
}
