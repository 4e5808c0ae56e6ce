package simplerpc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simplerpc/simplerpc/internal/codec"
	"github.com/simplerpc/simplerpc/internal/frameio"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// clientConn is one connection of a Client. Its reader goroutine decodes
// replies straight into the callers' result pointers; its writer goroutine
// is the send loop. When the connection ends every pending call fails at
// once.
type clientConn struct {
	c       *Client
	nc      net.Conn
	codec   codec.Codec
	w       *frameio.Writer
	maxBody int // the server's limit on a call frame's body
	nextID  atomic.Uint64
	done    chan struct{} // closed when both goroutines have returned

	mu       sync.Mutex
	pending  map[uint64]*pendingCall
	err      error // why the connection ended; nil while it is open
	draining bool  // the server sent go-away: no new calls here
	final    bool  // the server promised every accepted call was answered
}

// pendingCall is a call waiting for its reply. The goroutine that removes
// it from the pending map owns it and must signal done exactly once.
type pendingCall struct {
	method  string
	results []any // the caller's result pointers, copied into small when they fit
	small   [4]any
	err     error
	done    chan struct{}
}

var pendingPool = sync.Pool{New: func() any { return &pendingCall{done: make(chan struct{}, 1)} }}

// canceledCtx makes a frame write give up at once rather than wait for
// queue space: used for best-effort cancel frames.
var canceledCtx = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// newClientConn performs the handshake on nc and starts the connection.
func newClientConn(ctx context.Context, c *Client, nc net.Conn) (*clientConn, error) {
	cd := codec.ByName(c.cfg.codec)
	if cd == nil {
		nc.Close()
		return nil, fmt.Errorf("unknown codec %q (want cbor or json)", c.cfg.codec)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	br := bufio.NewReaderSize(nc, 32<<10)
	welcome, err := handshake(nc, br, cd.Name())
	if err != nil {
		nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	cc := &clientConn{
		c:       c,
		nc:      nc,
		codec:   cd,
		w:       frameio.NewWriter(nc, c.cfg.writeTimeout, writeHighWater),
		maxBody: int(welcome.MaxBody),
		pending: make(map[uint64]*pendingCall),
		done:    make(chan struct{}),
	}
	go func() {
		cc.w.Run()
		if err := cc.w.Err(); !errors.Is(err, frameio.ErrClosed) {
			cc.close(err) // a failed write ends the connection
		}
	}()
	go cc.readLoop(frameio.NewReader(br, c.cfg.maxMessageSize))
	return cc, nil
}

// handshake sends the hello and reads the server's welcome.
func handshake(nc net.Conn, br *bufio.Reader, codecName string) (wire.Welcome, error) {
	hello := wire.AppendHello(nil, wire.Hello{Version: wire.Version, Codec: codecName})
	if _, err := nc.Write(hello); err != nil {
		return wire.Welcome{}, fmt.Errorf("handshake: %w", err)
	}
	var b [wire.WelcomeSize]byte
	if _, err := io.ReadFull(br, b[:]); err != nil {
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
		return w, fmt.Errorf("handshake: server does not support codec %q", codecName)
	case wire.StatusTLSRequired:
		return w, errors.New("handshake: the server requires TLS: dial with WithTLS")
	}
	return w, fmt.Errorf("handshake: server refused the connection (status %d)", w.Status)
}

// usable reports whether new calls may go to this connection.
func (cc *clientConn) usable() bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.err == nil && !cc.draining
}

// roundTrip sends one call and waits for its reply.
func (cc *clientConn) roundTrip(ctx context.Context, method string, args, results []any, md []string) error {
	if len(md) > 2*wire.MaxMetadata {
		return errorf(CodeInvalidArgument, method, "%d metadata pairs; at most %d may travel with a call", len(md)/2, wire.MaxMetadata)
	}
	buf := getBuffer()
	defer putBuffer(buf)
	var hdr [wire.HeaderSize]byte
	buf.Write(hdr[:])
	prefix, flags := wire.AppendCallPrefix(buf.AvailableBuffer(), method, timeoutOf(ctx), md)
	buf.Write(prefix)
	if err := cc.codec.AppendArray(buf, args); err != nil {
		return errorf(CodeInvalidArgument, method, "cannot encode the arguments: %v", err)
	}
	if size := buf.Len() - wire.HeaderSize; size > cc.maxBody {
		return errorf(CodeResourceExhausted, method, "call of %d bytes exceeds the server's %d-byte limit", size, cc.maxBody)
	}
	id := cc.nextID.Add(1)
	frame := buf.Bytes()
	wire.PutSize(frame, len(frame)-wire.HeaderSize)
	frame[4], frame[5] = byte(wire.KindCall), flags
	wire.PutID(frame, id)

	pc := pendingPool.Get().(*pendingCall)
	pc.method, pc.err = method, nil
	// Copying the pointers, rather than keeping the caller's slice, lets
	// the variadic slice of Call stay on the caller's stack.
	if len(results) <= len(pc.small) {
		pc.results = append(pc.small[:0], results...)
	} else {
		pc.results = append([]any(nil), results...)
	}
	cc.mu.Lock()
	if cc.err != nil || cc.draining {
		cc.mu.Unlock()
		pendingPool.Put(pc)
		return errorf(CodeUnavailable, method, "connection closing; call not sent")
	}
	cc.pending[id] = pc
	cc.mu.Unlock()

	if err := cc.w.Write(ctx, frame); err != nil {
		// The frame was not queued, so the server never sees the call.
		if !cc.remove(id) {
			<-pc.done
		}
		pendingPool.Put(pc)
		if ctx.Err() != nil {
			return contextError(method, ctx.Err())
		}
		return &Error{Code: CodeUnavailable, Method: method, Message: "connection failed before the call was sent: " + err.Error(), cause: err}
	}
	select {
	case <-pc.done:
	case <-ctx.Done():
		if cc.remove(id) {
			cc.writeControl(wire.KindCancel, id)
			// pc stays out of the pool: nothing refers to it any more,
			// but a late reply for its id is simply dropped.
			return contextError(method, ctx.Err())
		}
		<-pc.done // the reader owns it and is delivering the reply
	}
	err := pc.err
	clear(pc.small[:])
	pc.results, pc.err = nil, nil
	pendingPool.Put(pc)
	return err
}

// remove takes a pending call out of the map, reporting whether it was
// still there (and so is now owned by the caller).
func (cc *clientConn) remove(id uint64) bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if _, ok := cc.pending[id]; !ok {
		return false
	}
	delete(cc.pending, id)
	return true
}

// writeControl queues a body-less control frame, giving up at once if the
// queue is full.
func (cc *clientConn) writeControl(k wire.Kind, id uint64) {
	frame := wire.AppendHeader(make([]byte, 0, wire.HeaderSize), wire.Header{Kind: k, ID: id})
	_ = cc.w.Write(canceledCtx, frame)
}

// readLoop reads and dispatches frames until the connection ends.
func (cc *clientConn) readLoop(fr *frameio.Reader) {
	defer close(cc.done)
	var err error
	for err == nil {
		var h wire.Header
		var body []byte
		if h, body, err = fr.Next(); err != nil {
			break
		}
		switch h.Kind {
		case wire.KindReply:
			cc.deliver(h, body)
		case wire.KindGoAway:
			cc.goAway(h.Flags&wire.FlagFinal != 0)
		case wire.KindPing:
			cc.writeControl(wire.KindPong, h.ID)
		case wire.KindPong:
		default:
			err = fmt.Errorf("%w: server sent a %s frame", errProtocol, h.Kind)
		}
	}
	cc.close(err)
	<-cc.w.Done()
}

// deliver completes the pending call a reply answers.
func (cc *clientConn) deliver(h wire.Header, body []byte) {
	cc.mu.Lock()
	pc := cc.pending[h.ID]
	delete(cc.pending, h.ID)
	idle := cc.draining && len(cc.pending) == 0
	cc.mu.Unlock()
	if pc != nil {
		if h.Flags&wire.FlagError != 0 {
			pc.err = decodeErrorBody(cc.codec, body, pc.method)
		} else {
			pc.err = decodeResults(cc.codec, body, pc.method, pc.results)
		}
		pc.done <- struct{}{}
	}
	if idle {
		cc.close(errDrained)
	}
}

// errDrained ends a connection the server asked to leave, once its last
// call is answered.
var errDrained = errors.New("connection drained after go-away")

// decodeResults decodes a reply's result array into the caller's pointers.
func decodeResults(c codec.Codec, body []byte, method string, results []any) error {
	arr, err := c.OpenArray(body)
	if err != nil {
		return errorf(CodeInternal, method, "malformed reply: %v", err)
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
	cc.final = cc.final || final
	idle := len(cc.pending) == 0
	cc.mu.Unlock()
	cc.c.mu.Lock()
	if cc.c.cur == cc {
		cc.c.cur = nil
	}
	cc.c.mu.Unlock()
	if idle {
		cc.close(errDrained)
	}
}

// close ends the connection and fails every pending call: with
// CodeUnavailable when the server promised they were not run (final
// go-away), else with CodeConnectionLost.
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
	pending := cc.pending
	cc.pending = make(map[uint64]*pendingCall)
	final := cc.final
	cc.mu.Unlock()
	cc.nc.Close()
	cc.w.Close()
	for _, pc := range pending {
		if final {
			pc.err = &Error{Code: CodeUnavailable, Method: pc.method, Message: "server went away before running the call", cause: reason}
		} else {
			pc.err = &Error{Code: CodeConnectionLost, Method: pc.method, Message: "connection lost while the call was in flight (it may or may not have run): " + reason.Error(), cause: reason}
		}
		pc.done <- struct{}{}
	}
	cc.c.forget(cc)
}
