package simplerpc

import (
	"context"
	"errors"
	"sync"
	"time"
)

// streamKey carries a stream call's serverStream in its context, from
// the reader that opened it to invoke.
type streamKey struct{}

// streamsOf is a table of running streams, by call id: a session's (its
// streams outlive their connections) or, outside a session, a
// connection's.
//
// Locks: mu guards m; a stream's own locks may be taken under it.
type streamsOf struct {
	mu sync.Mutex
	m  map[uint64]*serverStream
}

// streamTable returns the table sc's streams go in, and whether they
// outlive sc: the session's, once sc is the session's connection, or
// sc's own.
func (sc *serverConn) streamTable() (*streamsOf, bool) {
	if sc.sess != nil && !sc.probation {
		return &sc.sess.streams, true
	}
	return &sc.ownStreams, false
}

func (ss *streamsOf) add(st *serverStream) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.m == nil {
		ss.m = make(map[uint64]*serverStream)
	}
	ss.m[st.id] = st
}

func (ss *streamsOf) get(id uint64) *serverStream {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.m[id]
}

// remove forgets the stream id and gives back the budget its kept items
// held.
func (ss *streamsOf) remove(id uint64) {
	ss.mu.Lock()
	st := ss.m[id]
	delete(ss.m, id)
	ss.mu.Unlock()
	if st != nil {
		st.forget()
	}
}

// settled forgets the finished streams whose ids are at most acked: the
// client has their replies.
func (ss *streamsOf) settled(acked uint64) {
	ss.mu.Lock()
	var done []*serverStream
	for id, st := range ss.m {
		if id <= acked && st.isFinished() {
			done = append(done, st)
			delete(ss.m, id)
		}
	}
	ss.mu.Unlock()
	for _, st := range done {
		st.forget()
	}
}

// detach takes the streams on sc off it: their connection ended, and a
// resume of the session may bring them back.
func (ss *streamsOf) detach(sc *serverConn) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for _, st := range ss.m {
		st.mu.Lock()
		if st.conn == sc {
			st.moveLocked(nil)
		}
		if st.resumeOn == sc {
			st.resumeOn = nil
		}
		st.mu.Unlock()
	}
}

// clear forgets every stream: the session ended.
func (ss *streamsOf) clear() {
	ss.mu.Lock()
	all := ss.m
	ss.m = nil
	ss.mu.Unlock()
	for _, st := range all {
		st.forget()
	}
}

// stopAll ends the context of every running stream with cause, and
// returns how many there were.
func (ss *streamsOf) stopAll(cause error) int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	n := 0
	for _, st := range ss.m {
		if st.stop != nil && !st.isFinished() {
			st.stop(cause)
			n++
		}
	}
	return n
}

// running returns how many of its streams have not finished.
func (ss *streamsOf) running() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	n := 0
	for _, st := range ss.m {
		if !st.isFinished() {
			n++
		}
	}
	return n
}

// errShutdownStream is the cause of the end of a stream that Shutdown
// cut short; errConnEnded, of one whose connection ended.
var (
	errShutdownStream = errors.New("the server shut down before the stream finished")
	errConnEnded      = errors.New("the stream's connection ended")
)

// streamContextError is the error of a stream whose context ended: as a
// call's (canceled, deadline exceeded), but unavailable when Shutdown
// ended it.
func streamContextError(ctx context.Context, method string) *Error {
	if cause := context.Cause(ctx); errors.Is(cause, errShutdownStream) {
		return newError(CodeUnavailable, method, cause)
	}
	return contextError(method, ctx.Err())
}

// streamMismatch refuses a call that opens a stream to a method that
// does not stream, or the other way round.
func streamMismatch(m *method, stream bool) *Error {
	switch {
	case stream && m.stream == nil:
		return errorf(CodeInvalidArgument, m.name, "%s does not stream: call it as a call; call not run", m.name)
	case !stream && m.stream != nil:
		return errorf(CodeInvalidArgument, m.name, "%s streams (%s): it needs a client that opens streams; call not run", m.name, m.stream.kind())
	}
	return nil
}

// runStream runs a stream call in its own goroutine. A stream outside a
// session ends with its connection; one in a session, with the session
// (its context's parent), unless a connection resumes it first.
func (sc *serverConn) runStream(t task) {
	ctx, stop := context.WithCancelCause(t.ctx)
	table, _ := sc.streamTable()
	table.mu.Lock()
	t.stream.stop = stop
	table.mu.Unlock()
	unhook := func() bool { return false }
	if !t.stream.resumable {
		unhook = context.AfterFunc(sc.ctx, func() { stop(errConnEnded) })
	}
	defer func() {
		unhook()
		stop(nil)
		t.stream.stopReading()
		if !t.stream.resumable {
			table.remove(t.id)
		}
	}()
	sc.run(t.id, t.m, ctx, t.cancel, t.args, t.reserve, t.stream)
}

// streamGrace is how long Shutdown, its context ended, waits for the
// streams it cancels to send their replies.
const streamGrace = 100 * time.Millisecond

// stopStreams ends the streams running on conns, when Shutdown's context
// has ended: each ends with CodeUnavailable, whose reply Shutdown waits
// for a little (streamGrace) before it leaves the rest to Close.
func stopStreams(conns []*serverConn) {
	tables := make(map[*streamsOf]bool)
	for _, sc := range conns {
		table, _ := sc.streamTable()
		tables[table] = true
	}
	n := 0
	for table := range tables {
		n += table.stopAll(errShutdownStream)
	}
	for deadline := time.Now().Add(streamGrace); n > 0 && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		n = 0
		for table := range tables {
			n += table.running()
		}
	}
}

// stopDetachedStreams ends the streams of sessions that have no
// connection: once Shutdown has begun no connection can resume them, and
// they would hold Shutdown up until their sessions expired.
func (s *Server) stopDetachedStreams() {
	s.mu.Lock()
	tables := make([]*streamsOf, 0, len(s.sessions))
	for _, sess := range s.sessions {
		tables = append(tables, &sess.streams)
	}
	s.mu.Unlock()
	for _, table := range tables {
		table.stopDetached(errShutdownStream)
	}
}

// stopDetached ends, with cause, the running streams that are on no
// connection.
func (ss *streamsOf) stopDetached(cause error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for _, st := range ss.m {
		st.mu.Lock()
		detached := st.conn == nil && st.reply == nil
		st.mu.Unlock()
		if detached && st.stop != nil {
			st.stop(cause)
		}
	}
}
