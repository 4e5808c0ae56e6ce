package simplerpc_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// faultyConn is a client connection a test can cut or silence.
type faultyConn struct {
	net.Conn
	silent atomic.Bool   // reads and writes vanish, as on a dead network
	closed chan struct{} // closed by Close
	once   sync.Once
}

func (c *faultyConn) Read(p []byte) (int, error) {
	if c.silent.Load() {
		<-c.closed
		return 0, net.ErrClosed
	}
	return c.Conn.Read(p)
}

func (c *faultyConn) Write(p []byte) (int, error) {
	if c.silent.Load() {
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *faultyConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// faultyDialer records the connections it makes.
type faultyDialer struct {
	mu    sync.Mutex
	conns []*faultyConn
}

func (d *faultyDialer) dial(ctx context.Context, addr string) (net.Conn, error) {
	var nd net.Dialer
	nc, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	fc := &faultyConn{Conn: nc, closed: make(chan struct{})}
	d.mu.Lock()
	d.conns = append(d.conns, fc)
	d.mu.Unlock()
	return fc, nil
}

func (d *faultyDialer) last() *faultyConn {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.conns[len(d.conns)-1]
}

func (d *faultyDialer) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.conns)
}

func TestSessionJoinsRunningCallAfterBlip(t *testing.T) {
	eachCodec(t, func(t *testing.T, ts *testServer, _ *simplerpc.Client) {
		ts.calc.started = make(chan struct{}, 1)
		d := &faultyDialer{}
		c := dial(t, ts.addr, simplerpc.WithDialer(d.dial), simplerpc.WithCodec("cbor"))
		done := make(chan error, 1)
		var got string
		go func() { done <- c.Call(context.Background(), "Calc.Block", nil, &got) }()
		<-ts.calc.started
		d.last().Conn.Close() // the network drops the connection
		for d.count() < 2 {
			time.Sleep(time.Millisecond) // the client redials by itself
		}
		time.Sleep(20 * time.Millisecond) // and re-sends the call, which the server joins
		close(ts.calc.release)
		if err := <-done; err != nil || got != "released" {
			t.Fatalf("call across a blip: %q, %v", got, err)
		}
		if n := ts.calc.runs.Load(); n != 1 {
			t.Fatalf("the call ran %d times", n)
		}
	})
}

func TestSessionAnswersFromMemoryWhenReplyWasLost(t *testing.T) {
	ts := startServer(t)
	var runs atomic.Int64
	if err := ts.srv.RegisterFunc("count", func(token string) string { runs.Add(1); return "done " + token }); err != nil {
		t.Fatal(err)
	}
	d := &faultyDialer{}
	c := dial(t, ts.addr, simplerpc.WithDialer(d.dial))
	first := d.last()
	// Let the call out, then silence the connection so its reply is lost.
	var got string
	done := make(chan error, 1)
	go func() { done <- c.Call(context.Background(), "count", []any{"x"}, &got) }()
	for runs.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	first.silent.Store(true)
	time.Sleep(20 * time.Millisecond)
	first.Conn.Close()
	if err := <-done; err != nil || got != "done x" {
		t.Fatalf("call whose reply was lost: %q, %v", got, err)
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("the call ran %d times", n)
	}
}

func TestWithoutSessionsABlipLosesTheCall(t *testing.T) {
	ts := startServer(t)
	ts.calc.started = make(chan struct{}, 1)
	d := &faultyDialer{}
	c := dial(t, ts.addr, simplerpc.WithDialer(d.dial), simplerpc.WithResumableSessions(false))
	done := make(chan error, 1)
	go func() { done <- c.Call(context.Background(), "Calc.Block", nil) }()
	<-ts.calc.started
	d.last().Conn.Close()
	if err := <-done; codeOf(t, err) != simplerpc.CodeConnectionLost {
		t.Fatalf("blip without sessions: %v", err)
	}
	close(ts.calc.release)
}

func TestKeepaliveDetectsDeadPeer(t *testing.T) {
	ts := startServer(t)
	ts.calc.started = make(chan struct{}, 1)
	d := &faultyDialer{}
	c := dial(t, ts.addr, simplerpc.WithDialer(d.dial), simplerpc.WithKeepalive(30*time.Millisecond, 30*time.Millisecond))
	done := make(chan error, 1)
	var got string
	go func() { done <- c.Call(context.Background(), "Calc.Block", nil, &got) }()
	<-ts.calc.started
	// The network goes dark without closing anything: a half-open
	// connection. Keepalive notices, the client redials and resumes.
	d.last().silent.Store(true)
	start := time.Now()
	for d.count() < 2 {
		if time.Since(start) > 2*time.Second {
			t.Fatal("a silent connection was not detected")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(ts.calc.release)
	if err := <-done; err != nil || got != "released" {
		t.Fatalf("call across a dead connection: %q, %v", got, err)
	}
	if n := ts.calc.runs.Load(); n != 1 {
		t.Fatalf("the call ran %d times", n)
	}
}

func TestServerKeepaliveDropsDeadClient(t *testing.T) {
	var logs syncBuffer
	ts := startServer(t, simplerpc.WithKeepalive(30*time.Millisecond, 30*time.Millisecond), simplerpcLogger(&logs))
	nc := rawConn(t, ts.addr, true) // handshakes, then never answers pings
	_ = nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 64)
	for {
		if _, err := nc.Read(buf); err != nil {
			break // the server closed it
		}
	}
	if !contains(logs.String(), "keepalive") {
		t.Errorf("the server did not log why it dropped the client: %s", logs.String())
	}
}

func TestManyCallsAcrossRepeatedBlips(t *testing.T) {
	ts := startServer(t)
	var mu sync.Mutex
	runs := map[int]int{}
	if err := ts.srv.RegisterFunc("once", func(ctx context.Context, n int) int {
		mu.Lock()
		runs[n]++
		mu.Unlock()
		time.Sleep(time.Millisecond)
		return n * 2
	}); err != nil {
		t.Fatal(err)
	}
	d := &faultyDialer{}
	c := dial(t, ts.addr, simplerpc.WithDialer(d.dial))
	stop := make(chan struct{})
	var cutter sync.WaitGroup
	cutter.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(15 * time.Millisecond):
				d.last().Conn.Close()
			}
		}
	})
	var wg sync.WaitGroup
	var failures atomic.Int64
	for g := range 16 {
		wg.Go(func() {
			for i := range 40 {
				n := g*1000 + i
				var got int
				if err := c.Call(context.Background(), "once", []any{n}, &got); err != nil || got != 2*n {
					failures.Add(1)
					t.Errorf("call %d: %d, %v", n, got, err)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	cutter.Wait()
	mu.Lock()
	defer mu.Unlock()
	for n, k := range runs {
		if k != 1 {
			t.Errorf("call %d ran %d times", n, k)
		}
	}
	if len(runs) != 16*40 || failures.Load() > 0 {
		t.Errorf("%d distinct calls ran, %d failed; want 640 and 0", len(runs), failures.Load())
	}
	t.Logf("%d connections used", d.count())
}

// TestHandshakeCutAfterHelloResumes checks a first connection cut after
// its hello reached the server, before the welcome came back: the server
// holds the session, so the next hello asks to resume it rather than be
// refused as a new session under a held id.
func TestHandshakeCutAfterHelloResumes(t *testing.T) {
	ts := startServer(t)
	var logs syncBuffer
	var dials atomic.Int64
	dialer := func(ctx context.Context, addr string) (net.Conn, error) {
		var nd net.Dialer
		nc, err := nd.DialContext(ctx, "tcp", addr)
		if err != nil || dials.Add(1) > 1 {
			return nc, err
		}
		return &cutBeforeWelcome{Conn: nc, srv: ts.srv}, nil
	}
	c := dial(t, ts.addr, simplerpc.WithDialer(dialer), simplerpcLogger(&logs))
	var got int
	if err := c.Call(context.Background(), "Calc.Add", []any{40, 2}, &got); err != nil || got != 42 {
		t.Fatalf("Add after a cut handshake: %d, %v", got, err)
	}
	if dials.Load() < 2 {
		t.Fatalf("%d dials; the first connection should have been cut", dials.Load())
	}
	if contains(logs.String(), "refused the session") {
		t.Errorf("the client's second hello was refused: %s", logs.String())
	}
}

// cutBeforeWelcome is a connection whose first read waits until the
// server holds a session, then fails: the hello arrived, the welcome is
// lost.
type cutBeforeWelcome struct {
	net.Conn
	srv *simplerpc.Server
}

func (c *cutBeforeWelcome) Read([]byte) (int, error) {
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if sessions, _, _ := simplerpc.SessionStats(c.srv); sessions > 0 {
			break
		}
	}
	c.Conn.Close()
	return 0, net.ErrClosed
}
