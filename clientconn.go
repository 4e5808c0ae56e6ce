package simplerpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simplerpc/simplerpc/internal/codec"
	"github.com/simplerpc/simplerpc/internal/frameio"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// writeHighWater is how many bytes of calls a client connection queues
// before callers wait for the send loop.
const writeHighWater = 1 << 20

// clientConn is one connection to a server. Its reader goroutine
// decodes replies straight into the callers' result pointers; its writer
// (frameio.Writer) is the send loop; a timer watches it for silence. It
// knows nothing of what is above it: it hands the replies it reads to its
// callSink, reports there that it takes no new calls or has ended, and
// nudges its owner (owner) so that it can tend to it. Its goroutines
// start in newClientConn and end with it (close); done is closed when
// they have returned.
type clientConn struct {
	nc      net.Conn
	codec   codec.Codec
	w       *frameio.Writer
	keep    *keepalive // set under mu: its timer may end the connection before newClientConn sets it
	sink    callSink
	lane    *lane             // this connection in the sink's table
	owner   chan<- struct{}   // nudged, without blocking, when the connection stops or ends
	maxBody int               // the server's limit on a call frame's body
	streams bool              // the server takes streams on this connection
	packed  bool              // the server may send packed item frames (stream_client.go)
	cb      connCallbackState // callbacks on this connection (callback_client.go)
	done    chan struct{}     // closed when both goroutines have returned
	frames  uint64            // frames read so far, for acks; the read loop's own
	cores   int32             // GOMAXPROCS when the connection opened (see yieldAfterReply)
	last    *clientStream     // the stream of the last item read, the read loop's own (stream_client.go)

	ackNext atomic.Pointer[[]byte] // an ack frame for the next call to carry (idleack.go)

	// stopped is set, under mu, once err or draining is: new calls may
	// go here while it is clear. It lets a call ask that without mu.
	stopped atomic.Bool

	mu       sync.Mutex // guards the fields below; taken under the endpoint's mu, never the other way
	err      error      // why the connection ended; nil while it is open
	draining bool       // the server sent go-away, or a write failed: no new calls here
	final    bool       // the server promised every accepted call was answered
}

// callSink is what a connection reports to: the client's call table. It
// is the connection's only way up.
type callSink interface {
	// complete takes the call a reply of size bytes answers (nil if none
	// waits for it), and says whether to ack and whether l is drained.
	complete(l *lane, id uint64, size int) (*pendingCall, settle)
	stream(id uint64) *clientStream
	callbacks(id uint64) *clientCallbacks
	// stop records that l takes no new calls; it reports whether l
	// carries none.
	stop(l *lane) (idle bool)
	// end records that l's connection ended for reason; final says the
	// server promised its unanswered calls were never run.
	end(l *lane, reason error, final bool)
}

// connSettings is what a connection needs of the client's options.
type connSettings struct {
	writeTimeout   time.Duration
	keepInterval   time.Duration
	keepTimeout    time.Duration
	maxMessageSize int
	callbackLimit  int // invocations run at once (WithClientCallbackLimit)
	compressMin    int // WithCompression; 0: off
}

// newClientConn performs the handshake on nc and starts the connection,
// which reports to sink and nudges owner. It reports whether the server
// resumed the session.
func newClientConn(ctx context.Context, nc net.Conn, hello wire.Hello, cs connSettings, sink callSink, owner chan<- struct{}) (*clientConn, bool, error) {
	cd := codec.ByName(hello.Codec)
	if cd == nil {
		nc.Close()
		return nil, false, fmt.Errorf("unknown codec %q (want cbor or json)", hello.Codec)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	act := newActivity(nc)
	welcome, err := greet(nc, act, hello)
	if err != nil {
		nc.Close()
		return nil, false, err
	}
	_ = nc.SetDeadline(time.Time{})
	cc := &clientConn{
		nc:      nc,
		codec:   cd,
		sink:    sink,
		owner:   owner,
		maxBody: int(welcome.MaxBody),
		streams: welcome.Flags&wire.WelcomeStreams != 0,
		packed:  welcome.Flags&wire.WelcomePacked != 0,
		done:    make(chan struct{}),
	}
	cc.cb.ok, cc.cb.limit, cc.cb.work = welcome.Flags&wire.WelcomeCallbacks != 0, int64(cs.callbackLimit), make(chan func())
	cc.lane = newLane(cc)
	cc.w = frameio.NewWriter(nc, cs.writeTimeout, writeHighWater, func(error) { cc.writeFailed() })
	keep := startKeepalive(cs.keepInterval, cs.keepTimeout, act,
		func() { cc.writeControl(wire.KindPing, 0) }, cc.close)
	cc.mu.Lock()
	cc.keep = keep
	cc.mu.Unlock()
	fr := frameio.NewReader(act, nil, cs.maxMessageSize)
	useRaw(fr, nc, act)
	cc.cores = int32(runtime.GOMAXPROCS(0))
	readingConns.Add(1) // until readLoop returns
	cc.startCompression(cs.compressMin, welcome, fr)
	go cc.readLoop(fr)
	return cc, welcome.Flags&wire.WelcomeResumed != 0, nil
}

// greet sends the hello and reads the server's welcome, and not a
// byte more: what follows is the frame reader's.
func greet(nc net.Conn, r io.Reader, hello wire.Hello) (wire.Welcome, error) {
	if _, err := nc.Write(wire.AppendHello(nil, hello)); err != nil {
		return wire.Welcome{}, fmt.Errorf("handshake: %w", err)
	}
	var b [wire.WelcomeSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return wire.Welcome{}, fmt.Errorf("handshake: no welcome from the server (is it a simplerpc server? is TLS expected?): %w", err)
	}
	w, err := wire.ParseWelcome(b[:])
	if err != nil {
		return w, fmt.Errorf("handshake: %w", err)
	}
	switch w.Status {
	case wire.StatusOK:
		return w, nil
	case wire.StatusBadVersion:
		return w, fmt.Errorf("handshake: server speaks protocol version %d, client %d", w.Version, wire.Version)
	case wire.StatusBadCodec:
		return w, fmt.Errorf("handshake: server does not support codec %q", hello.Codec)
	case wire.StatusSessionRefused:
		return w, fmt.Errorf("handshake: %w", errSessionRefused)
	case wire.StatusTLSRequired:
		return w, errors.New("handshake: the server requires TLS: dial with WithTLS")
	}
	return w, fmt.Errorf("handshake: server refused the connection (status %d)", w.Status)
}

// usable reports whether new calls may go to this connection. It takes
// no lock: every call asks it.
func (cc *clientConn) usable() bool { return !cc.stopped.Load() }

// status reports whether new calls may go to this connection, whether it
// has ended, and whether what stopped it says the server is not to be
// called for now: a go-away, a failed write, or a break — not a drain
// after go-away, nor the client closing it.
func (cc *clientConn) status() (usable, ended, down bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	benign := cc.err == nil || errors.Is(cc.err, errDrained) || errors.Is(cc.err, ErrClientClosed)
	return cc.err == nil && !cc.draining, cc.err != nil, cc.draining || !benign
}

// nudge tells the connection's owner that it changed, without waiting.
func (cc *clientConn) nudge() {
	select {
	case cc.owner <- struct{}{}:
	default: // a nudge is already waiting: the owner looks at every connection
	}
}

// appendCall appends to buf the frame of a call of method, its id left
// zero for the call table to fill in, and returns the frame and the size
// of its encoded arguments.
func (cc *clientConn) appendCall(buf *bytes.Buffer, method string, timeout time.Duration, md []string, args []any) (frame []byte, argSize int, err error) {
	var hdr [wire.HeaderSize]byte
	buf.Write(hdr[:])
	prefix, flags := wire.AppendCallPrefix(buf.AvailableBuffer(), method, timeout, md)
	buf.Write(prefix)
	start := buf.Len()
	if err := cc.codec.AppendArray(buf, args); err != nil {
		return nil, 0, errorf(CodeInvalidArgument, method, "cannot encode the arguments: %v", err)
	}
	if size := buf.Len() - wire.HeaderSize; size > cc.maxBody {
		return nil, 0, errorf(CodeResourceExhausted, method, "call of %d bytes exceeds the server's %d-byte limit", size, cc.maxBody)
	}
	frame = buf.Bytes()
	wire.PutHeader(frame, wire.KindCall, flags, 0) // the call table writes its id (register)
	return frame, buf.Len() - start, nil
}

// send writes a call's frame. alone says no other call is in flight: the
// caller then writes it itself, there being no one to share a write with.
func (cc *clientConn) send(ctx context.Context, frame []byte, alone bool) error {
	frame = cc.withAck(frame)
	if alone {
		return cc.w.WriteSolo(ctx, frame)
	}
	return cc.w.Write(ctx, frame)
}

// resend writes the frames of calls sent again after their connection
// broke.
func (cc *clientConn) resend(ctx context.Context, frames []byte) {
	if len(frames) > 0 {
		_ = cc.w.Write(ctx, frames)
	}
}

// cancel asks the server to cancel call id.
func (cc *clientConn) cancel(id uint64) { cc.writeControl(wire.KindCancel, id) }

// writeControl queues a body-less control frame, ahead of any wait for
// queue space: a full queue of calls neither holds it back nor drops it,
// nor does it wait for the callers the reader has woken.
func (cc *clientConn) writeControl(k wire.Kind, id uint64) {
	frame := wire.AppendHeader(make([]byte, 0, wire.HeaderSize), wire.Header{Kind: k, ID: id})
	_ = cc.w.WriteControl(frame)
}

// writeAck acknowledges every call up to id, and the frames read so far
// on this connection. Unlike a cancel it waits for the callers the
// reader has just woken (frameio's Expect), to leave with their calls.
func (cc *clientConn) writeAck(id uint64) {
	cc.ackNext.Store(nil) // this one says more
	_ = cc.w.WriteControlLazy(cc.ackFrame(id))
}

// ackFrame returns the frame of an ack of every call up to id, and of
// the frames read so far on this connection.
func (cc *clientConn) ackFrame(id uint64) []byte {
	frame := make([]byte, 0, wire.HeaderSize+wire.AckBodySize)
	frame = wire.AppendHeader(frame, wire.Header{Kind: wire.KindAck, ID: id, Size: wire.AckBodySize})
	return wire.AppendAckBody(frame, cc.frames)
}

// readLoop reads and dispatches frames until the connection ends, or
// until another goroutine takes the reading over while this one runs a
// callback (callback_inline.go), which then ends the connection itself.
func (cc *clientConn) readLoop(fr *frameio.Reader) {
	err := cc.readFrames(fr)
	if err == errTakenOver {
		return
	}
	cc.stopInline()
	cc.close(err)
	<-cc.w.Done()
	readingConns.Add(-1)
	close(cc.done)
}

// readFrames reads and dispatches frames until one fails.
func (cc *clientConn) readFrames(fr *frameio.Reader) error {
	var err error
	for err == nil {
		var h wire.Header
		var body []byte
		if h, body, err = fr.Next(); err != nil {
			break
		}
		cc.frames++
		switch h.Kind {
		case wire.KindReply:
			cc.deliver(h, body)
			if fr.Buffered() == 0 && cc.yieldAfterReply() {
				// Nothing more to deliver: let the caller just woken run
				// before this goroutine goes back to wait on the socket.
				runtime.Gosched()
			}
		case wire.KindItem, wire.KindWindow:
			err = cc.streamFrame(fr, h, body)
		case wire.KindCallback, wire.KindCallbackCancel:
			err = cc.callbackFrame(fr, h, body)
		case wire.KindGoAway:
			cc.goAway(h.Flags&wire.FlagFinal != 0)
		case wire.KindPing:
			cc.writeControl(wire.KindPong, h.ID)
		case wire.KindPong:
		default:
			err = fmt.Errorf("%w: server sent a %s frame", errProtocol, h.Kind)
		}
	}
	return err
}

// deliver completes the pending call a reply answers.
func (cc *clientConn) deliver(h wire.Header, body []byte) {
	pc, s := cc.sink.complete(cc.lane, h.ID, len(body))
	switch {
	case s.lazy:
		cc.deferAck(s.ack)
	case s.sendAck:
		cc.writeAck(s.ack)
	}
	if pc != nil {
		switch {
		case h.Flags&wire.FlagError != 0:
			pc.err = decodeErrorBody(cc.codec, body, pc.method)
		case pc.stream != nil:
			// Its results are decoded when the caller asks for them.
			pc.reply = append([]byte(nil), body...)
		default:
			pc.err = decodeResults(cc.codec, body, len(body) > frameio.MaxPooledBody, pc.method, pc.results)
			pc.size = len(body)
		}
		if pc.stream == nil {
			// Its caller, in roundTrip, likely calls again once woken:
			// the send loop does not start before it runs (frameio's
			// Expect).
			pc.awaited = cc.w
			cc.w.Expect()
		}
		pc.done <- struct{}{}
	}
	if s.drained {
		cc.close(errDrained)
	}
}

// readingConns counts the client connections of the process whose
// read loops run.
var readingConns atomic.Int32

// yieldAfterReply reports whether the read loop, having delivered the
// last reply it read, yields to the caller it woke before it reads the
// socket again. That answers a sequential caller sooner, while the
// process reads no more connections than it has cores. Past that, the
// yields only churn the scheduler's global queue: with hundreds of
// connections each carrying a call or two, the callers run soon enough
// on their own, and yielding after every reply costs the process more
// than the whole rest of its work on the reply.
func (cc *clientConn) yieldAfterReply() bool { return readingConns.Load() <= cc.cores }

// errDrained ends a connection the server asked to leave, once its last
// call is answered.
var errDrained = errors.New("connection drained after go-away")

// decodeResults decodes a reply's result array into the caller's
// pointers. With owned, the body is the reply's own (no reader reuses
// it): []byte results are slices of it rather than copies.
func decodeResults(c codec.Codec, body []byte, owned bool, method string, results []any) error {
	arr, err := c.OpenArray(body)
	if err != nil {
		return errorf(CodeInternal, method, "malformed reply: %v", err)
	}
	if owned {
		arr.AliasBytes()
	}
	if len(results) > arr.Len() {
		return errorf(CodeInvalidArgument, method, "%s returns %d result(s), the call asked for %d", method, arr.Len(), len(results))
	}
	for i, r := range results {
		if err := arr.Next(r); err != nil {
			return errorf(CodeInvalidArgument, method, "result %d does not decode into %T: %v", i+1, r, err)
		}
	}
	return nil
}

// goAway handles the server's go-away.
func (cc *clientConn) goAway(final bool) {
	cc.mu.Lock()
	cc.draining = true
	cc.stopped.Store(true)
	cc.final = cc.final || final
	cc.mu.Unlock()
	idle := cc.sink.stop(cc.lane)
	cc.nudge()
	if idle {
		cc.close(errDrained)
	}
}

// writeFailed handles a failed write: no new calls go here, and the reader
// gets a moment to read what the server sent before it went — a final
// go-away says which calls never ran — before the connection ends.
func (cc *clientConn) writeFailed() {
	cc.mu.Lock()
	cc.draining = true
	cc.stopped.Store(true)
	cc.mu.Unlock()
	cc.sink.stop(cc.lane)
	cc.nudge()
	_ = cc.nc.SetReadDeadline(time.Now().Add(lingerTimeout))
}

// close ends the connection. Its pending calls fail — with
// CodeUnavailable when the server promised they were not run (final
// go-away) — or wait for the session to resume on a new connection.
func (cc *clientConn) close(reason error) {
	if reason == nil {
		reason = io.EOF
	}
	cc.mu.Lock()
	if cc.err != nil {
		cc.mu.Unlock()
		return
	}
	cc.err = reason
	cc.stopped.Store(true)
	final, keep := cc.final, cc.keep
	cc.mu.Unlock()
	keep.stop()
	cc.nc.Close()
	cc.w.Close()
	cc.sink.end(cc.lane, reason, final)
	cc.nudge()
}
