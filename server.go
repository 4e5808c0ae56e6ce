package simplerpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/simplerpc/simplerpc/internal/wire"
)

// Server exposes registered objects and functions to clients. Create one
// with NewServer, register what it serves, then call Serve. A Server is
// safe for concurrent use; methods may be registered while it serves.
type Server struct {
	cfg serverConfig

	// methods maps "Service.Method" and bare function names to their
	// entries. It is replaced, never mutated, so calls read it without a lock.
	methods atomic.Pointer[map[string]*method]

	// active counts calls accepted and not yet answered.
	active atomic.Int64

	// budget counts the memory held for clients (WithMemoryBudget).
	budget memBudget
	// orphanCalls counts calls still running for detached sessions.
	orphanCalls atomic.Int64
	// logs rate-limits what peers can make the server log.
	logs logLimiter
	// parsing bounds the large JSON-RPC bodies parsed at once
	// (rpcParseGated).
	parsing *cpuGate

	// stopping is the go-away flag of calls that come over HTTP
	// (ServeHTTP): set when Shutdown or Close begins.
	stopping atomic.Bool

	mu        sync.Mutex
	services  map[string][]string // service name -> its method names
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
		cfg:       newServerConfig(opts),
		services:  make(map[string][]string),
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*serverConn]struct{}),
		sessions:  make(map[[wire.SessionIDSize]byte]*session),
		parsing:   newCPUGate(),
	}
	s.budget.limit = int64(s.cfg.memoryBudget)
	s.pool.run = func(t task) { t.sc.run(t.id, t.m, t.ctx, t.cancel, t.args, t.reserve) }
	s.methods.Store(&map[string]*method{})
	s.registerIntrospection()
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
func (s *Server) Register(name string, obj any) error {
	if obj == nil {
		return errors.New("simplerpc: Register of nil object")
	}
	v := reflect.ValueOf(obj)
	t := v.Type()
	if name == "" {
		name = reflect.Indirect(v).Type().Name()
		if name == "" {
			return fmt.Errorf("simplerpc: Register: type %s has no name; pass a service name", t)
		}
	}
	if err := validName(name); err != nil {
		return fmt.Errorf("simplerpc: Register(%q): %w", name, err)
	}
	entries := make(map[string]*method)
	var skipped []string
	for i := 0; i < t.NumMethod(); i++ {
		mt := t.Method(i)
		if !mt.IsExported() {
			continue
		}
		full := name + "." + mt.Name
		m, err := newMethod(full, mt.Func, v)
		if err != nil {
			s.cfg.logger.Warn("simplerpc: method not exposed", slog.String("method", full), slog.String("reason", err.Error()))
			skipped = append(skipped, fmt.Sprintf("%s: %v", mt.Name, err))
			continue
		}
		entries[full] = m
	}
	if len(entries) == 0 {
		hint := fmt.Sprintf("type %s has no exported methods", t)
		if len(skipped) > 0 {
			hint = "none can be exposed: " + strings.Join(skipped, "; ")
		} else if t.Kind() != reflect.Pointer && reflect.PointerTo(t).NumMethod() > 0 {
			hint += fmt.Sprintf("; its methods have pointer receivers: register a *%s", t)
		}
		return fmt.Errorf("simplerpc: Register(%q): %s", name, hint)
	}
	return s.add(name, entries)
}

// RegisterFunc exposes the function fn under the bare name name. fn may
// have any signature Register accepts for methods.
func (s *Server) RegisterFunc(name string, fn any) error {
	v := reflect.ValueOf(fn)
	if !v.IsValid() || v.Kind() != reflect.Func || v.IsNil() {
		return fmt.Errorf("simplerpc: RegisterFunc(%q): %T is not a function", name, fn)
	}
	if err := validName(name); err != nil {
		return fmt.Errorf("simplerpc: RegisterFunc(%q): %w", name, err)
	}
	m, err := newMethod(name, v, reflect.Value{})
	if err != nil {
		return fmt.Errorf("simplerpc: RegisterFunc(%q): %w", name, err)
	}
	return s.add("", map[string]*method{name: m})
}

func validName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case strings.ContainsAny(name, ". \t\r\n"):
		return errors.New("a name may not contain dots or spaces")
	}
	return nil
}

// add publishes entries; service is "" for a function.
func (s *Server) add(service string, entries map[string]*method) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.methods.Load()
	taken := func(n string) bool { _, ok := s.services[n]; _, fok := old[n]; return ok || fok }
	if service != "" && taken(service) {
		return fmt.Errorf("simplerpc: Register(%q): name already registered", service)
	}
	next := make(map[string]*method, len(old)+len(entries))
	for k, m := range old {
		next[k] = m
	}
	var names []string
	for k, m := range entries {
		if service == "" && taken(k) {
			return fmt.Errorf("simplerpc: RegisterFunc(%q): name already registered", k)
		}
		next[k] = m
		names = append(names, strings.TrimPrefix(k, service+"."))
	}
	if service != "" {
		slices.Sort(names)
		s.services[service] = names
	}
	s.methods.Store(&next)
	return nil
}

// lookup finds a method. name is the wire bytes; the map lookup with
// string(name) does not allocate.
func (s *Server) lookup(name []byte) *method {
	return (*s.methods.Load())[string(name)]
}

// notFound explains a failed lookup. Only a server that says what it
// serves (WithIntrospection, the default) names what the service has, a
// few of its methods and their count; the name looked up is quoted valid
// UTF-8 and cut short (peerText), as it comes from the peer.
func (s *Server) notFound(name string) *Error {
	name = peerText(name)
	svc, meth, ok := strings.Cut(name, ".")
	s.mu.Lock()
	methods, known := s.services[svc]
	s.mu.Unlock()
	switch {
	case ok && known && !s.cfg.noIntrospection:
		return errorf(CodeNotFound, name, "service %s has no method %s (%s)", svc, meth, someMethods(methods))
	case ok && known:
		return errorf(CodeNotFound, name, "service %s has no method %s", svc, meth)
	case ok:
		return errorf(CodeNotFound, name, "no service %s", svc)
	}
	return errorf(CodeNotFound, name, "no function %s", name)
}

// notFoundListed is how many of a service's methods a not-found message
// names.
const notFoundListed = 5

// someMethods names the first few of a service's methods, sorted, and
// how many more it has: "it has: Add, Area, Crash, Div, Sum and 33 more;
// simplerpc.describe lists them all".
func someMethods(methods []string) string {
	if len(methods) <= notFoundListed {
		return "it has: " + strings.Join(methods, ", ")
	}
	return fmt.Sprintf("it has: %s and %d more; %s lists them all",
		strings.Join(methods[:notFoundListed], ", "), len(methods)-notFoundListed, DescribeMethod)
}

// ---- Admission -----------------------------------------------------------------

// admit counts a call about to run, or refuses it with CodeUnavailable
// when the server is shutting down (goingAway set for the caller's
// connection) or busy. Every admitted call must be released once.
func (s *Server) admit(m *method, goingAway *atomic.Bool) *Error {
	// Count the call before looking at the go-away flag: Shutdown sets the
	// flag, then waits for the count to reach zero.
	n := s.active.Add(1)
	switch {
	case goingAway.Load():
		s.active.Add(-1)
		return errorf(CodeUnavailable, m.name, "server is shutting down; call not run")
	case s.cfg.maxConcurrent > 0 && n > int64(s.cfg.maxConcurrent):
		s.active.Add(-1)
		return errorf(CodeUnavailable, m.name, "server busy: %d calls running; call not run", s.cfg.maxConcurrent)
	}
	return nil
}

// admitEvicting is admit, and when the server runs as many calls as it
// may, it ends the session detached the longest — calls of a client that
// left may hold the slots — and waits briefly for its calls to end.
func (s *Server) admitEvicting(m *method, goingAway *atomic.Bool) *Error {
	e := s.admit(m, goingAway)
	if e == nil || goingAway.Load() || !s.evictOldest("the limit of concurrent calls is reached") {
		return e
	}
	for deadline := time.Now().Add(evictWait); ; time.Sleep(time.Millisecond) {
		if e = s.admit(m, goingAway); e == nil || time.Now().After(deadline) {
			return e
		}
	}
}

// evictWait is how long a call refused at the limit of concurrent calls
// waits for the calls of an evicted session to end.
const evictWait = 20 * time.Millisecond

// release ends what admit began.
func (s *Server) release() { s.active.Add(-1) }

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
		delete(s.conns, sc)
		return true
	}
	if s.shutting {
		return false
	}
	s.conns[sc] = struct{}{}
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
	for s.active.Load() > 0 {
		select {
		case <-ctx.Done():
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
