package simplerpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/simplerpc/simplerpc/internal/jsonrpchttp"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// Server exposes registered objects and functions to clients. Create one
// with NewServer, register what it serves, then call Serve. A Server is
// safe for concurrent use; methods may be registered while it serves.
//
// Its goroutines: one accept loop per Serve (the caller's), one reader per
// connection (serveConn, tracked by connWG), the call goroutines of pool,
// and the HTTP front's, started on the first connection that is not
// simplerpc (foreign.go); docs/architecture.md lists them all.
//
// Locks: mu guards listeners, conns, sessions, detached (with each
// session's place in that list), shutting and front; connWG and pool
// guard themselves; the rest is set by NewServer or is atomic (stopping,
// orphanCalls, connCount, the budget's counters). mu is taken before a
// session's mu (session_table.go), never after, and no connection is
// written to while it is held; the dispatcher's, the log limiter's and
// health's locks are leaves, not taken under it.
type Server struct {
	cfg serverConfig

	// netHTTPOnly turns the HTTP front's fast path off for this server
	// (foreign_fast.go); set from the package's test switch when the
	// server is made, and by tests before it serves.
	netHTTPOnly bool

	// dispatch holds the method table, admits calls and runs them; the
	// native connections and JSON-RPC both go through it.
	dispatch *dispatcher
	// rpc answers JSON-RPC over HTTP (ServeHTTP).
	rpc *jsonrpchttp.Handler

	// budget counts the memory held for clients (WithMemoryBudget).
	budget memBudget
	// refused counts the calls refused under the limits (Stats).
	refused refusals
	// orphanCalls counts calls still running for detached sessions,
	// and for sessions that ended detached, until they return.
	orphanCalls atomic.Int64
	// detachedCalls counts, of those, the calls of sessions still
	// detached: those a resume could claim, which the bound on them
	// (maxOrphans) evicts.
	detachedCalls atomic.Int64
	// kept counts, of budget, what resumable streams keep for a resume
	// (stream_server.go); away from budget's lines, which every call reads.
	kept atomic.Int64
	// sweep watches the calls of quick methods that connections'
	// readers run themselves, once the server has many connections
	// (sweep.go); connCount counts them (track).
	sweep     inlineSweep
	connCount atomic.Int32
	cores     int // GOMAXPROCS when the server was made
	// logs rate-limits what peers can make the server log.
	logs logLimiter
	// parsing bounds the large JSON-RPC bodies parsed at once
	// (jsonrpchttp.ParseGated).
	parsing *cpuGate

	// stopping is the go-away flag of calls that come over HTTP
	// (ServeHTTP): set when Shutdown or Close begins.
	stopping atomic.Bool
	// health is what SetServing set (health.go); stopping makes
	// everything NOT_SERVING.
	health healthState

	// mu guards the fields below it but connWG and pool (which guard
	// themselves). Lock order: mu before a session's mu (session_table.go);
	// nothing else is locked under it.
	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*serverConn]struct{}
	sessions  map[[wire.SessionIDSize]byte]*session
	detached  sessionList // sessions without a connection, the oldest first
	shutting  bool
	front     *httpFront     // HTTP server of non-simplerpc connections, started on demand
	connWG    sync.WaitGroup // connection goroutines
	pool      workerPool     // call goroutines
}

// NewServer returns a Server configured by opts.
func NewServer(opts ...ServerOption) *Server {
	s := &Server{
		cfg:         newServerConfig(opts),
		netHTTPOnly: netHTTPOnly,
		listeners:   make(map[net.Listener]struct{}),
		conns:       make(map[*serverConn]struct{}),
		sessions:    make(map[[wire.SessionIDSize]byte]*session),
		parsing:     newCPUGate(),
		cores:       runtime.GOMAXPROCS(0),
	}
	s.budget.limit = int64(s.cfg.memoryBudget)
	s.pool.run = func(t task) {
		if t.stream != nil {
			t.sc.runStream(t)
			return
		}
		t.sc.run(t.id, t.m, t.ctx, t.cancel, t.args, t.reserve, nil)
	}
	s.dispatch = newDispatcher(dispatchConfig{
		logger:        s.cfg.logger,
		interceptors:  s.cfg.interceptors,
		stackTraces:   s.cfg.stackTraces,
		maxConcurrent: s.cfg.maxConcurrent,
		maxReply:      s.cfg.maxMessageSize,
		listMethods:   !s.cfg.noIntrospection,
		evict:         s.evictHolding,
		refused:       &s.refused,
	})
	s.rpc = s.newRPCHandler()
	s.registerIntrospection()
	s.registerHealth()
	return s
}

// ---- Registration ------------------------------------------------------------

// Register exposes every exported method of obj under the service name
// name, as "name.Method". An empty name means the name of obj's concrete
// type. Methods may take a leading context.Context, any parameters
// (variadic too) and return any results with an optional final error. A
// method whose parameter or result types cannot be encoded (channels,
// funcs, unsafe pointers, complex numbers, non-empty interfaces) is left
// out with a warning logged. Register fails when no method can be exposed
// or the name is taken.
func (s *Server) Register(name string, obj any) error { return s.dispatch.register(name, obj) }

// RegisterFunc exposes the function fn under the bare name name. fn may
// have any signature Register accepts for methods.
func (s *Server) RegisterFunc(name string, fn any) error { return s.dispatch.registerFunc(name, fn) }

// ---- Serving -------------------------------------------------------------------

// ListenAndServe listens on the TCP address addr and calls Serve. As
// Serve, it returns ErrServerClosed as soon as Shutdown begins; the
// program must wait for Shutdown to return.
func (s *Server) ListenAndServe(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("simplerpc: %w", err)
	}
	return s.Serve(l)
}

// Serve accepts connections on l and serves each in its own goroutine. It
// closes l before returning. It returns ErrServerClosed after Shutdown or
// Close, or the listener's error.
//
// When Shutdown is called, Serve and ListenAndServe return ErrServerClosed
// at once, while the calls in flight are still running: make sure the
// program does not exit then, but waits for Shutdown to return.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.shutting {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
		l.Close()
	}()
	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.isShutting() {
				return ErrServerClosed
			}
			if !temporary(err) {
				return fmt.Errorf("simplerpc: accept: %w", err)
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.cfg.logger.Warn("simplerpc: accept failed; retrying", slog.Any("error", err), slog.Duration("in", backoff))
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		s.mu.Lock()
		if s.shutting {
			s.mu.Unlock()
			nc.Close()
			return ErrServerClosed
		}
		s.connWG.Add(1) // under mu, so never concurrent with Shutdown's Wait
		s.mu.Unlock()
		go s.serveConn(nc)
	}
}

// temporary reports whether an accept error may go away by itself.
func temporary(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}

func (s *Server) isShutting() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shutting
}

// track adds or removes a live connection. Adding fails once the server
// is shutting down.
func (s *Server) track(sc *serverConn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		if _, ok := s.conns[sc]; ok {
			delete(s.conns, sc)
			s.connCount.Add(-1)
		}
		return true
	}
	if s.shutting {
		return false
	}
	s.conns[sc] = struct{}{}
	s.connCount.Add(1)
	return true
}

// beginShutdown stops accepting and returns the live connections.
func (s *Server) beginShutdown() []*serverConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shutting = true
	s.stopping.Store(true)
	for l := range s.listeners {
		l.Close()
	}
	conns := make([]*serverConn, 0, len(s.conns))
	for sc := range s.conns {
		conns = append(conns, sc)
	}
	return conns
}

// Shutdown stops the server gracefully: it stops accepting connections,
// tells every client to go away (they send no new calls here and redial),
// waits for every call already accepted to finish and its reply to be
// written, then closes the connections. Calls that arrive after the
// go-away are refused with CodeUnavailable, so clients retry them
// elsewhere. JSON-RPC calls over HTTP are waited for too, and new ones
// are refused with -32001 (unavailable). If ctx ends first, Shutdown
// returns its error and leaves the rest to Close.
//
// When Shutdown is called, Serve and ListenAndServe return ErrServerClosed
// at once. Make sure the program does not exit then, but waits for
// Shutdown to return: the calls in flight are answered only by then.
//
//	go func() {
//		<-ctx.Done() // SIGTERM, say
//		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
//		defer cancel()
//		shutdownErr <- srv.Shutdown(sctx)
//	}()
//	if err := srv.ListenAndServe(addr); !errors.Is(err, simplerpc.ErrServerClosed) {
//		return err
//	}
//	return <-shutdownErr
func (s *Server) Shutdown(ctx context.Context) error {
	conns := s.beginShutdown()
	for _, sc := range conns {
		sc.goAway(false)
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for s.dispatch.running() > 0 {
		s.stopDetachedStreams()
		select {
		case <-ctx.Done():
			stopStreams(conns)
			return ctx.Err()
		case <-tick.C:
		}
	}
	for _, sc := range conns {
		sc.goAway(true)
		sc.w.CloseAfterFlush()
	}
	for _, sc := range conns {
		select {
		case <-sc.w.Done():
		case <-ctx.Done():
			return ctx.Err()
		}
		sc.closeGently()
	}
	if err := s.shutdownFront(ctx); err != nil {
		return err
	}
	s.connWG.Wait()
	s.endSessions()
	s.stopWorkers()
	return nil
}

// stopWorkers lets idle call goroutines exit and waits for them; a call
// still running (one that ignores its canceled context) is waited for too.
func (s *Server) stopWorkers() { s.pool.close(true) }

// Close stops the server at once: listeners and connections are closed,
// and running calls see their contexts canceled. Their replies are lost;
// use Shutdown to finish them.
func (s *Server) Close() error {
	for _, sc := range s.beginShutdown() {
		sc.abort()
	}
	s.closeFront()
	s.connWG.Wait()
	s.endSessions()
	s.pool.close(false) // idle call goroutines exit; busy ones after their call
	return nil
}
