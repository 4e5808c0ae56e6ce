package simplerpc

import (
	"bytes"
	"fmt"

	"github.com/simplerpc/simplerpc/internal/wire"
)

// Resuming a stream (PROTOCOL.md §12). When a connection of a session
// breaks, its streams are detached, not ended: their methods go on until
// their windows fill, and the items they send meanwhile are kept. The
// client's next connection resumes the session and sends, for each
// stream, its call frame again — which the session's owner check vets as
// it vets any call — then a window frame flagged resume, saying how many
// items it has received. The server puts the stream on the new
// connection, sends back its own resume window (the items it has received
// from the client), then every kept item the client has not received,
// and the stream's reply if it has finished. Each side drops, on a
// connection the stream has left, what arrives from it; so no item is
// lost or taken twice, and the method is not run again.

// resumeCall takes a call frame for id, a stream of the session, as the
// start of its resume on sc, and reports whether it was one.
func (sc *serverConn) resumeCall(id uint64) bool {
	if sc.sess == nil || sc.probation {
		return false
	}
	st := sc.sess.streams.get(id)
	if st == nil {
		return false
	}
	st.mu.Lock()
	st.resumeOn = sc
	st.mu.Unlock()
	return true
}

// resumeStream takes in a window frame flagged resume for st: the client
// has received w.Items items and consumed their cost up to w.Bytes.
func (sc *serverConn) resumeStream(st *serverStream, h wire.Header, body []byte) error {
	st.sendMu.Lock()
	defer st.sendMu.Unlock()
	st.mu.Lock()
	if st.resumeOn != sc {
		st.mu.Unlock()
		return fmt.Errorf("%w: window frame resuming call %d, whose call did not come again on this connection", errProtocol, h.ID)
	}
	w, err := wire.ParseWindowBody(body, wire.Window{Items: st.kept.from, Bytes: st.peer.Bytes})
	if err == nil && w.Items > st.nsent {
		err = fmt.Errorf("the client says it received %d items of the %d sent", w.Items, st.nsent)
	}
	if err != nil {
		st.mu.Unlock()
		return fmt.Errorf("%w: call %d: %w", errProtocol, h.ID, err)
	}
	st.resumeOn = nil
	st.resuming = true
	st.moveLocked(sc)
	st.peer.Bytes = w.Bytes
	freed := st.kept.trim(w.Items)
	frames := st.kept.copies()
	reply := st.reply
	mine := wire.Window{Items: st.recvd, Bytes: st.consumed.w.Bytes}
	st.mu.Unlock()
	st.srv.unkeep(freed)
	frame := wire.AppendHeader(nil, wire.Header{Kind: wire.KindWindow, Flags: wire.FlagResume, ID: st.id, Size: wire.WindowBodySize})
	_ = sc.w.WriteControl(wire.AppendWindowBody(frame, mine))
	for _, f := range frames {
		_ = sc.w.Write(sc.ctx, f)
	}
	if reply != nil {
		_ = sc.w.Write(sc.ctx, reply)
	}
	st.mu.Lock()
	st.resuming = false
	st.mu.Unlock()
	st.signal()
	return nil
}

// finish sends the reply of a resumable stream, frame, after its items,
// and keeps it until the client acknowledges it: a resume sends it again.
func (st *serverStream) finish(frame []byte) {
	st.sendMu.Lock()
	defer st.sendMu.Unlock()
	reply := bytes.Clone(frame)
	st.mu.Lock()
	st.reply = reply // which forget may drop meanwhile: written from reply
	st.srv.budget.take(int64(len(reply)))
	conn := st.conn
	st.mu.Unlock()
	if conn != nil {
		_ = conn.w.Write(conn.ctx, reply)
	}
}

// isFinished reports whether the stream's call has returned.
func (st *serverStream) isFinished() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.reply != nil
}

// forget gives back what a stream no one will resume holds: its kept
// items and reply.
func (st *serverStream) forget() {
	st.mu.Lock()
	n, reply := st.kept.clear(), int64(len(st.reply))
	st.reply = nil
	st.mu.Unlock()
	st.srv.unkeep(n)
	st.srv.budget.give(reply)
}
