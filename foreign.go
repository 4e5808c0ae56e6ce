package simplerpc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Timeouts of the HTTP server behind Serve's port.
const (
	// frontHeaderTimeout bounds the reading of a request's headers.
	frontHeaderTimeout = 10 * time.Second
	// frontIdleTimeout closes a keep-alive connection left idle this long.
	frontIdleTimeout = 2 * time.Minute
)

// serveForeign handles a connection whose first bytes are not the
// simplerpc magic. One that opens like an HTTP/1.x request is served as
// JSON-RPC over HTTP (ServeHTTP) by the server's HTTP front; any other is
// closed with a logged reason. It returns once the connection is closed.
func (s *Server) serveForeign(nc net.Conn, br *bufio.Reader, leave func()) {
	head, _ := br.Peek(min(br.Buffered(), 16))
	if !looksLikeHTTP(head) {
		s.connLogger(nc).Warn("simplerpc: connection speaks neither simplerpc nor HTTP; closed", slog.String("first_bytes", string(head)))
		return
	}
	f := s.startFront()
	if f == nil {
		return // shutting down
	}
	var rest []byte
	if !s.netHTTPOnly {
		var handOver bool
		if rest, handOver = s.serveFast(f, nc, br, leave); !handOver {
			return
		}
	}
	_ = nc.SetReadDeadline(time.Time{}) // the HTTP server sets its own
	c := newFrontConn(nc, br)
	c.replay = rest
	if !f.hand(c) {
		return
	}
	<-c.closed
	f.forget(c)
}

// looksLikeHTTP reports whether head opens with an HTTP method token
// (upper-case letters, then a space), as every HTTP/1.x request does.
func looksLikeHTTP(head []byte) bool {
	for i, b := range head {
		switch {
		case b == ' ':
			return i > 0
		case b < 'A' || b > 'Z':
			return false
		}
	}
	return len(head) > 0
}

// httpFront is the http.Server that serves the HTTP connections Serve
// accepts. The Server owns it: the first HTTP connection starts it, and
// Shutdown or Close stops it.
//
// It also tracks the connections on the fast path (foreign_fast.go),
// which Shutdown and Close stop too.
//
// Locks: mu guards conns, fast and closed, and is a leaf: connections are
// closed, and handed to srv, after it is released. The Server's mu
// guards the server's front field, not the front.
type httpFront struct {
	srv  *http.Server
	l    *frontListener
	done chan struct{} // closed when srv.Serve has returned
	hard chan struct{} // closed by Close, once (hardOnce)

	hardOnce sync.Once

	mu     sync.Mutex
	conns  map[*frontConn]struct{} // connections handed to srv, until closed
	fast   map[*fastConn]struct{}  // connections on the fast path
	closed bool

	served atomic.Int64 // requests answered on the fast path, for tests
}

// startFront returns the server's HTTP front, starting it if needed, or
// nil once the server is shutting down.
func (s *Server) startFront() *httpFront {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting {
		return nil
	}
	if s.front != nil {
		return s.front
	}
	f := &httpFront{
		srv: &http.Server{
			Handler:           s,
			ReadHeaderTimeout: frontHeaderTimeout,
			IdleTimeout:       frontIdleTimeout,
			ErrorLog:          slog.NewLogLogger(s.cfg.logger.Handler(), slog.LevelWarn),
		},
		l:     &frontListener{conns: make(chan net.Conn), done: make(chan struct{})},
		done:  make(chan struct{}),
		hard:  make(chan struct{}),
		conns: make(map[*frontConn]struct{}),
		fast:  make(map[*fastConn]struct{}),
	}
	s.front = f
	go func() {
		defer close(f.done)
		if err := f.srv.Serve(f.l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.cfg.logger.Error("simplerpc: HTTP front stopped", slog.Any("error", err))
		}
	}()
	return f
}

// hand gives c to the HTTP server, reporting false if the front is
// stopping and c was not taken.
func (f *httpFront) hand(c *frontConn) bool {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return false
	}
	f.conns[c] = struct{}{}
	f.mu.Unlock()
	select {
	case f.l.conns <- c:
		return true
	case <-f.l.done:
		f.forget(c)
		return false
	}
}

// addFast tracks c, reporting false if the front is stopping.
func (f *httpFront) addFast(c *fastConn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.fast[c] = struct{}{}
	return true
}

// dropFast forgets c, which has ended or gone to srv.
func (f *httpFront) dropFast(c *fastConn) {
	f.mu.Lock()
	delete(f.fast, c)
	f.mu.Unlock()
}

// stopFast stops the fast connections: at once if hard (Close), else
// each at its next request boundary (Shutdown); new ones are refused.
func (f *httpFront) stopFast(hard bool) {
	f.mu.Lock()
	f.closed = true
	fast := slices.Collect(maps.Keys(f.fast))
	f.mu.Unlock()
	if hard {
		f.hardOnce.Do(func() { close(f.hard) })
	}
	for _, c := range fast {
		if hard {
			c.nc.Close()
			c.abortInline()
		} else {
			c.stop()
		}
	}
}

// forget drops a connection that has ended.
func (f *httpFront) forget(c *frontConn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
}

// closeConns closes every connection handed over and refuses new ones,
// including any the HTTP server accepted too late to track itself.
func (f *httpFront) closeConns() {
	f.mu.Lock()
	f.closed = true
	conns := slices.Collect(maps.Keys(f.conns))
	f.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// runningFront returns the HTTP front if one was started. Call it only
// after beginShutdown, when no new front can start.
func (s *Server) runningFront() *httpFront {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.front
}

// shutdownFront stops the HTTP front gracefully: responses being written
// are finished, idle connections closed.
func (s *Server) shutdownFront(ctx context.Context) error {
	f := s.runningFront()
	if f == nil {
		return nil
	}
	f.stopFast(false)
	if err := f.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("simplerpc: shutting down HTTP: %w", err)
	}
	f.closeConns()
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// closeFront stops the HTTP front at once.
func (s *Server) closeFront() {
	f := s.runningFront()
	if f == nil {
		return
	}
	f.stopFast(true)
	_ = f.srv.Close()
	f.closeConns()
	<-f.done
}

// frontListener is the net.Listener the HTTP front serves: it yields the
// connections serveForeign hands over.
type frontListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *frontListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *frontListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *frontListener) Addr() net.Addr { return frontAddr{} }

// frontAddr is the address of the frontListener.
type frontAddr struct{}

func (frontAddr) Network() string { return "simplerpc" }
func (frontAddr) String() string  { return "simplerpc-http" }

// frontConn is a connection handed to the HTTP front. Reads first
// replay the bytes the fast path read (replay), then those serveConn
// peeked into br; Close signals closed. Its
// deadlines are set lazily (lazyDeadline): an I/O that times out on one
// the connection kept but the HTTP server no longer wants goes on.
type frontConn struct {
	net.Conn
	replay         []byte
	br             *bufio.Reader
	once           sync.Once
	closed         chan struct{}
	rdl, wdl       lazyDeadline
	rapply, wapply func(time.Time) error // Conn's SetReadDeadline and SetWriteDeadline, made once
}

// newFrontConn returns nc, whose peeked bytes br holds, ready for the
// HTTP front; nc has no deadline set.
func newFrontConn(nc net.Conn, br *bufio.Reader) *frontConn {
	c := &frontConn{Conn: nc, br: br, closed: make(chan struct{}), rapply: nc.SetReadDeadline, wapply: nc.SetWriteDeadline}
	c.rdl.horizon = frontHeaderTimeout + frontHeaderTimeout/8
	return c
}

func (c *frontConn) Read(p []byte) (int, error) {
	if len(c.replay) > 0 {
		n := copy(p, c.replay)
		c.replay = c.replay[n:]
		return n, nil
	}
	if c.br.Buffered() > 0 {
		return c.br.Read(p)
	}
	return readLazy(c.Conn, p, &c.rdl, c.rapply)
}

func (c *frontConn) Write(p []byte) (int, error) { return writeLazy(c.Conn, p, &c.wdl, c.wapply) }

func (c *frontConn) SetReadDeadline(t time.Time) error { return c.rdl.update(t, c.rapply) }

func (c *frontConn) SetWriteDeadline(t time.Time) error { return c.wdl.update(t, c.wapply) }

func (c *frontConn) SetDeadline(t time.Time) error {
	return errors.Join(c.SetReadDeadline(t), c.SetWriteDeadline(t))
}

func (c *frontConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
