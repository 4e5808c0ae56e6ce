package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/simplerpc/simplerpc"
)

const demoSynopsis = "[flags]"

const demoHelp = `
Demo starts a server and a client on loopback (127.0.0.1, a free port) and
shows, step by step, what simplerpc does: calls through Bind, variadic and
struct arguments, an application error that errors.Is recognizes on the
client, a panic with the server-side traceback, a deadline, a file bigger
than a message streamed down and back up, and a client riding through a
server restart. It takes about a second and exits 0 when every step
behaved as described.

With -serve, it serves the demo's Calc, Files and Jobs services (with stack
traces on)
until interrupted, for trying "simplerpc list", "call" and "bench":

	simplerpc demo -serve 127.0.0.1:4000 &
	simplerpc list 127.0.0.1:4000
`

func runDemo(e *env, args []string) int {
	fs := newFlagSet("demo", demoSynopsis, demoHelp)
	serve := fs.String("serve", "", "instead of the demo, serve its Calc service on `addr` (host:port) until interrupted, to try the other commands on")
	pos, code, ok := parse(fs, e, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return usageError(e, fs, "demo takes no arguments")
	}
	if *serve != "" {
		return serveDemo(e, *serve)
	}
	if err := demo(e.ctx, e.stdout); err != nil {
		fmt.Fprintf(e.stderr, "simplerpc demo: %v\n", err)
		return 1
	}
	return 0
}

// ---- The demo service --------------------------------------------------------

// DemoCalc is the service the demo serves.
type DemoCalc struct{}

// Rect is a struct argument: it may be sent whole, by field position or by
// field name.
type Rect struct {
	W float64 `json:"w"`
	H float64 `json:"h"`
}

// ErrDivByZero is registered under the same name on both sides, so the
// client's errors.Is recognizes it.
var ErrDivByZero = errors.New("division by zero")

func init() { simplerpc.RegisterError("demo.div_by_zero", ErrDivByZero) }

// Add adds.
func (DemoCalc) Add(a, b int) int { return a + b }

// Sum is variadic.
func (DemoCalc) Sum(nums ...int) int {
	t := 0
	for _, n := range nums {
		t += n
	}
	return t
}

// MinMax returns two results.
func (DemoCalc) MinMax(first int, nums ...int) (lo, hi int) {
	lo, hi = first, first
	for _, n := range nums {
		lo, hi = min(lo, n), max(hi, n)
	}
	return lo, hi
}

// Area takes a struct.
func (DemoCalc) Area(r Rect) float64 { return r.W * r.H }

// Div fails with a registered sentinel.
func (DemoCalc) Div(a, b float64) (float64, error) {
	if b == 0 {
		return 0, fmt.Errorf("div(%g, %g): %w", a, b, ErrDivByZero)
	}
	return a / b, nil
}

// Crash panics.
func (DemoCalc) Crash(msg string) int { panic(msg) }

// Sleep waits for d or until the caller gives up.
func (DemoCalc) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// demoStub is the client's view of DemoCalc, filled in by Bind.
type demoStub struct {
	Add   func(a, b int) (int, error)
	Sum   func(nums ...int) (int, error)
	Area  func(r Rect) (float64, error)
	Div   func(a, b float64) (float64, error)
	Crash func(msg string) (int, error)
	Sleep func(ctx context.Context, d time.Duration) error
}

// ---- Running it ----------------------------------------------------------------

// demoServer is one server of the demo, serving on its own goroutine.
type demoServer struct {
	srv  *simplerpc.Server
	addr string
	done chan error
}

// startDemoServer serves DemoCalc on addr.
func startDemoServer(addr string) (*demoServer, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	// The server's own log would repeat the panic's stack the debug client
	// prints; the demo keeps the terminal for the client's view.
	srv := simplerpc.NewServer(simplerpc.WithStackTraces(true),
		simplerpc.WithLogger(slog.New(slog.DiscardHandler)))
	if err := srv.Register("Calc", DemoCalc{}); err != nil {
		l.Close()
		return nil, fmt.Errorf("register: %w", err)
	}
	if err := srv.Register("Files", DemoFiles{}); err != nil {
		l.Close()
		return nil, fmt.Errorf("register: %w", err)
	}
	if err := srv.Register("Jobs", DemoJobs{}); err != nil {
		l.Close()
		return nil, fmt.Errorf("register: %w", err)
	}
	ds := &demoServer{srv: srv, addr: l.Addr().String(), done: make(chan error, 1)}
	go func() { ds.done <- srv.Serve(l) }()
	return ds, nil
}

// stop closes the server at once and waits for Serve to return.
func (ds *demoServer) stop() {
	ds.srv.Close()
	<-ds.done
}

// shutdown stops the server gracefully and waits for it: Serve returns
// as soon as Shutdown begins, the calls in flight are answered only once
// Shutdown returns. Calls still running after timeout are cut off.
func (ds *demoServer) shutdown(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := ds.srv.Shutdown(ctx)
	if err != nil {
		ds.srv.Close()
	}
	<-ds.done
	return err
}

// serveDemo serves DemoCalc on addr until the command is interrupted,
// then finishes the calls in flight.
func serveDemo(e *env, addr string) int {
	ds, err := startDemoServer(addr)
	if err != nil {
		fmt.Fprintf(e.stderr, "simplerpc demo: %v\n", err)
		return 1
	}
	fmt.Fprintf(e.stderr, "serving Calc, Files and Jobs on %s; interrupt to stop\n", ds.addr)
	<-e.ctx.Done()
	if err := ds.shutdown(5 * time.Second); err != nil {
		fmt.Fprintf(e.stderr, "simplerpc demo: shutdown: %v; calls still running were cut off\n", err)
		return 1
	}
	return 0
}

// demo runs every step, writing what happens to w.
func demo(ctx context.Context, w io.Writer) (err error) {
	p := &printer{w: w}
	ds, err := startDemoServer("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer func() {
		if ds != nil {
			ds.stop()
		}
	}()
	logger := newTermLogger(w, slog.LevelInfo, "   │ ")
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := simplerpc.Dial(dctx, ds.addr, simplerpc.WithDebug(true), simplerpc.WithLogger(logger))
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	p.say("simplerpc demo: server on %s (WithStackTraces(true)), client dialed with WithDebug(true)", ds.addr)

	var calc demoStub
	if err := c.Bind("Calc", &calc); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	steps := []struct {
		title string
		run   func(*printer, *simplerpc.Client, *demoStub) error
	}{
		{"Calls through Bind: a struct of funcs that looks like the server", stepBind},
		{"Struct arguments by position and by name (Client.Call)", stepStructArgs},
		{"An application error with a registered sentinel", stepAppError},
		{"A panic, with the server-side traceback the debug client logs", stepPanic},
		{"A deadline", stepDeadline},
		{"Streams: a file bigger than a message, down and back up", stepStreams},
		{"Callbacks: a progress func and an observer, run in the client", stepCallbacks},
	}
	for i, s := range steps {
		p.say("\n%d. %s", i+1, s.title)
		if err := s.run(p, c, &calc); err != nil {
			return fmt.Errorf("step %d (%s): %w", i+1, s.title, err)
		}
	}
	p.say("\n%d. Riding through a server restart", len(steps)+1)
	if ds, err = stepRestart(p, ds, &calc); err != nil {
		return fmt.Errorf("step %d (restart): %w", len(steps)+1, err)
	}
	p.say("\ndemo finished: every step behaved as shown")
	return nil
}

// printer writes the demo's lines.
type printer struct{ w io.Writer }

func (p *printer) say(format string, args ...any) { fmt.Fprintf(p.w, format+"\n", args...) }

func stepBind(p *printer, _ *simplerpc.Client, calc *demoStub) error {
	sum, err := calc.Add(2, 3)
	if err != nil || sum != 5 {
		return fmt.Errorf("Add(2, 3) = %d, %w", sum, err)
	}
	p.say("   calc.Add(2, 3)                  = %d", sum)
	total, err := calc.Sum(1, 2, 3, 4)
	if err != nil || total != 10 {
		return fmt.Errorf("Sum(1, 2, 3, 4) = %d, %w", total, err)
	}
	p.say("   calc.Sum(1, 2, 3, 4)            = %d    (variadic: each argument travels on its own)", total)
	area, err := calc.Area(Rect{W: 3, H: 4})
	if err != nil || area != 12 {
		return fmt.Errorf("Area = %g, %w", area, err)
	}
	p.say("   calc.Area(Rect{W: 3, H: 4})     = %g    (a struct argument, sent whole)", area)
	return nil
}

func stepStructArgs(p *printer, c *simplerpc.Client, _ *demoStub) error {
	var area float64
	if err := c.Call(context.Background(), "Calc.Area", []any{3, 4}, &area); err != nil || area != 12 {
		return fmt.Errorf("Area by position = %g, %w", area, err)
	}
	p.say("   c.Call(ctx, \"Calc.Area\", []any{3, 4})                         = %g  (fields by position)", area)
	named := map[string]any{"w": 5, "h": 6}
	if err := c.Call(context.Background(), "Calc.Area", []any{named}, &area); err != nil || area != 30 {
		return fmt.Errorf("Area by name = %g, %w", area, err)
	}
	p.say("   c.Call(ctx, \"Calc.Area\", []any{map[string]any{\"w\": 5, \"h\": 6}}) = %g  (fields by name)", area)
	return nil
}

func stepAppError(p *printer, _ *simplerpc.Client, calc *demoStub) error {
	p.say("   calc.Div(1, 0) returns an error wrapping ErrDivByZero; the debug client logs its chain:")
	_, err := calc.Div(1, 0)
	if err == nil {
		return errors.New("Div(1, 0) succeeded")
	}
	p.say("   and calc.Div returned: %v", err)
	var e *simplerpc.Error
	if !errors.As(err, &e) || !errors.Is(err, ErrDivByZero) {
		return fmt.Errorf("errors.Is(err, ErrDivByZero) is false for %w", err)
	}
	p.say("   code %s, remote type %s, registered name %q", e.Code, e.RemoteType, e.Name)
	p.say("   errors.Is(err, ErrDivByZero) = true")
	return nil
}

func stepPanic(p *printer, _ *simplerpc.Client, calc *demoStub) error {
	p.say("   calc.Crash(\"boom\") panics on the server; the client's logger shows:")
	_, err := calc.Crash("boom")
	var e *simplerpc.Error
	if !errors.As(err, &e) || e.Code != simplerpc.CodeInternal || e.Stack == "" {
		return fmt.Errorf("Crash: want an internal error with a stack, got %w", err)
	}
	p.say("   and calc.Crash returned: %v", err)
	if n, err := calc.Add(1, 1); err != nil || n != 2 {
		return fmt.Errorf("the server stopped serving after the panic: %w", err)
	}
	p.say("   the server goes on serving: calc.Add(1, 1) = 2")
	return nil
}

func stepDeadline(p *printer, _ *simplerpc.Client, calc *demoStub) error {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := calc.Sleep(ctx, 10*time.Second)
	if !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("Sleep past the deadline: %w", err)
	}
	p.say("   calc.Sleep(ctx with a 50ms deadline, 10s) failed after %s: %v",
		time.Since(start).Round(10*time.Millisecond), err)
	p.say("   errors.Is(err, context.DeadlineExceeded) = true")
	return nil
}

// stepRestart closes the server, starts a new one on the same address and
// calls again through the same client. It returns the server now running.
func stepRestart(p *printer, old *demoServer, calc *demoStub) (*demoServer, error) {
	addr := old.addr
	old.stop()
	p.say("   server on %s closed (Server.Close)", addr)
	ds, err := startDemoServer(addr)
	if err != nil {
		return nil, fmt.Errorf("restart on %s: %w", addr, err)
	}
	p.say("   new server on %s", ds.addr)
	// The client learns of the closed connection when its reader sees the
	// end of the stream; give it a moment, so the next call does not go to
	// the old connection.
	time.Sleep(50 * time.Millisecond)
	n, err := calc.Add(20, 22)
	if errors.Is(err, &simplerpc.Error{Code: simplerpc.CodeConnectionLost}) {
		// The call went out on the old connection before the client saw
		// it end. It may have run, so the client does not retry it; Add
		// is idempotent, so the demo does.
		p.say("   calc.Add(20, 22) went to the old connection: %v; calling again", err)
		n, err = calc.Add(20, 22)
	}
	if err != nil || n != 42 {
		return ds, fmt.Errorf("Add after the restart = %d, %w", n, err)
	}
	p.say("   calc.Add(20, 22) = %d    (the same client redialed by itself)", n)
	return ds, nil
}
