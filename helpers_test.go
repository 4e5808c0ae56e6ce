package simplerpc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// codecs lists the codecs every behaviour is tested with.
var codecs = []string{"cbor", "json"}

// Calc is the service most tests call.
type Calc struct {
	runs    atomic.Int64 // executions of Count
	release chan struct{}
	started chan struct{}
}

func (c *Calc) Add(a, b int) int { return a + b }

func (c *Calc) Sum(ctx context.Context, nums ...int) (int, error) {
	t := 0
	for _, n := range nums {
		t += n
	}
	return t, ctx.Err()
}

func (c *Calc) Div(a, b float64) (float64, error) {
	if b == 0 {
		return 0, ErrDivByZero
	}
	return a / b, nil
}

func (c *Calc) DivMod(a, b int) (q, r int, err error) {
	if b == 0 {
		return 0, 0, &RangeError{Arg: "b", Value: b}
	}
	return a / b, a % b, nil
}

func (c *Calc) Crash(msg string) int { panic(msg) }

// Point is a struct argument: by position or by name.
type Point struct {
	X     int `json:"x"`
	Y     int `json:"y"`
	Label string
}

func (c *Calc) Describe(p Point) string { return fmt.Sprintf("%s(%d,%d)", p.Label, p.X, p.Y) }

func (c *Calc) Nothing() {}

// Block waits until released or its context ends, counting executions.
func (c *Calc) Block(ctx context.Context) (string, error) {
	c.runs.Add(1)
	if c.started != nil {
		c.started <- struct{}{}
	}
	select {
	case <-c.release:
		return "released", nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (c *Calc) Sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Calc) Echo(b []byte) []byte { return b }

// Zeros returns n zero bytes: a large reply from a small call.
func (c *Calc) Zeros(n int) []byte { return make([]byte, n) }

//lint:ignore U1000 it exists to prove unexported methods stay unreachable
func (c *Calc) unexported() int { return 1 }

// ErrDivByZero is a sentinel registered on both sides.
var ErrDivByZero = errors.New("division by zero")

// RangeError is an error type that travels with its fields.
type RangeError struct {
	Arg   string
	Value int
}

func (e *RangeError) Error() string { return fmt.Sprintf("%s=%d out of range", e.Arg, e.Value) }

func init() {
	simplerpc.RegisterError("calc.div_by_zero", ErrDivByZero)
	simplerpc.RegisterErrorType("calc.range", &RangeError{})
}

// testServer is a running server on loopback.
type testServer struct {
	srv  *simplerpc.Server
	addr string
	calc *Calc
	done chan error
}

func startServer(t *testing.T, opts ...simplerpc.ServerOption) *testServer {
	t.Helper()
	return serveOn(t, listen(t), opts...)
}

// listen opens a loopback listener on a free port.
func listen(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func serveOn(t *testing.T, l net.Listener, opts ...simplerpc.ServerOption) *testServer {
	t.Helper()
	// Quiet by default: tests that check logs pass their own logger.
	opts = append([]simplerpc.ServerOption{simplerpc.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}, opts...)
	ts := &testServer{srv: simplerpc.NewServer(opts...), addr: l.Addr().String(), done: make(chan error, 1),
		calc: &Calc{release: make(chan struct{})}}
	if err := ts.srv.Register("Calc", ts.calc); err != nil {
		t.Fatal(err)
	}
	if err := ts.srv.RegisterFunc("greet", func(name string) string { return "hello, " + name }); err != nil {
		t.Fatal(err)
	}
	go func() { ts.done <- ts.srv.Serve(l) }()
	t.Cleanup(ts.stop)
	return ts
}

// stop shuts the server down (once) and checks Serve's result.
func (ts *testServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = ts.srv.Shutdown(ctx)
	ts.srv.Close()
	select {
	case <-ts.done:
	case <-time.After(5 * time.Second):
		panic("Serve did not return after Shutdown")
	}
}

func dial(t *testing.T, addr string, opts ...simplerpc.ClientOption) *simplerpc.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := simplerpc.Dial(ctx, addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// eachCodec runs f once per codec against a fresh server and client.
func eachCodec(t *testing.T, f func(t *testing.T, ts *testServer, c *simplerpc.Client)) {
	for _, name := range codecs {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, simplerpc.WithStackTraces(true))
			f(t, ts, dial(t, ts.addr, simplerpc.WithCodec(name)))
		})
	}
}

// codeOf returns the Code of err, which must be an *Error.
func codeOf(t *testing.T, err error) simplerpc.Code {
	t.Helper()
	var e *simplerpc.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *simplerpc.Error", err, err)
	}
	return e.Code
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// simplerpcLogger returns a logger option writing to w.
func simplerpcLogger(w *syncBuffer) simplerpc.Option {
	return simplerpc.WithLogger(slog.New(slog.NewTextHandler(w, nil)))
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// netConn is net.Conn, named for dialer signatures in tests.
type netConn = net.Conn

// dialRoute dials the real address a test route maps addr to.
func dialRoute(ctx context.Context, route map[string]string, addr string) (net.Conn, error) {
	real, ok := route[addr]
	if !ok {
		return nil, fmt.Errorf("no route to %s", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", real)
}
