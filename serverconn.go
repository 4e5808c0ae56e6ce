package simplerpc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simplerpc/simplerpc/internal/codec"
	"github.com/simplerpc/simplerpc/internal/frameio"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// minBacklog is the least backlogLimit is; it is twice the maximum
// message size when that is larger.
const minBacklog = 8 << 20

// backlogLimit bounds the bytes of replies a server holds for one
// connection: unsent ones in its write queue, where a finished call waits
// for room past the limit, or unacknowledged ones in its session, which
// past it can no longer be resumed. The connection's reader stops taking
// in calls while a quarter of it waits to be sent, so that a client
// reading its replies slower than it sends calls is slowed down, through
// TCP, rather than let the queue grow.
func (s *Server) backlogLimit() int { return max(minBacklog, 2*s.cfg.maxMessageSize) }

// serverConn is the server's side of one client connection. Its reader
// goroutine (serve) owns the connection; the writer's send loop runs
// while replies wait; calls run in the reader or in call goroutines
// (scheduler.go). It has no mutex: the fields set at openConn are read
// only after (cancels changes once, on the reader, when a resumed
// connection is vetted, before any of its calls runs); probation and
// vetted are the reader's own; the rest are
// atomics, a channel, or guarded by what they belong to (the session's
// mu, the writer's).
type serverConn struct {
	srv    *Server
	nc     net.Conn // the connection, TLS if it is one
	raw    net.Conn // the TCP connection under nc
	act    *activity
	rd     io.Reader     // what nc's bytes are read through
	br     *bufio.Reader // rd, buffered for the handshake
	codec  codec.Codec
	w      *frameio.Writer
	peer   string          // the client's address
	ctx    context.Context // canceled when the connection ends
	cancel context.CancelFunc

	goingAway atomic.Bool
	fr        *frameio.Reader
	sched     connScheduler // where its calls run (scheduler.go)

	streamsOK bool // the client may open streams (the hello asked, the welcome granted)
	packOK    bool // the client takes packed item frames (the hello asked, the welcome granted)
	compress  bool // compression was granted (compress.go)

	callbacksOK bool           // the client runs callbacks (the hello asked, the welcome granted)
	cbs         *callbackTable // its calls' callbacks in flight, without a session; made by the reader at the first (callback_server.go)

	ownStreams streamsOf // its running streams outside a session, by call id (stream_table.go)

	cancels *cancelSet // running calls that take a context (the session's, if any)
	sess    *session   // nil when the client keeps no session
	keep    *keepalive

	// Owned by the reading goroutine. probation: the connection resumed
	// sess but has yet to prove who it is (vet); vetted: it has, or it
	// opened sess and gave it its identity.
	probation bool
	vetted    bool

	reserved atomic.Int64 // the budget reserved by its running calls (see reserve)
	streamed atomic.Int64 // of reserved, what the items queued for its streams hold (stream_server.go)
	roomWait atomic.Bool  // the reader waits for reserved to fall; unreserve wakes it
}

// serveConn runs one connection to its end. The setup (TLS, handshake,
// session) runs in a function of its own so that its large frame is gone
// from the stack while the connection waits for frames: an idle
// connection's goroutine then fits in a small stack.
func (s *Server) serveConn(nc net.Conn) {
	var once sync.Once
	leave := func() { once.Do(s.connWG.Done) }
	if sc := s.openConn(nc, leave); sc != nil {
		sc.serve()
		return
	}
	leave()
}

// connLogger returns the server's logger with the peer's address.
func (s *Server) connLogger(nc net.Conn) *slog.Logger {
	return s.cfg.logger.With(slog.String("remote", nc.RemoteAddr().String()))
}

// openConn runs a new connection up to its first frame: it answers TLS
// and the hello, hands a foreign connection to the HTTP front, and
// returns the connection ready to serve, or nil, with nc closed, when the
// connection ended there.
func (s *Server) openConn(nc net.Conn, leave func()) *serverConn {
	raw := nc
	act := newActivity(nc)
	var rd io.Reader = act
	br := bufio.NewReaderSize(rd, 4096)
	_ = nc.SetReadDeadline(time.Now().Add(s.cfg.handshakeTimeout))
	if s.cfg.tls != nil {
		var ok bool
		if nc, ok = s.acceptTLS(nc, act, br); !ok {
			raw.Close()
			return nil
		}
		rd = nc
		br = bufio.NewReaderSize(rd, 4096)
	}
	magic, err := br.Peek(len(wire.Magic))
	switch {
	case err == nil && string(magic) != wire.Magic:
		s.serveForeign(nc, br, leave)
		nc.Close()
		raw.Close()
		return nil
	case len(magic) == 0 && errors.Is(err, io.EOF):
		// Closed before sending a byte: a spare connection a client
		// opened and did not use. Nothing failed.
		s.cfg.logger.Debug("simplerpc: connection closed before its hello", slog.String("remote", raw.RemoteAddr().String()))
		nc.Close()
		raw.Close()
		return nil
	}
	c, hello, welcome, err := s.readHello(br)
	sc := &serverConn{srv: s, nc: nc, raw: raw, codec: c, peer: nc.RemoteAddr().String(), cancels: newCancelSet(),
		act: act, rd: rd, br: br}
	sc.sched.wake = make(chan struct{}, 1)
	sc.ctx, sc.cancel = context.WithCancel(context.Background())
	// A client that does not read at all loses the connection when a
	// write makes no progress for the write timeout.
	sc.w = frameio.NewWriter(nc, s.cfg.writeTimeout, s.backlogLimit(),
		func(error) { sc.abort() }) // a failed write ends the connection
	sc.w.Account(&s.budget.used)
	if err == nil && !s.track(sc, true) {
		sc.close()
		return nil
	}
	// Before the session: its other connections may send callbacks
	// here as soon as it is attached.
	if err == nil && hello.Flags&wire.HelloCallbacks != 0 {
		sc.callbacksOK = true
		welcome.Flags |= wire.WelcomeCallbacks
	}
	if err == nil && hello.Flags&wire.HelloSession != 0 {
		sess, res := s.attachSession(hello, sc)
		switch res {
		case sessionRefused:
			welcome.Status = wire.StatusSessionRefused
			err = errSessionRefused
		case sessionResumed:
			welcome.Flags |= wire.WelcomeResumed
		}
		if sc.sess = sess; sess != nil && !sc.probation {
			sc.cancels = sess.cancels
		}
	}
	if err == nil && hello.Flags&wire.HelloStreams != 0 {
		sc.streamsOK = true
		welcome.Flags |= wire.WelcomeStreams
		if hello.Flags&wire.HelloPacked != 0 {
			sc.packOK = true // stream_server.go packs items
			welcome.Flags |= wire.WelcomePacked
		}
	}
	if err == nil {
		sc.grantCompression(hello, welcome)
	}
	if welcome != nil {
		_ = nc.SetWriteDeadline(time.Now().Add(s.cfg.handshakeTimeout))
		if _, werr := nc.Write(wire.AppendWelcome(nil, *welcome)); werr != nil && err == nil {
			err = fmt.Errorf("writing welcome: %w", werr)
		}
	}
	if err != nil {
		s.logs.log(s.connLogger(raw), slog.LevelWarn, "simplerpc: handshake failed; connection closed", slog.Any("error", err))
		sc.close()
		return nil
	}
	_ = nc.SetDeadline(time.Time{})
	return sc
}

// serve reads the connection's frames until it ends, then closes it.
func (sc *serverConn) serve() {
	s := sc.srv
	sc.keep = startKeepalive(s.cfg.keepInterval, s.cfg.keepTimeout, sc.act, sc.ping, sc.keepaliveDead)
	// The frame reader takes over from the handshake's buffer, which is
	// dropped: an idle connection keeps no buffer.
	ahead, _ := sc.br.Peek(sc.br.Buffered())
	sc.fr = frameio.NewReader(sc.rd, ahead, s.cfg.maxMessageSize)
	sc.fr.Idle = &sc.sched.readerIdle
	useRaw(sc.fr, sc.nc, sc.act)
	sc.serveCompressed()
	sc.br = nil
	sc.read()
}

// read runs the read loop until the connection ends, then closes it —
// unless another goroutine took the reading over while this one ran a
// call, in which case that goroutine will.
func (sc *serverConn) read() {
	err := sc.readLoop()
	if err == errTakenOver {
		return
	}
	sc.fr.Release() // the last frame's buffers: a decoded body is counted on the budget
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, errResumeRefused) {
		sc.srv.logs.log(sc.logger(), slog.LevelWarn, "simplerpc: connection closed", slog.Any("reason", err))
	}
	sc.keep.stop()
	sc.sched.stop()
	sc.close()
	sc.srv.connWG.Done()
}

// close ends the connection: it cancels what runs for it, stops its
// writer, closes it, and leaves the server's books and its session.
func (sc *serverConn) close() {
	sc.cancel()
	sc.w.Close()
	sc.nc.Close()
	sc.raw.Close()
	<-sc.w.Done()
	sc.srv.track(sc, false)
	sc.closeCallbacks()
	if sc.sess != nil {
		sc.sess.streams.detach(sc)
		sc.sess.detach(sc)
	}
}

// ping sends a keepalive ping.
func (sc *serverConn) ping() { sc.writeFrame(wire.Header{Kind: wire.KindPing}, nil) }

// keepaliveDead closes a connection whose peer stopped answering.
func (sc *serverConn) keepaliveDead(err error) {
	sc.srv.logs.log(sc.logger(), slog.LevelWarn, "simplerpc: connection closed", slog.Any("reason", err))
	sc.abort()
}

// abort ends the connection from outside its reader: it cancels the
// connection's context, which wakes a reader waiting for room, and
// closes the connection, which ends the reader's read.
func (sc *serverConn) abort() {
	sc.cancel()
	sc.nc.Close()
}

// logger returns the server's logger with the client's address; it is
// made only when there is something to log.
func (sc *serverConn) logger() *slog.Logger { return sc.srv.connLogger(sc.nc) }

// readHello reads the client's hello and prepares the welcome that
// answers it. With an error, the welcome (if the hello was read far
// enough to answer it) says why.
func (s *Server) readHello(br *bufio.Reader) (codec.Codec, wire.Hello, *wire.Welcome, error) {
	// Magic and version first: a client of another version may send a
	// hello of another shape, or wait for the welcome before sending the
	// rest, so the server answers it on these five bytes alone.
	head, err := br.Peek(wire.HelloVersionSize)
	if err != nil {
		return nil, wire.Hello{}, nil, fmt.Errorf("reading hello: %w", err)
	}
	version, err := wire.ParseHelloVersion(head)
	if err != nil {
		return nil, wire.Hello{}, nil, err
	}
	welcome := &wire.Welcome{Version: wire.Version, MaxBody: uint32(s.cfg.maxMessageSize)}
	if version != wire.Version {
		welcome.Status = wire.StatusBadVersion
		return nil, wire.Hello{Version: version}, welcome, fmt.Errorf("client speaks protocol version %d, server speaks %d", version, wire.Version)
	}
	prefix, err := br.Peek(wire.HelloPrefixSize)
	if err != nil {
		return nil, wire.Hello{}, nil, fmt.Errorf("reading hello: %w", err)
	}
	hello, n, err := wire.ParseHelloPrefix(prefix)
	if err != nil {
		return nil, hello, nil, err
	}
	if _, err := br.Discard(wire.HelloPrefixSize); err != nil {
		return nil, hello, nil, err
	}
	rest := make([]byte, n)
	if _, err := io.ReadFull(br, rest); err != nil {
		return nil, hello, nil, fmt.Errorf("reading hello: %w", err)
	}
	wire.ParseHelloRest(&hello, rest)
	c := codec.ByName(hello.Codec)
	if c == nil {
		welcome.Status = wire.StatusBadCodec
		return nil, hello, welcome, fmt.Errorf("unknown codec %q", hello.Codec)
	}
	if hello.Flags&(wire.HelloSession|wire.HelloResume) == wire.HelloResume {
		// Resuming names no session: the client is confused about which
		// it holds, and is told, as for any session it cannot have, to
		// start a new one.
		welcome.Status = wire.StatusSessionRefused
		return nil, hello, welcome, errors.New("hello asks to resume a session without naming one")
	}
	return c, hello, welcome, nil
}

// readLoop reads frames until the connection fails or the peer breaks the
// protocol, or until another goroutine takes the reading over
// (errTakenOver).
func (sc *serverConn) readLoop() error {
	pause := sc.srv.backlogLimit() / 4
	share := sc.srv.connShare()
	for {
		// A writer that stopped is no reason to stop reading: a failed
		// write closed the connection, which Next reports; a graceful
		// close reads on until the client hangs up.
		_ = sc.w.WaitBelow(sc.ctx, pause)
		sc.waitRoom(share)
		h, body, err := sc.fr.Next()
		if err != nil {
			return err
		}
		switch h.Kind {
		case wire.KindCall:
			t, ok, err := sc.startCall(h, body)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			if !sc.dispatch(t, sc.fr.Buffered() > 0) {
				return errTakenOver
			}
		case wire.KindCancel:
			sc.cancels.cancel(h.ID)
		case wire.KindAck:
			frames, ok, err := wire.ParseAckBody(body)
			if err != nil {
				return fmt.Errorf("%w: %w", errProtocol, err)
			}
			if sc.sess != nil && !sc.probation {
				sc.sess.ack(h.ID)
				if ok {
					sc.sess.delivered(sc, frames)
				}
			}
		case wire.KindItem, wire.KindWindow:
			if !sc.streamsOK {
				return fmt.Errorf("%w: client sent a %s frame without asking for streams in its hello", errProtocol, h.Kind)
			}
			if h.Kind == wire.KindItem {
				err = sc.streamItem(h, body)
			} else {
				err = sc.streamWindow(h, body)
			}
			if err != nil {
				return err
			}
		case wire.KindCallbackReply:
			if err := sc.callbackReply(h, body); err != nil {
				return err
			}
		case wire.KindPing:
			sc.writeFrame(wire.Header{Kind: wire.KindPong, ID: h.ID}, nil)
		case wire.KindPong:
		default:
			return fmt.Errorf("%w: client sent a %s frame", errProtocol, h.Kind)
		}
	}
}

// startCall parses a call frame and admits the call, returning it ready to
// run (ok true), or answers it with an error at once. Only a malformed
// frame returns an error.
func (sc *serverConn) startCall(h wire.Header, body []byte) (t task, ok bool, err error) {
	call, err := wire.ParseCall(body, h.Flags)
	if le, ok := errors.AsType[*wire.LimitError](err); ok {
		// The frame was read whole: refuse this call alone. It touches
		// no session (its id may be a running call's, which stays so).
		sc.replyError(h.ID, errorf(CodeInvalidArgument, string(call.Method), "call %d: %v; call not run", h.ID, le), nil)
		return t, false, nil
	}
	if err != nil {
		return t, false, fmt.Errorf("%w: call %d: %w", errProtocol, h.ID, err)
	}
	stream := h.Flags&wire.FlagStream != 0
	if stream && !sc.streamsOK {
		return t, false, fmt.Errorf("%w: call %d opens a stream without the client asking for streams in its hello", errProtocol, h.ID)
	}
	if sc.sess != nil && !sc.vetted {
		if err := sc.vet(h.ID, &call); err != nil {
			return t, false, err
		}
		if !sc.vetted {
			return t, false, nil // refused, and answered
		}
	}
	if stream && sc.resumeCall(h.ID) {
		return t, false, nil // a stream the session resumes (stream_resume.go)
	}
	if sc.sess != nil {
		switch act, r := sc.sess.begin(h.ID, sc); act {
		case callDone:
			sc.sess.resend(sc, r) // answered from memory
			return t, false, nil
		case callRunning:
			sc.resendCallbacks(h.ID) // its callbacks in flight (callback_server.go)
			return t, false, nil     // answered when it finishes
		case callStale:
			sc.refuseID(h.ID, call.Method, "is at or below the ids the client acknowledged")
			return t, false, nil
		case callDuplicate:
			sc.refuseID(h.ID, call.Method, "is already running")
			return t, false, nil
		}
	} else if !sc.cancels.claim(h.ID) {
		sc.refuseID(h.ID, call.Method, "is already running")
		return t, false, nil
	}
	d := sc.srv.dispatch
	m := d.lookup(call.Method)
	if m == nil {
		sc.refuse(h.ID, d.notFound(string(call.Method)))
		return t, false, nil
	}
	if e := streamMismatch(m, stream); e != nil {
		sc.refuse(h.ID, e)
		return t, false, nil
	}
	e := d.admit(m, &sc.goingAway, &sc.sched.running)
	if e == nil && !sc.fairSlot() {
		d.release()
		e = errorf(CodeUnavailable, m.name, "server busy: this connection runs its share of the %d calls the server runs at once; call not run", d.maxConcurrent())
	}
	if e != nil {
		sc.refuse(h.ID, e)
		return t, false, nil
	}
	arr, e := m.openArgs(sc.codec, call.Args)
	if e != nil {
		d.release()
		sc.refuse(h.ID, e)
		return t, false, nil
	}
	if len(body) > frameio.MaxPooledBody {
		arr.AliasBytes() // the body is the call's own: []byte arguments need no copy
	}
	reserve, e := sc.reserve(m, arr.Cost())
	if e != nil {
		d.release()
		sc.refuse(h.ID, e)
		return t, false, nil
	}
	args, e := m.decodeArray(&arr)
	if e != nil {
		sc.unreserve(reserve)
		d.release()
		sc.refuse(h.ID, e)
		return t, false, nil
	}
	if err := sc.takeSlot(); err != nil {
		// The connection ends: the call never runs, and its session
		// forgets it, so that no orphan stays counted for good and a
		// resume sends it again as new. (A resent copy that reaches the
		// session before this forget is told the call runs, and is not
		// answered: the client's resume winning that race is rare.)
		sc.unreserve(reserve)
		d.release()
		sc.forgetCall(h.ID)
		return t, false, err
	}
	ctx, cancel := sc.callContext(m, h.ID, call.Timeout, call.Metadata, len(call.Args))
	t = task{sc: sc, id: h.ID, m: m, ctx: ctx, cancel: cancel, args: args, reserve: reserve}
	if stream {
		t.stream = sc.openStream(h.ID, m)
		t.ctx = context.WithValue(ctx, streamKey{}, t.stream)
	}
	if m.callbacks != nil {
		t.ctx = sc.withCallbacks(t.ctx, h.ID, m) // callback_server.go
	}
	return t, true, nil
}

// refuseID answers a call whose id the connection cannot take, saying
// why; the call the id belongs to, if any, is left alone.
func (sc *serverConn) refuseID(id uint64, method []byte, why string) {
	sc.replyError(id, errorf(CodeInvalidArgument, string(method), "call id %d %s: a call needs an id of its own; call not run", id, why), nil)
}

// refuse answers a call that will not run. A session forgets it, so the
// client may send it again.
func (sc *serverConn) refuse(id uint64, e *Error) {
	sc.forgetCall(id)
	sc.replyError(id, e, nil)
}

// forgetCall drops call id, begun but not run, from the connection's
// session or its cancel set.
func (sc *serverConn) forgetCall(id uint64) {
	if sc.sess != nil {
		sc.sess.forget(id)
	} else {
		sc.cancels.remove(id)
	}
}

// callContext returns the context a call runs with, carrying the
// caller's metadata (kv, in wire pairs). Only methods that take a context,
// and calls that interceptors see, get one of their own, which a cancel
// frame or the caller's deadline ends. size is that of the encoded
// arguments, for the interceptors.
func (sc *serverConn) callContext(m *method, id uint64, timeout time.Duration, kv []string, size int) (context.Context, context.CancelFunc) {
	ctx := sc.ctx
	if sc.sess != nil {
		// A session's calls outlive a broken connection.
		ctx = sc.sess.ctx
	}
	if sc.srv.dispatch.intercepted() {
		return sc.interceptedContext(ctx, id, timeout, kv, size) // callctx.go
	}
	if len(kv) > 0 {
		ctx = withIncoming(ctx, metadataFromPairs(kv))
	}
	if !m.ctx && !sc.srv.dispatch.intercepted() && m.stream == nil && m.callbacks == nil {
		return ctx, nil
	}
	var cancel context.CancelFunc
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	sc.cancels.add(id, cancel)
	return ctx, cancel
}

// run executes one call and writes its reply.
func (sc *serverConn) run(id uint64, m *method, ctx context.Context, cancel context.CancelFunc, args []reflect.Value, reserve int64, st *serverStream) {
	d := sc.srv.dispatch
	defer func() {
		sc.sched.leave()
		d.release()
	}()
	// settle frees the call's id and ends its context, once: before its
	// reply is written, since a client that has the reply may use the id
	// again (without a session), and at the latest on the way out.
	settled := false
	settle := func() {
		if settled {
			return
		}
		settled = true
		if cancel != nil || sc.sess == nil {
			sc.cancels.remove(id)
			if cancel != nil {
				cancel()
			}
		}
	}
	defer settle()
	buf, lent := sc.replyBuffer(m, st) // replybuf.go
	buf.Write(make([]byte, wire.HeaderSize))
	var flags uint8
	var start time.Time
	timed := id%costSampleEvery == 0
	if timed {
		start = time.Now()
	}
	e, detail := d.execute(ctx, m, args, sc.codec, buf, sc.peer)
	if timed {
		m.cost.observe(time.Since(start))
	}
	if e != nil {
		buf.Truncate(wire.HeaderSize)
		sc.appendError(buf, e, detail)
		flags = wire.FlagError
	}
	buf = settleReplyBuffer(buf, lent)
	m.reply.observe(id, buf.Len())
	// The reply built stays counted — by what was reserved for it, or at
	// its size if it is larger — until it is queued or kept (a write may
	// wait for room); then it is counted there.
	if size := int64(buf.Cap()) + callOverhead; size > reserve {
		reserve = sc.rereserve(reserve, size)
	}
	defer sc.unreserve(reserve)
	frame := buf.Bytes()
	wire.PutHeader(frame, wire.KindReply, flags, id)
	settle()
	if st != nil && st.resumable {
		st.finish(frame) // after its items, on the connection it is on, and kept
		sc.sess.forget(id)
		putBuffer(buf)
		return
	}
	if sc.sess != nil {
		sc.sess.finish(id, buf) // sent to the session's current connection, and kept
		return
	}
	_, _ = sc.writeReply(frame)
	putBuffer(buf)
}

// writeReply sends a reply frame. The reply of the one call running on a
// connection whose reader has nothing more to read — a sequential
// caller's — is written at once by the goroutine that ran it; any other
// goes through the send loop, so that replies finishing together share
// writes.
// It returns the frame's place among those written on the connection.
func (sc *serverConn) writeReply(frame []byte) (uint64, error) {
	if cap(frame) > maxPooledBuffer {
		// A buffer this large never goes back to the pool (buffer.go),
		// and no caller writes to a reply once it is built: the writer
		// may queue it without a copy (replybuf.go).
		return sc.writeLargeReply(frame)
	}
	return sc.w.WriteSeq(sc.ctx, frame, sc.sched.soloReply())
}

// replyError writes an error reply.
func (sc *serverConn) replyError(id uint64, e *Error, detail any) {
	buf := getBuffer()
	defer putBuffer(buf)
	sc.appendError(buf, e, detail)
	sc.writeFrame(wire.Header{Kind: wire.KindReply, Flags: wire.FlagError, ID: id}, buf.Bytes())
}

// appendError appends the body of an error reply for e to buf. An error
// whose detail cannot be encoded is logged and replaced by an internal
// error saying so, which always can: every call gets its reply.
func (sc *serverConn) appendError(buf *bytes.Buffer, e *Error, detail any) {
	start := buf.Len()
	if err := appendErrorBody(buf, sc.codec, e, detail); err != nil {
		sc.logger().Error("simplerpc: encoding an error reply failed", slog.Any("error", err))
		buf.Truncate(start)
		_ = appendErrorBody(buf, sc.codec, errorf(CodeInternal, e.Method, "the error could not be encoded: %v", err), nil)
	}
}

// writeFrame queues a frame with the given header and body.
func (sc *serverConn) writeFrame(h wire.Header, body []byte) {
	h.Size = uint32(len(body))
	frame := make([]byte, 0, wire.HeaderSize+len(body))
	frame = append(wire.AppendHeader(frame, h), body...)
	if h.Kind == wire.KindReply {
		_ = sc.w.Write(sc.ctx, frame)
		return
	}
	_ = sc.w.WriteControl(frame) // pings, pongs and go-aways never wait
}

// goAway tells the client to send no new calls. The final go-away also
// promises that every call the server accepted on this connection has
// been answered.
func (sc *serverConn) goAway(final bool) {
	sc.goingAway.Store(true)
	var flags uint8
	if final {
		flags = wire.FlagFinal
	}
	sc.writeFrame(wire.Header{Kind: wire.KindGoAway, Flags: flags}, []byte("server shutting down"))
}

// flush writes what is queued for the connection, waiting at most
// lingerTimeout, and stops its writer: for a connection about to be
// closed whose last frames the client must read.
func (sc *serverConn) flush() {
	sc.w.CloseAfterFlush()
	t := time.NewTimer(lingerTimeout)
	defer t.Stop()
	select {
	case <-sc.w.Done():
	case <-t.C:
	}
}

// closeGently ends a connection whose last frames are written: it closes
// the write side and lets the reader finish when the client hangs up (or
// after lingerTimeout), rather than resetting the connection with frames
// the client has yet to read.
func (sc *serverConn) closeGently() {
	if cw, ok := sc.nc.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		_ = sc.nc.SetReadDeadline(time.Now().Add(lingerTimeout))
		return
	}
	sc.nc.Close()
}
