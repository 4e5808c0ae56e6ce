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

// writeHighWater is how many bytes of frames a connection queues before
// writers wait for the send loop.
const writeHighWater = 1 << 20

// maxConnCalls bounds the calls running at once for one connection. At the
// bound the server stops reading that connection until a call finishes, so
// a client cannot make it start goroutines without limit.
const maxConnCalls = 4096

// serverConn is the server's side of one client connection. Its reader
// goroutine (serve) owns the connection; its writer goroutine is the send
// loop; each call runs in a goroutine of its own.
type serverConn struct {
	srv    *Server
	nc     net.Conn
	log    *slog.Logger
	codec  codec.Codec
	w      *frameio.Writer
	peer   string          // the client's address
	ctx    context.Context // canceled when the connection ends
	cancel context.CancelFunc

	goingAway atomic.Bool
	slots     chan struct{} // one token per running call, up to maxConnCalls

	mu      sync.Mutex
	cancels map[uint64]context.CancelFunc // running calls that take a context
}

// serveConn runs one connection to its end.
func (s *Server) serveConn(nc net.Conn) {
	defer s.connWG.Done()
	defer nc.Close()
	log := s.cfg.logger.With(slog.String("remote", nc.RemoteAddr().String()))
	br := bufio.NewReaderSize(nc, 4096)
	_ = nc.SetReadDeadline(time.Now().Add(s.cfg.handshake))
	if s.cfg.tls != nil {
		var ok bool
		if nc, br, ok = s.acceptTLS(nc, br, log); !ok {
			return
		}
		defer nc.Close()
	}
	if magic, err := br.Peek(len(wire.Magic)); err == nil && string(magic) != wire.Magic {
		s.serveForeign(nc, br, log)
		return
	}
	c, err := s.handshake(nc, br)
	if err != nil {
		log.Warn("simplerpc: handshake failed; connection closed", slog.Any("error", err))
		return
	}
	_ = nc.SetReadDeadline(time.Time{})
	sc := &serverConn{srv: s, nc: nc, log: log, codec: c, peer: nc.RemoteAddr().String(), cancels: make(map[uint64]context.CancelFunc),
		slots: make(chan struct{}, maxConnCalls)}
	sc.ctx, sc.cancel = context.WithCancel(context.Background())
	sc.w = frameio.NewWriter(nc, s.cfg.writeTimeout, writeHighWater)
	if !s.track(sc, true) {
		return
	}
	go func() {
		sc.w.Run()
		nc.Close() // a failed write ends the connection
	}()
	defer func() {
		sc.cancel()
		sc.w.Close()
		nc.Close()
		<-sc.w.Done()
		s.track(sc, false)
	}()
	if err := sc.readLoop(frameio.NewReader(br, s.cfg.maxMessageSize)); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		log.Warn("simplerpc: connection closed", slog.Any("reason", err))
	}
}

// handshake reads the client's hello and answers it.
func (s *Server) handshake(nc net.Conn, br *bufio.Reader) (codec.Codec, error) {
	prefix, err := br.Peek(wire.HelloPrefixSize)
	if err != nil {
		return nil, fmt.Errorf("reading hello: %w", err)
	}
	hello, n, err := wire.ParseHelloPrefix(prefix)
	if err != nil {
		return nil, err
	}
	if _, err := br.Discard(wire.HelloPrefixSize); err != nil {
		return nil, err
	}
	welcome := wire.Welcome{Version: wire.Version, MaxBody: uint32(s.cfg.maxMessageSize)}
	var c codec.Codec
	if hello.Version != wire.Version {
		// The rest of the hello may mean something else in that version:
		// answer without reading it.
		welcome.Status = wire.StatusBadVersion
		err = fmt.Errorf("client speaks protocol version %d, server speaks %d", hello.Version, wire.Version)
	} else {
		name := make([]byte, n)
		if _, err := io.ReadFull(br, name); err != nil {
			return nil, fmt.Errorf("reading hello: %w", err)
		}
		if c = codec.ByName(string(name)); c == nil {
			welcome.Status = wire.StatusBadCodec
			err = fmt.Errorf("unknown codec %q", name)
		}
	}
	_ = nc.SetWriteDeadline(time.Now().Add(s.cfg.handshake))
	if _, werr := nc.Write(wire.AppendWelcome(nil, welcome)); werr != nil && err == nil {
		err = fmt.Errorf("writing welcome: %w", werr)
	}
	_ = nc.SetWriteDeadline(time.Time{})
	return c, err
}

// errProtocol marks a peer that broke the protocol.
var errProtocol = errors.New("protocol violation")

// readLoop reads frames until the connection fails or the peer breaks the
// protocol.
func (sc *serverConn) readLoop(fr *frameio.Reader) error {
	for {
		h, body, err := fr.Next()
		if err != nil {
			return err
		}
		switch h.Kind {
		case wire.KindCall:
			if err := sc.startCall(h, body); err != nil {
				return err
			}
		case wire.KindCancel:
			sc.mu.Lock()
			cancel := sc.cancels[h.ID]
			sc.mu.Unlock()
			if cancel != nil {
				cancel()
			}
		case wire.KindPing:
			sc.writeFrame(wire.Header{Kind: wire.KindPong, ID: h.ID}, nil)
		case wire.KindPong:
		default:
			return fmt.Errorf("%w: client sent a %s frame", errProtocol, h.Kind)
		}
	}
}

// startCall parses a call frame and starts the call, or answers it with
// an error at once. Only a malformed frame returns an error.
func (sc *serverConn) startCall(h wire.Header, body []byte) error {
	call, err := wire.ParseCall(body, h.Flags)
	if err != nil {
		return fmt.Errorf("%w: call %d: %w", errProtocol, h.ID, err)
	}
	s := sc.srv
	m := s.lookup(call.Method)
	if m == nil {
		sc.replyError(h.ID, s.notFound(string(call.Method)), nil)
		return nil
	}
	if e := s.admit(m, &sc.goingAway); e != nil {
		sc.replyError(h.ID, e, nil)
		return nil
	}
	args, e := m.decodeArgs(sc.codec, call.Args)
	if e != nil {
		s.release()
		sc.replyError(h.ID, e, nil)
		return nil
	}
	select {
	case sc.slots <- struct{}{}:
	case <-sc.ctx.Done():
		s.release()
		return sc.ctx.Err()
	}
	ctx, cancel := sc.callContext(m, h.ID, call.Timeout, call.Metadata)
	go sc.run(h.ID, m, ctx, cancel, args)
	return nil
}

// callContext returns the context a call runs with, carrying the
// caller's metadata (kv, in wire pairs). Only methods that take a context,
// and calls that interceptors see, get one of their own, which a cancel
// frame or the caller's deadline ends.
func (sc *serverConn) callContext(m *method, id uint64, timeout time.Duration, kv []string) (context.Context, context.CancelFunc) {
	ctx := sc.ctx
	if len(kv) > 0 {
		ctx = withIncoming(ctx, metadataFromPairs(kv))
	}
	if !m.ctx && len(sc.srv.cfg.interceptors) == 0 {
		return ctx, nil
	}
	var cancel context.CancelFunc
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	sc.mu.Lock()
	sc.cancels[id] = cancel
	sc.mu.Unlock()
	return ctx, cancel
}

// run executes one call and writes its reply.
func (sc *serverConn) run(id uint64, m *method, ctx context.Context, cancel context.CancelFunc, args []reflect.Value) {
	s := sc.srv
	defer func() {
		<-sc.slots
		s.release()
	}()
	if cancel != nil {
		defer func() {
			sc.mu.Lock()
			delete(sc.cancels, id)
			sc.mu.Unlock()
			cancel()
		}()
	}
	buf := getBuffer()
	defer putBuffer(buf)
	buf.Write(make([]byte, wire.HeaderSize))
	if e, detail := s.execute(ctx, m, args, sc.codec, buf, sc.peer); e != nil {
		sc.replyError(id, e, detail)
		return
	}
	frame := buf.Bytes()
	wire.PutSize(frame, len(frame)-wire.HeaderSize)
	frame[4] = byte(wire.KindReply)
	wire.PutID(frame, id)
	_ = sc.w.Write(sc.ctx, frame)
}

// replyError writes an error reply.
func (sc *serverConn) replyError(id uint64, e *Error, detail any) {
	buf := getBuffer()
	defer putBuffer(buf)
	if err := appendErrorBody(buf, sc.codec, e, detail); err != nil {
		sc.log.Error("simplerpc: encoding an error reply failed", slog.Any("error", err))
		return
	}
	sc.writeFrame(wire.Header{Kind: wire.KindReply, Flags: wire.FlagError, ID: id}, buf.Bytes())
}

// writeFrame queues a frame with the given header and body.
func (sc *serverConn) writeFrame(h wire.Header, body []byte) {
	h.Size = uint32(len(body))
	frame := make([]byte, 0, wire.HeaderSize+len(body))
	frame = append(wire.AppendHeader(frame, h), body...)
	_ = sc.w.Write(sc.ctx, frame)
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

// ---- Buffers -------------------------------------------------------------------

var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer is the largest buffer returned to the pool.
const maxPooledBuffer = 256 << 10

func getBuffer() *bytes.Buffer { return bufferPool.Get().(*bytes.Buffer) }

func putBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBuffer {
		return
	}
	b.Reset()
	bufferPool.Put(b)
}
