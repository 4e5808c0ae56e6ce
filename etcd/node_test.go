package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/etcd"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// quiet is the logger of the test servers and clients.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func quietZap() *zap.Logger { return zap.NewNop() }

// ledger records which node ran each call, by the call's unique token.
type ledger struct {
	mu   sync.Mutex
	runs map[string][]int // token -> ids of the nodes that ran it
}

func newLedger() *ledger { return &ledger{runs: make(map[string][]int)} }

func (l *ledger) record(token string, node int) {
	l.mu.Lock()
	l.runs[token] = append(l.runs[token], node)
	l.mu.Unlock()
}

func (l *ledger) ranOn(token string) []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.runs[token]...)
}

// node is one server "process": a simplerpc server, its own etcd client
// and its registration under "calc".
type node struct {
	id     int
	addr   string
	srv    *simplerpc.Server
	cli    *clientv3.Client
	reg    *etcd.Registration
	served chan error
	hits   atomic.Int64 // calls run
	joined time.Time    // when Register returned
}

// Calc is the service the nodes serve.
type Calc struct {
	n   *node
	led *ledger
}

// Work records that this node ran the call token and returns 2n.
func (c *Calc) Work(token string, n int) int {
	c.led.record(token, c.n.id)
	c.n.hits.Add(1)
	time.Sleep(time.Millisecond)
	return 2 * n
}

// startNode starts a server on a free loopback port and registers it
// under "calc" with the given lease TTL. The test's end closes what is
// still open.
func startNode(t *testing.T, e *etcdServer, id int, led *ledger, ttl time.Duration) *node {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &node{id: id, addr: l.Addr().String(), served: make(chan error, 1)}
	n.srv = simplerpc.NewServer(simplerpc.WithLogger(quiet))
	if err := n.srv.Register("Calc", &Calc{n: n, led: led}); err != nil {
		t.Fatal(err)
	}
	go func() { n.served <- n.srv.Serve(l) }()
	n.cli = e.newClient()
	t.Cleanup(func() {
		if n.reg != nil {
			_ = n.reg.Close() // fails for a killed node, whose etcd client is closed
		}
		n.srv.Close()
		if err := <-n.served; !errors.Is(err, simplerpc.ErrServerClosed) {
			t.Errorf("node %d: Serve returned %v", id, err)
		}
		n.cli.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if n.reg, err = etcd.Register(ctx, n.cli, "calc", n.addr, etcd.WithTTL(ttl)); err != nil {
		t.Fatal(err)
	}
	n.joined = time.Now()
	return n
}

// leave takes the node out gracefully: the registration first, so that
// clients stop sending it new calls, then a graceful shutdown, which
// finishes the calls in flight.
func (n *node) leave(t *testing.T) {
	t.Helper()
	if err := n.reg.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// kill stops the node as a crash would: connections dropped, running
// calls abandoned, the lease neither renewed nor revoked.
func (n *node) kill() {
	n.srv.Close()
	n.cli.Close()
}

// dialCalc dials "calc" through etcd; the client is closed when the
// test ends.
func dialCalc(t *testing.T, cli *clientv3.Client, opts ...simplerpc.ClientOption) *simplerpc.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	opts = append([]simplerpc.ClientOption{simplerpc.WithResolver(etcd.NewResolver(cli)), simplerpc.WithLogger(quiet)}, opts...)
	c, err := simplerpc.Dial(ctx, "calc", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitFor polls cond every 5ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// healthyAddrs returns the addresses of the client's endpoints, and
// whether all of them are healthy.
func healthyAddrs(c *simplerpc.Client) ([]string, bool) {
	var addrs []string
	all := true
	for _, e := range c.Endpoints() {
		addrs = append(addrs, e.Addr)
		all = all && e.Healthy
	}
	return addrs, all
}

// outcome is what one call returned.
type outcome struct {
	token string
	err   error
}

// loadGen makes calls from several goroutines until stopped, each call
// with a unique token, and keeps every failure.
type loadGen struct {
	calls   atomic.Int64
	stop    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	failed  []outcome
	wrong   []string
	stopped bool
}

func startLoad(c *simplerpc.Client, workers int) *loadGen {
	g := &loadGen{stop: make(chan struct{})}
	for w := range workers {
		g.wg.Go(func() {
			for seq := 0; ; seq++ {
				select {
				case <-g.stop:
					return
				default:
				}
				token := fmt.Sprintf("w%d-%d", w, seq)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				var got int
				err := c.Call(ctx, "Calc.Work", []any{token, seq}, &got)
				cancel()
				g.calls.Add(1)
				g.mu.Lock()
				switch {
				case err != nil:
					g.failed = append(g.failed, outcome{token, err})
				case got != 2*seq:
					g.wrong = append(g.wrong, fmt.Sprintf("%s: got %d, want %d", token, got, 2*seq))
				}
				g.mu.Unlock()
			}
		})
	}
	return g
}

// finish stops the load and waits for every call to return.
func (g *loadGen) finish() {
	if !g.stopped {
		g.stopped = true
		close(g.stop)
	}
	g.wg.Wait()
}

// isCode reports whether err is a *simplerpc.Error of code.
func isCode(err error, code simplerpc.Code) bool {
	var e *simplerpc.Error
	return errors.As(err, &e) && e.Code == code
}
