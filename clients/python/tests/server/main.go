// Command server is the simplerpc server the Python client's tests call.
// It listens on ports of 127.0.0.1 and prints them as one JSON line on
// stdout:
//
//	{"main": "127.0.0.1:p1", "limited": "127.0.0.1:p2", "idle": "127.0.0.1:p3",
//	 "proxied": "127.0.0.1:p4", "tls": "127.0.0.1:p5", "ca": "-----BEGIN CERTIFICATE-----...",
//	 "restart": "127.0.0.1:p6"}
//
// main serves with stack traces; limited runs one call at a time and
// sends no stack traces; idle is the JSON-RPC handler mounted on an
// http.Server that closes keep-alive connections idle for 100 ms;
// proxied is a fault proxy (internal/faultproxy) in front of main, whose
// connections Fault.Reset (called on main) breaks; tls serves with TLS,
// with a certificate for 127.0.0.1 made at start and signed by the CA
// printed as "ca"; restart is a server that Restart.Now (called on
// main) shuts down gracefully and starts again on the same port. Each counts the TCP connections it accepted
// (Stats.Connections). Every server has the streaming methods of Streams
// (streams.go). The server shuts down when its standard input reaches
// end of file.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/faultproxy"
)

// Calc is the service most tests call.
type Calc struct{}

// Point is a struct argument and result.
type Point struct {
	X     int `json:"x"`
	Y     int `json:"y"`
	Label string
}

// ErrDivByZero is registered, so its name travels.
var ErrDivByZero = errors.New("division by zero")

func init() { simplerpc.RegisterError("calc.div_by_zero", ErrDivByZero) }

// Add adds.
func (Calc) Add(a, b int) int { return a + b }

// Sum is variadic.
func (Calc) Sum(nums ...int) int {
	t := 0
	for _, n := range nums {
		t += n
	}
	return t
}

// Concat is variadic after a fixed parameter.
func (Calc) Concat(sep string, parts ...string) string {
	out := ""
	for i, p := range parts {
		if i > 0 {
			out += sep
		}
		out += p
	}
	return out
}

// Div fails with a registered sentinel.
func (Calc) Div(a, b float64) (float64, error) {
	if b == 0 {
		return 0, fmt.Errorf("div(%g, %g): %w", a, b, ErrDivByZero)
	}
	return a / b, nil
}

// DivMod has two results.
func (Calc) DivMod(a, b int) (int, int) { return a / b, a % b }

// Describe takes a struct: by position, as a dict, or by keywords.
func (Calc) Describe(p Point) string { return fmt.Sprintf("%s(%d,%d)", p.Label, p.X, p.Y) }

// Move takes and returns a struct.
func (Calc) Move(p Point, dx, dy int) Point { return Point{X: p.X + dx, Y: p.Y + dy, Label: p.Label} }

// Total takes a map.
func (Calc) Total(m map[string]int) int {
	t := 0
	for _, v := range m {
		t += v
	}
	return t
}

// Crash panics.
func (Calc) Crash(msg string) int { panic(msg) }

// Nothing returns nothing.
func (Calc) Nothing() {}

// Year returns the year of t, in UTC.
func (Calc) Year(t time.Time) int { return t.UTC().Year() }

// Later returns t plus d.
func (Calc) Later(t time.Time, d time.Duration) time.Time { return t.Add(d) }

// Any returns its argument as decoded into an any.
func (Calc) Any(v any) any { return v }

// Echo returns its bytes.
func (Calc) Echo(b []byte) []byte { return b }

// Sleep waits ms milliseconds, or until the caller goes away.
func (Calc) Sleep(ctx context.Context, ms int) error {
	select {
	case <-time.After(time.Duration(ms) * time.Millisecond):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Coded fails with any simplerpc code.
type Coded struct{}

// Fail returns an error with the code named code.
func (Coded) Fail(code string) error {
	c, ok := simplerpc.ParseCode(code)
	if !ok {
		return fmt.Errorf("unknown code %q", code)
	}
	return &simplerpc.Error{Code: c, Message: "failed with " + code}
}

// Gate blocks callers until opened; it is shared by the servers.
type Gate struct {
	mu      sync.Mutex
	open    chan struct{}
	waiting atomic.Int64
}

// Wait blocks until Open.
func (g *Gate) Wait(ctx context.Context) (string, error) {
	g.mu.Lock()
	ch := g.open
	g.mu.Unlock()
	g.waiting.Add(1)
	defer g.waiting.Add(-1)
	select {
	case <-ch:
		return "opened", nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Open releases every waiter.
func (g *Gate) Open() {
	g.mu.Lock()
	close(g.open)
	g.open = make(chan struct{})
	g.mu.Unlock()
}

// Waiting returns the number of callers waiting.
func (g *Gate) Waiting() int64 { return g.waiting.Load() }

// Counter counts calls, to tell whether one ran.
type Counter struct{ n atomic.Int64 }

// Hit counts, then sleeps ms milliseconds.
func (c *Counter) Hit(ms int) int64 {
	n := c.n.Add(1)
	time.Sleep(time.Duration(ms) * time.Millisecond)
	return n
}

// Count returns the hits so far.
func (c *Counter) Count() int64 { return c.n.Load() }

// Fault breaks the proxied connections.
type Fault struct{ p *faultproxy.Proxy }

// Reset closes every connection through the proxy with a TCP RST and
// returns how many it closed.
func (f Fault) Reset() int { return f.p.Reset() }

// Silence stops the connections open through the proxy from forwarding
// anything, without telling either side; new connections are forwarded.
// It returns how many it silenced.
func (f Fault) Silence() int { return f.p.Silence() }

// Conns returns the number of connections open through the proxy.
func (f Fault) Conns() int { return f.p.Conns() }

// Restart shuts a server down gracefully and starts a new one on its
// port, whose sessions are new.
type Restart struct {
	mu    sync.Mutex // guards srv and l
	srv   *simplerpc.Server
	l     *countingListener
	start func(l *countingListener) *simplerpc.Server
	wg    *sync.WaitGroup // the Serve goroutines, waited for by main
}

// Now restarts the server: it returns once the old one has answered its
// calls and closed, and the new one listens.
func (r *Restart) Now(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	addr := r.l.Addr().String()
	if err := r.srv.Shutdown(ctx); err != nil {
		return err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	r.l = &countingListener{Listener: l}
	r.srv = r.start(r.l)
	return nil
}

// serve runs srv on l until it shuts down.
func (r *Restart) serve(srv *simplerpc.Server, l net.Listener) {
	r.wg.Go(func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, simplerpc.ErrServerClosed) {
			log.Print(err)
		}
	})
}

// shutdown stops the current server.
func (r *Restart) shutdown(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_ = r.srv.Shutdown(ctx)
}

// Echo returns the caller's metadata.
type Echo struct{}

// Metadata returns the value of each key asked for ("" when absent).
func (Echo) Metadata(ctx context.Context, keys ...string) map[string]string {
	md := simplerpc.IncomingMetadata(ctx)
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		out[k] = md.Get(k)
	}
	return out
}

// Stats reports a listener's accepted connections.
type Stats struct{ l *countingListener }

// Connections returns how many TCP connections the listener accepted.
func (s Stats) Connections() int64 { return s.l.n.Load() }

// countingListener counts accepted connections.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

func listen() *countingListener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	return &countingListener{Listener: l}
}

func newServer(l *countingListener, gate *Gate, counter *Counter, fault Fault, restart *Restart, streams *Streams, opts ...simplerpc.ServerOption) *simplerpc.Server {
	srv := simplerpc.NewServer(append(opts, simplerpc.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))...)
	for name, obj := range map[string]any{"Calc": Calc{}, "Coded": Coded{}, "Gate": gate, "Counter": counter,
		"Stats": Stats{l}, "Fault": fault, "Echo": Echo{}, "Restart": restart, "Streams": streams, "Jobs": jobs} {
		if err := srv.Register(name, obj); err != nil {
			log.Fatal(err)
		}
	}
	if err := srv.RegisterFunc("greet", func(name string) string { return "hello, " + name }); err != nil {
		log.Fatal(err)
	}
	return srv
}

func main() {
	gate := &Gate{open: make(chan struct{})}
	counter := &Counter{}
	streams := &Streams{}
	var wg sync.WaitGroup
	mainL, limitedL, idleL, tlsL, restartL := listen(), listen(), listen(), listen(), listen()
	proxy, err := faultproxy.New(mainL.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = proxy.Close() }()
	fault := Fault{proxy}
	ca, cfg := certificates()
	restart := &Restart{l: restartL, wg: &wg}
	restart.start = func(l *countingListener) *simplerpc.Server {
		srv := newServer(l, gate, counter, fault, restart, streams)
		restart.serve(srv, l)
		return srv
	}
	restart.srv = restart.start(restartL)
	mainSrv := newServer(mainL, gate, counter, fault, restart, streams, simplerpc.WithStackTraces(true))
	limitedSrv := newServer(limitedL, gate, counter, fault, restart, streams, simplerpc.WithMaxConcurrentCalls(1))
	idleSrv := newServer(idleL, gate, counter, fault, restart, streams, simplerpc.WithStackTraces(true))
	tlsSrv := newServer(tlsL, gate, counter, fault, restart, streams, simplerpc.WithTLS(cfg))
	idleHTTP := &http.Server{Handler: idleSrv, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 100 * time.Millisecond}

	for _, run := range []func() error{
		func() error { return mainSrv.Serve(mainL) },
		func() error { return limitedSrv.Serve(limitedL) },
		func() error { return idleHTTP.Serve(idleL) },
		func() error { return tlsSrv.Serve(tlsL) },
	} {
		wg.Go(func() {
			if err := run(); err != nil && !errors.Is(err, simplerpc.ErrServerClosed) && !errors.Is(err, http.ErrServerClosed) {
				log.Print(err)
			}
		})
	}
	addrs, _ := json.Marshal(map[string]string{
		"main": mainL.Addr().String(), "limited": limitedL.Addr().String(), "idle": idleL.Addr().String(),
		"proxied": proxy.Addr(), "tls": tlsL.Addr().String(), "ca": ca, "restart": restartL.Addr().String(),
	})
	fmt.Println(string(addrs))

	_, _ = io.Copy(io.Discard, os.Stdin) // until the tests close stdin
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gate.Open()
	_ = mainSrv.Shutdown(ctx)
	_ = limitedSrv.Shutdown(ctx)
	_ = idleHTTP.Shutdown(ctx)
	_ = idleSrv.Shutdown(ctx)
	_ = tlsSrv.Shutdown(ctx)
	restart.shutdown(ctx)
	wg.Wait()
}
