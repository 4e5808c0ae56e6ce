package reliability_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// The attack tests (attack_*_test.go) replay, against a live server, the
// attacks a security review found: each runs beside well-behaved clients
// that call Victim.Add every 5 ms natively and over JSON-RPC, while the
// heap in use is sampled. Each asserts what is correctness — the heap
// stays under the memory budget plus attackHeapSlack, the well-behaved
// clients see no failure, nothing leaks to the attacker, no call goes
// unanswered, the log stays bounded — and reports timings without
// asserting them. By default they run a short form; -attack.full runs the
// review's sizes.

var attackFull = flag.Bool("attack.full", false, "run the attack tests at the sizes of the security review (slow), not their short form")

// attackSize is ci in the short form, full with -attack.full.
func attackSize(ci, full int) int {
	if *attackFull {
		return full
	}
	return ci
}

// attackHeapSlack is how far above the server's memory budget the heap in
// use may rise, over what it was before, during an attack: the attacker's
// and the well-behaved clients' buffers, and what the budget does not
// count.
const attackHeapSlack = 64 << 20

// The well-behaved clients' pace and deadline.
const (
	goodEvery   = 5 * time.Millisecond
	goodTimeout = 10 * time.Second
)

// attackSetup says how the server under attack is configured.
type attackSetup struct {
	budget int      // WithMemoryBudget; 0 leaves the default
	pki    *testPKI // mutual TLS when set; the clients present certificates
	opts   []simplerpc.ServerOption
	// goodMD is the metadata the well-behaved clients send: with native
	// calls, and as HTTP headers with JSON-RPC ones.
	goodMD []string
}

// attackServer is a server serving Victim on a loopback port, stopped
// when the test ends.
type attackServer struct {
	t      *testing.T
	addr   string
	srv    *simplerpc.Server
	victim *Victim
	logs   *logCapture
	setup  attackSetup
	done   chan error
}

func startAttackServer(t *testing.T, setup attackSetup) *attackServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	as := &attackServer{t: t, addr: l.Addr().String(), victim: &Victim{}, logs: newLogCapture(), setup: setup, done: make(chan error, 1)}
	opts := []simplerpc.ServerOption{simplerpc.WithLogger(as.logs.logger()), simplerpc.WithHandshakeTimeout(time.Second)}
	if setup.budget > 0 {
		opts = append(opts, simplerpc.WithMemoryBudget(setup.budget))
	}
	if setup.pki != nil {
		opts = append(opts, simplerpc.WithTLS(setup.pki.serverConfig()))
	}
	as.srv = simplerpc.NewServer(append(opts, setup.opts...)...)
	if err := as.srv.Register("Victim", as.victim); err != nil {
		l.Close()
		t.Fatal(err)
	}
	go func() { as.done <- as.srv.Serve(l) }()
	t.Cleanup(as.stop)
	return as
}

// closeLimit bounds how long Close may take: it cancels what runs.
const closeLimit = 10 * time.Second

// stop closes the server: what attacks left running is canceled.
func (as *attackServer) stop() {
	start := time.Now()
	as.srv.Close()
	if took := time.Since(start); took > closeLimit {
		as.t.Errorf("Close took %v, more than %v", took.Round(time.Millisecond), closeLimit)
	} else if took > time.Second {
		as.t.Logf("Close took %v", took.Round(time.Millisecond))
	}
	select {
	case err := <-as.done:
		if err != nil && !errors.Is(err, simplerpc.ErrServerClosed) {
			as.t.Errorf("Serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		as.t.Errorf("Serve did not return after Close")
	}
	if as.t.Failed() {
		as.t.Logf("the server's first log lines:\n%s", as.logs.head(40))
	}
}

// budget is the server's memory budget.
func (as *attackServer) budget() int {
	if as.setup.budget > 0 {
		return max(as.setup.budget, 16<<20)
	}
	return simplerpc.DefaultMemoryBudget
}

// heapBound is the most heap in use an attack may add.
func (as *attackServer) heapBound() uint64 { return uint64(as.budget()) + attackHeapSlack }

// dial connects a native client for name (its certificate, with TLS).
func (as *attackServer) dial(t testing.TB, name string, opts ...simplerpc.ClientOption) *simplerpc.Client {
	t.Helper()
	if as.setup.pki != nil {
		opts = append([]simplerpc.ClientOption{simplerpc.WithTLS(as.setup.pki.clientConfig(name))}, opts...)
	}
	return dial(t, as.addr, opts...)
}

// clientTLS is the TLS configuration of a raw connection for name, or nil.
func (as *attackServer) clientTLS(name string) *tls.Config {
	if as.setup.pki == nil {
		return nil
	}
	return as.setup.pki.clientConfig(name)
}

// url is where JSON-RPC requests go.
func (as *attackServer) url() string {
	if as.setup.pki != nil {
		return "https://" + as.addr + "/"
	}
	return "http://" + as.addr + "/"
}

// httpClient is an HTTP client for name; its idle connections must be
// closed when it is done with.
func (as *attackServer) httpClient(name string) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 4, TLSClientConfig: as.clientTLS(name), ForceAttemptHTTP2: false}
	return &http.Client{Transport: tr, Timeout: goodTimeout}
}

// ---- One attack, measured --------------------------------------------------

// attackRun is one attack in progress. Its context ends when the heap
// goes past the bound (the test has failed; going on would only exhaust
// the machine) or the attack's time is up; the connections it
// dialed are closed then, and when the attack returns.
type attackRun struct {
	t    *testing.T
	as   *attackServer
	ctx  context.Context
	sent atomic.Int64 // bytes the attacker wrote

	mu     sync.Mutex
	conns  []net.Conn
	closed bool
}

// attackRow is what the report shows of an attack.
type attackRow struct {
	attack              string
	outcome             string
	sent                int64
	before, peak, after uint64
	good                goodTally
}

// attack runs fn as an attack named name, for at most limit, beside the
// well-behaved clients, and checks the bounds every attack must keep:
// the heap in use under the budget plus attackHeapSlack, and no failure
// of a well-behaved call. fn returns what the server did, for the report.
//
// While it runs the runtime's memory limit is set to the bound, so that
// the collector clears garbage before the heap in use reaches it: what
// the sampler then sees above it is memory the server holds.
func (as *attackServer) attack(t *testing.T, name string, limit time.Duration, fn func(a *attackRun) string) attackRow {
	t.Helper()
	before := settledBaseline()
	bound := before + as.heapBound()
	oldLimit := debug.SetMemoryLimit(int64(bound))
	defer debug.SetMemoryLimit(oldLimit)

	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	a := &attackRun{t: t, as: as, ctx: ctx}
	stopClose := context.AfterFunc(ctx, a.closeAll)
	defer stopClose()

	good := startGoodClients(t, as)
	sampler := startPeakSampler(5 * time.Millisecond)
	watch := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-watch:
				return
			case <-tick.C:
				if sampler.peak.Load() > bound {
					// The test has failed: stop the attack, and let the
					// collector stop chasing a limit it cannot keep.
					debug.SetMemoryLimit(oldLimit)
					cancel()
					return
				}
			}
		}
	})

	finished := false
	defer func() {
		if !finished { // fn failed the test and stopped its goroutine
			a.closeAll()
			good.stop()
			close(watch)
			wg.Wait()
			sampler.close()
		}
	}()
	start := time.Now()
	outcome := fn(a)
	took := time.Since(start)
	finished = true
	aborted := ctx.Err() != nil && sampler.peak.Load() > bound
	a.closeAll()
	time.Sleep(250 * time.Millisecond) // the well-behaved clients go on a little after the attack
	gt := good.stop()
	close(watch)
	wg.Wait()
	peak := sampler.close()
	after := settleNear(before, 1500*time.Millisecond)

	if aborted {
		outcome += "; stopped early, the heap going past the bound"
	}
	if peak > bound {
		t.Errorf("heap in use peaked at %s, %s above the %s before the attack: more than the budget (%s) + %s",
			mib(peak), mib(peak-before), mib(before), mib(uint64(as.budget())), mib(attackHeapSlack))
	}
	if gt.fails() > 0 {
		t.Errorf("well-behaved clients: %d of %d calls failed; first: %s", gt.fails(), gt.calls(), gt.firstErrs())
	}
	t.Logf("%s: %s in %v; %s sent; heap %s before, %s peak, %s after; well-behaved: %s",
		name, outcome, took.Round(time.Millisecond), byteCount(a.sent.Load()), mib(before), mib(peak), mib(after), gt)
	row := attackRow{attack: name, outcome: outcome, sent: a.sent.Load(), before: before, peak: peak, after: after, good: gt}
	results.addAttack(row)
	return row
}

// settledBaseline returns the heap in use once it stops falling (what
// an earlier test's server let go of is collected), within 5 seconds.
func settledBaseline() uint64 {
	deadline := time.Now().Add(5 * time.Second)
	h := settledHeap()
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		next := settledHeap()
		if next+1<<20 > h {
			return min(h, next)
		}
		h = next
	}
	return h
}

// settleNear returns the heap in use once it is back within 8 MiB of
// base, or after limit.
func settleNear(base uint64, limit time.Duration) uint64 {
	deadline := time.Now().Add(limit)
	h := settledHeap()
	for h > base+8<<20 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		h = settledHeap()
	}
	return h
}

// stopped reports whether the attack must stop.
func (a *attackRun) stopped() bool { return a.ctx.Err() != nil }

// track counts what is written to nc and closes it when the attack ends.
func (a *attackRun) track(nc net.Conn) net.Conn {
	cc := &countedConn{Conn: nc, n: &a.sent}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		nc.Close()
	}
	a.conns = append(a.conns, cc)
	return cc
}

// closeAll closes every connection the attack dialed.
func (a *attackRun) closeAll() {
	a.mu.Lock()
	conns := a.conns
	a.conns, a.closed = nil, true
	a.mu.Unlock()
	for _, nc := range conns {
		nc.Close()
	}
}

// dialTCP opens a connection, TLS with the attacker's certificate when the
// server wants one, and sends nothing.
func (a *attackRun) dialTCP(d net.Dialer) (net.Conn, error) {
	var nc net.Conn
	var err error
	if cfg := a.as.clientTLS("attacker"); cfg != nil {
		nc, err = (&tls.Dialer{NetDialer: &d, Config: cfg}).DialContext(a.ctx, "tcp", a.as.addr)
	} else {
		nc, err = d.DialContext(a.ctx, "tcp", a.as.addr)
	}
	if err != nil {
		return nil, fmt.Errorf("attacker dial: %w", err)
	}
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	return a.track(nc), nil
}

// dialHello opens a connection, sends a hello with the given flags and
// session id, and reads the welcome.
func (a *attackRun) dialHello(d net.Dialer, codec string, flags byte, sid sessionID) (net.Conn, welcome, error) {
	nc, err := a.dialTCP(d)
	if err != nil {
		return nil, welcome{}, err
	}
	w, err := sendHello(nc, codec, flags, sid)
	return nc, w, err
}

// countedConn adds what is written to it to n.
type countedConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// ---- The well-behaved clients ----------------------------------------------

// goodClients are a native client and a JSON-RPC one, each calling
// Victim.Add every goodEvery.
type goodClients struct {
	native, json goodLoop
	stopCh       chan struct{}
	wg           sync.WaitGroup
	close        func()
}

// goodLoop is the record of one well-behaved caller.
type goodLoop struct {
	mu    sync.Mutex
	lat   []time.Duration // of the calls that succeeded
	fails int
	errs  []string // the first few failures
}

func (g *goodLoop) record(lat time.Duration, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err == nil {
		g.lat = append(g.lat, lat)
		return
	}
	g.fails++
	if len(g.errs) < 3 {
		g.errs = append(g.errs, err.Error())
	}
}

func startGoodClients(t *testing.T, as *attackServer) *goodClients {
	t.Helper()
	c := as.dial(t, "good")
	hc := as.httpClient("good")
	g := &goodClients{stopCh: make(chan struct{})}
	g.close = func() {
		c.Close()
		hc.CloseIdleConnections()
	}
	md := as.setup.goodMD
	g.wg.Go(func() {
		g.loop(func(i int) error {
			ctx, cancel := context.WithTimeout(context.Background(), goodTimeout)
			defer cancel()
			if len(md) > 0 {
				ctx = simplerpc.AppendMetadata(ctx, md...)
			}
			var sum int
			if err := c.Call(ctx, "Victim.Add", []any{i, 1}, &sum); err != nil {
				return err
			}
			if sum != i+1 {
				return fmt.Errorf("Add(%d, 1) = %d", i, sum)
			}
			return nil
		}, &g.native)
	})
	g.wg.Go(func() {
		g.loop(func(i int) error {
			var sum int
			if err := jsonCall(hc, as.url(), md, "Victim.Add", []any{i, 1}, &sum); err != nil {
				return err
			}
			if sum != i+1 {
				return fmt.Errorf("JSON-RPC Add(%d, 1) = %d", i, sum)
			}
			return nil
		}, &g.json)
	})
	return g
}

func (g *goodClients) loop(call func(i int) error, rec *goodLoop) {
	tick := time.NewTicker(goodEvery)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-g.stopCh:
			return
		case <-tick.C:
		}
		start := time.Now()
		err := call(i)
		rec.record(time.Since(start), err)
	}
}

// stop ends the calls and returns their tally.
func (g *goodClients) stop() goodTally {
	close(g.stopCh)
	g.wg.Wait()
	g.close()
	return goodTally{native: g.native.summary(), json: g.json.summary()}
}

// goodSummary is one well-behaved caller's record.
type goodSummary struct {
	calls, fails int
	p99          time.Duration
	errs         []string
}

func (g *goodLoop) summary() goodSummary {
	g.mu.Lock()
	defer g.mu.Unlock()
	return goodSummary{calls: len(g.lat) + g.fails, fails: g.fails, p99: percentile(g.lat, 0.99), errs: g.errs}
}

// goodTally is both well-behaved callers' record of an attack.
type goodTally struct{ native, json goodSummary }

func (g goodTally) calls() int { return g.native.calls + g.json.calls }
func (g goodTally) fails() int { return g.native.fails + g.json.fails }

func (g goodTally) firstErrs() string {
	return fmt.Sprintf("native %q, JSON-RPC %q", g.native.errs, g.json.errs)
}

func (g goodTally) String() string {
	return fmt.Sprintf("native %d calls (%d failed, p99 %v), JSON-RPC %d calls (%d failed, p99 %v)",
		g.native.calls, g.native.fails, g.native.p99.Round(10*time.Microsecond), g.json.calls, g.json.fails, g.json.p99.Round(10*time.Microsecond))
}

// percentile returns the q-quantile of lat, or 0 for none. It sorts lat.
func percentile(lat []time.Duration, q float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return lat[min(len(lat)-1, int(q*float64(len(lat))))]
}

// jsonCall makes one JSON-RPC call by HTTP POST, md going as headers, and
// decodes its result into out.
func jsonCall(hc *http.Client, url string, md []string, method string, params []any, out any) error {
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(md); i += 2 {
		req.Header.Set(md[i], md[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("JSON-RPC response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("JSON-RPC status %d: %.200s", resp.StatusCode, data)
	}
	var answer struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(data, &answer); err != nil {
		return fmt.Errorf("JSON-RPC response %.200q: %w", data, err)
	}
	if answer.Error != nil {
		return fmt.Errorf("JSON-RPC error %d: %s", answer.Error.Code, answer.Error.Message)
	}
	return json.Unmarshal(answer.Result, out)
}
