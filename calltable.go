package simplerpc

import (
	"bytes"
	"crypto/rand"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/simplerpc/simplerpc/internal/frameio"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// callTable is the client half of a session with one server: the session
// id, the call ids handed out, the calls waiting for replies and what has
// been acknowledged. It is data under one mutex and does no I/O. The call
// path registers calls and takes back those it gives up on; a
// connection's reader completes them and reports the connection's end;
// the endpoint hands orphaned calls to a new connection. Each operation
// is one step of a call's life:
//
//	           register
//	              │
//	              ▼         complete            ┌───────────┐
//	  ┌──────► pending ───────────────────────► │ answered  │ (the reader owns it)
//	  │        on a lane ──remove / unsend────► │ taken back│ (the caller owns it)
//	adopt         │                             │ failed    │ (done signaled)
//	  │       end (kept)                        └───────────┘
//	  │           ▼                                   ▲
//	  └─────── orphaned ─────── answered(not resumed), ┘
//	                            failOrphans, close
//
// A call is owned by whoever takes it out of the table: the reader that
// completes it, the caller that removes it, or the table itself when it
// fails it (failAll). The owner signals done exactly once.
//
// Streams. A stream is a pending call with a clientStream attached
// (stream_client.go), numbered from the same counter, on the same lanes.
// Its items and windows arrive as frames of their own kinds, routed
// through stream, so complete, the unary reply's fast path, never looks at
// them; its reply completes it as any call's. The sweep that orphans a
// connection's calls detaches its streams, and the one that adopts them
// sends each stream's call frame again followed by a resume window.
type callTable struct {
	// active counts the calls registered whose callers have not yet
	// returned (leave): a call whose reply was read but whose caller has
	// not run yet still counts, so that callers woken together by a burst
	// of replies share a write rather than each making its own. The write
	// path and Endpoint.InFlight read it without mu.
	active atomic.Int64
	_      [56]byte // active on a cache line of its own: callers leaving do not contend with mu

	noSessions bool // no session: calls never outlive their connection, and no acks are sent

	mu       sync.Mutex // guards every field below; only a clientStream's mu is taken under it
	sid      [wire.SessionIDSize]byte
	named    bool                    // a hello named sid: later ones ask to resume it
	next     uint64                  // the last call id handed out
	low      uint64                  // no id below it is pending (the ack floor)
	calls    map[uint64]*pendingCall // calls waiting for replies, by id
	orphans  int                     // calls in calls whose connection broke (lane nil)
	settled  int                     // replies since the last ack written on its own
	idle     int                     // replies since the last ack, written or to be carried by a call
	settledB int                     // bytes of them
	retired  bool                    // the server left the target: no new calls
	closed   bool                    // the endpoint closed: no new calls, no orphans
}

// A lane is the call table's record of one connection. Its fields are
// guarded by the table's mu, except conn, which is set before the lane is
// first used and never changes.
type lane struct {
	conn *clientConn // where a cancel for a call on this lane is written; the table only hands it back
	open bool        // calls may be registered on, or adopted by, this connection
	n    int         // calls pending on this lane
}

// newLane returns the open lane of a new connection.
func newLane(cc *clientConn) *lane { return &lane{conn: cc, open: true} }

// pendingCall is a call waiting for its reply. The goroutine that takes it
// out of the call table owns it and must signal done exactly once.
type pendingCall struct {
	method  string
	on      *lane         // the connection it was sent on; nil while orphaned; guarded by the table's mu
	frame   *bytes.Buffer // the encoded call, kept to re-send it
	results []any         // the caller's result pointers, copied into small when they fit
	small   [4]any
	err     error
	done    chan struct{}
	stream  *clientStream    // the call's stream, if it opens one
	reply   []byte           // a stream's reply body, decoded by Finish
	size    int              // the size of the results received, for interceptors (CallInfo.ResponseSize)
	cb      *clientCallbacks // the funcs passed with the call, if any
	// awaited is the writer told (Expect) that the caller, woken by the
	// reply, may soon send again; the caller tells it when it has woken.
	awaited *frameio.Writer
}

var pendingPool = sync.Pool{New: func() any { return &pendingCall{done: make(chan struct{}, 1)} }}

// release returns a settled call to the pool.
func (pc *pendingCall) release() {
	clear(pc.small[:])
	pc.results, pc.err, pc.on, pc.frame, pc.stream, pc.reply, pc.size, pc.cb, pc.awaited = nil, nil, nil, nil, nil, nil, 0, nil, nil
	pendingPool.Put(pc)
}

// A client acks after ackEvery replies or ackBytes of them, whichever
// comes first: acks let the server forget the replies it keeps for calls
// that might be sent again.
const (
	ackEvery = 128
	ackBytes = 1 << 20
	// idleAckEvery is the replies after which a reply that leaves its
	// connection with no call pending is acked too, the ack riding on
	// the connection's next call (idleack.go): a client with one caller
	// per connection never has ackEvery replies outstanding, and would
	// make the server keep up to ackEvery replies per connection.
	idleAckEvery = 16
)

// errSessionLost is the cause of calls lost with their session.
var errSessionLost = errors.New("session lost")

// newCallTable returns the table of a new session with a random id.
func newCallTable(noSessions bool) *callTable {
	t := &callTable{noSessions: noSessions, calls: make(map[uint64]*pendingCall)}
	_, _ = rand.Read(t.sid[:])
	return t
}

// ---- the session ----

// hello returns the session id for a hello and whether to ask the server
// to resume it. From then on the session counts as named: even a
// handshake that failed may have reached the server, which then holds the
// session, and a later hello without resume would be refused.
func (t *callTable) hello() (sid [wire.SessionIDSize]byte, resume bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sid, resume = t.sid, t.named
	t.named = true
	return sid, resume
}

// renew picks a new session id, for a server that refused the old one:
// the next hello starts a new session.
func (t *callTable) renew() {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, _ = rand.Read(t.sid[:])
	t.named = false
}

// answered records the welcome of a new connection. When the server did
// not resume the session, the orphaned calls are lost with it and fail;
// when it did, they stay to be adopted.
func (t *callTable) answered(resumed bool) {
	if resumed {
		return
	}
	t.failOrphans(CodeConnectionLost, "the server no longer knows the session (was it restarted?); the call may or may not have run", errSessionLost)
}

// ---- the call path ----

// register numbers pc, writes the id into its frame and records it as
// pending on l, unless l takes no new calls. It returns the calls now in
// flight, pc included: with one, no other call shares the write. A
// caller whose call was registered calls leave when it returns.
func (t *callTable) register(l *lane, pc *pendingCall) (id uint64, inflight int, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.retired || t.closed || !l.open {
		return 0, 0, false
	}
	t.next++
	// The id is written into the frame before the call is published: once
	// pending, an orphan's frame is copied to be re-sent (adopt), under mu.
	wire.PutID(pc.frame.Bytes(), t.next)
	pc.on = l
	l.n++
	t.calls[t.next] = pc
	return t.next, int(t.active.Add(1)), true
}

// leave records that the caller of a registered call has returned.
func (t *callTable) leave() { t.active.Add(-1) }

// remove takes call id out for a caller that gives up on it, reporting
// whether it was still there (and so is now the caller's) and the
// connection it was sent on, if any, to cancel it there.
func (t *callTable) remove(id uint64) (sentOn *clientConn, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	pc := t.calls[id]
	if pc == nil {
		return nil, false
	}
	if pc.on != nil {
		sentOn = pc.on.conn
	}
	t.deleteLocked(id, pc)
	return sentOn, true
}

// unsend takes out call id, whose frame could not be written on l, unless
// it was meanwhile re-sent on another connection or answered: it reports
// whether it did, and so whether the call never left.
func (t *callTable) unsend(id uint64, l *lane) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	pc := t.calls[id]
	if pc == nil || pc.on != l && pc.on != nil {
		return false
	}
	t.deleteLocked(id, pc)
	return true
}

// ---- what a connection reports ----

// settle says what follows a reply: whether to ack, and up to which id,
// and whether the connection it came on is drained — it takes no new
// calls and carries none.
type settle struct {
	ack     uint64 // every id up to it is settled
	sendAck bool   // write an ack of it now
	lazy    bool   // or have the connection's next call carry it (idleAckEvery)
	drained bool
}

// complete takes the call a reply of size bytes answers, if it is still
// pending (nil if not: a late reply). l is the connection the reply came
// on, which need not be the one the call was sent on.
func (t *callTable) complete(l *lane, id uint64, size int) (*pendingCall, settle) {
	t.mu.Lock()
	defer t.mu.Unlock()
	pc := t.calls[id]
	if pc == nil {
		return nil, settle{drained: !l.open && l.n == 0}
	}
	t.deleteLocked(id, pc)
	s := settle{drained: !l.open && l.n == 0}
	if t.noSessions {
		return pc, s
	}
	t.settled++
	t.settledB += size
	t.idle++
	if t.settled < ackEvery && t.settledB < ackBytes {
		if l.n > 0 || t.idle < idleAckEvery {
			return pc, s
		}
		s.lazy = true
	} else {
		t.settled, t.settledB = 0, 0
	}
	t.idle = 0
	// Ids are handed out in order and never pending again once settled:
	// the lowest one still pending only moves up, one lookup per id.
	for t.low = max(t.low, 1); t.low <= t.next; t.low++ {
		if _, waiting := t.calls[t.low]; waiting {
			break
		}
	}
	s.ack, s.sendAck = t.low-1, !s.lazy
	return pc, s
}

// stream returns the stream of the pending call id, or nil.
func (t *callTable) stream(id uint64) *clientStream {
	t.mu.Lock()
	defer t.mu.Unlock()
	if pc := t.calls[id]; pc != nil {
		return pc.stream
	}
	return nil
}

// stop records that l takes no new calls (the server sent go-away, or a
// write failed), and reports whether it carries none.
func (t *callTable) stop(l *lane) (idle bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	l.open = false
	return l.n == 0
}

// end records that l's connection ended for reason. Its calls fail — with
// CodeUnavailable when final, the server's promise that they were not run
// — or, with a session and a connection that broke, become orphans, to be
// re-sent on the next connection (adopt).
func (t *callTable) end(l *lane, reason error, final bool) {
	t.mu.Lock()
	l.open = false
	keep := !final && !t.closed && !t.noSessions
	failed := t.moveLocked(l, nil, !keep, nil)
	t.mu.Unlock()
	if final {
		failAll(failed, CodeUnavailable, "server went away before running the call", reason)
	} else {
		failAll(failed, CodeConnectionLost, "connection lost while the call was in flight (it may or may not have run): "+reason.Error(), reason)
	}
}

// ---- the endpoint's side ----

// adopt hands the orphans to l, returning their frames to send again on
// it, unless l takes no new calls. The caller must put the buffer back
// (putBuffer).
func (t *callTable) adopt(l *lane) (resend *bytes.Buffer, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !l.open {
		return nil, false
	}
	resend = getBuffer()
	t.moveLocked(nil, l, false, resend)
	return resend, true
}

// failOrphans fails every orphaned call with an error of the given code.
func (t *callTable) failOrphans(code Code, msg string, cause error) {
	t.mu.Lock()
	lost := t.moveLocked(nil, nil, true, nil)
	t.mu.Unlock()
	failAll(lost, code, msg, cause)
}

// orphaned returns the number of calls waiting for a connection.
func (t *callTable) orphaned() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.orphans
}

// pending returns the number of calls waiting for replies.
func (t *callTable) pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.calls)
}

// inFlight returns the calls registered whose callers have not returned.
func (t *callTable) inFlight() int { return int(t.active.Load()) }

// retire refuses new calls: the server left the target. Calls in flight
// go on.
func (t *callTable) retire() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.retired = true
}

// close refuses new calls and orphans, and fails the orphans there are:
// the endpoint is closing, and no connection will carry them.
func (t *callTable) close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.failOrphans(CodeConnectionLost, "client closed while the call was in flight (it may or may not have run)", ErrClientClosed)
}

// ---- inside the table ----

// deleteLocked takes pending call pc, numbered id, out. t.mu must be held.
func (t *callTable) deleteLocked(id uint64, pc *pendingCall) {
	delete(t.calls, id)
	t.countLocked(pc.on, -1)
	if pc.stream != nil {
		pc.stream.gone.Store(true) // see clientConn.streamFrame
	}
}

// countLocked adds d to the calls counted on l (nil: the orphans). t.mu
// must be held.
func (t *callTable) countLocked(l *lane, d int) {
	if l == nil {
		t.orphans += d
	} else {
		l.n += d
	}
}

// moveLocked is the one sweep over the pending calls: those on from (nil:
// the orphans) move to to (nil: they become orphans), their frames
// appended to frames if it is not nil — or, with drop, leave the table and
// are returned, for the caller to fail. t.mu must be held.
func (t *callTable) moveLocked(from, to *lane, drop bool, frames *bytes.Buffer) (dropped []*pendingCall) {
	if from == nil && t.orphans == 0 || from != nil && from.n == 0 || from == to && !drop {
		return nil
	}
	for id, pc := range t.calls {
		if pc.on != from {
			continue
		}
		if drop {
			t.deleteLocked(id, pc)
			dropped = append(dropped, pc)
			continue
		}
		t.countLocked(from, -1)
		t.countLocked(to, +1)
		pc.on = to
		if pc.stream != nil && to == nil {
			pc.stream.detachLocked()
		}
		if frames != nil {
			frames.Write(pc.frame.Bytes())
			if pc.stream != nil {
				// A stream resumes after its call comes again (stream_resume.go).
				frames.Write(pc.stream.resumeFrame(to.conn))
			}
		}
	}
	return dropped
}

// failAll completes calls with an error of the given code.
func failAll(pcs []*pendingCall, code Code, msg string, cause error) {
	for _, pc := range pcs {
		pc.err = withCause(&Error{Code: code, Method: pc.method, Message: msg}, cause)
		pc.done <- struct{}{}
	}
}
