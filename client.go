package simplerpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Client calls the methods a Server exposes. To each server it keeps one
// connection, multiplexing every concurrent call over it, and redials when
// it breaks; calls in flight on a broken connection are re-sent on the
// next one (see WithResumableSessions). A target that names many servers
// (see Dial) spreads the calls over them. A Client is safe for concurrent
// use by any number of goroutines.
//
// The layers of a call, each using only the one below it: Client picks an
// endpoint (Balancer) and retries; endpoint dials and tends its
// connections; roundTrip registers the call in the endpoint's callTable
// and writes it on a clientConn, whose reader completes it in the table.
// Lock order: c.mu, then an endpoint's mu, then a connection's mu; the
// call table's mu, then a stream's.
type Client struct {
	target string
	cfg    clientConfig
	ctx    context.Context // ended by Close
	cancel context.CancelFunc
	bg     sync.WaitGroup // the resolver loop and retiring endpoints

	ready atomic.Pointer[[]Endpoint]  // healthy endpoints, for the balancer
	all   atomic.Pointer[[]*endpoint] // every endpoint

	mu     sync.Mutex // guards the fields below
	eps    map[string]*endpoint
	closed bool
	rr     uint64 // round-robin over all endpoints when none is healthy

	// chained is the interceptors wrapped around sendIntercepted, built
	// by Dial; nil without interceptors.
	chained Invoker
}

// Dial returns a Client for target, which is one of:
//
//   - "host:port": one server;
//   - "static:///host:port,host:port": a fixed list of servers;
//   - "dns:///host:port": every address host resolves to, looked up again
//     every 30s and when a server fails (a Kubernetes headless service);
//   - any name a Resolver given with WithResolver understands.
//
// For one server, Dial connects under the retry policy (WithRetry) and
// fails if it cannot; for a resolved target it waits for the first set of
// addresses and connects to them in the background. ctx bounds the wait.
func Dial(ctx context.Context, target string, opts ...ClientOption) (*Client, error) {
	c := &Client{target: target, cfg: newClientConfig(opts), eps: make(map[string]*endpoint)}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if len(c.cfg.interceptors) > 0 {
		c.chained = chain(c.cfg.interceptors, c.sendIntercepted)
	}
	if c.cfg.balancer == nil {
		c.cfg.balancer = LeastLoadedOfTwo()
	}
	c.ready.Store(&[]Endpoint{})
	c.all.Store(&[]*endpoint{})
	r, name := resolverFor(&c.cfg, target)
	var err error
	if r == nil {
		err = c.dialOne(ctx, target)
	} else {
		err = c.follow(ctx, r, name)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// dialOne sets up a client of one server and connects to it.
func (c *Client) dialOne(ctx context.Context, addr string) error {
	ep := newEndpoint(&c.cfg, addr, c.recompute)
	c.mu.Lock()
	c.eps[addr] = ep
	c.mu.Unlock()
	var err error
	for n := 1; ; n++ {
		_, err = ep.conn(ctx)
		var more bool
		if more, err = c.again(ctx, "", n, err); !more {
			break
		}
	}
	c.recompute()
	return err
}

// follow starts following a resolved target and waits for its first set
// of addresses.
func (c *Client) follow(ctx context.Context, r Resolver, name string) error {
	updates, err := r.Resolve(c.ctx, name)
	if err != nil {
		return err
	}
	first := make(chan struct{})
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		once := sync.OnceFunc(func() { close(first) })
		defer once()
		for addrs := range updates {
			c.update(addrs)
			if len(addrs) > 0 {
				once()
			}
		}
	}()
	select {
	case <-first:
		return nil
	case <-ctx.Done():
		return withCause(&Error{Code: CodeUnavailable, Message: fmt.Sprintf("no servers found for %s: %v", c.target, ctx.Err())}, ctx.Err())
	}
}

// update applies a new set of addresses: new servers are connected in the
// background, servers that left get no new calls and are closed once
// their calls are answered.
func (c *Client) update(addrs []string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	want := make(map[string]bool, len(addrs))
	for _, a := range addrs {
		want[a] = true
		if c.eps[a] == nil {
			ep := newEndpoint(&c.cfg, a, c.recompute)
			c.eps[a] = ep
			ep.markDown() // connects at once, in the background
		}
	}
	for a, ep := range c.eps {
		if !want[a] {
			ep.retire() // before it leaves the lists: a call that picked it is refused, and retried elsewhere
			delete(c.eps, a)
			c.bg.Add(1)
			go c.retire(ep)
		}
	}
	c.mu.Unlock()
	c.recompute()
}

// retire closes an endpoint that left the target once its calls are
// answered (or the client closes).
func (c *Client) retire(ep *endpoint) {
	defer c.bg.Done()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for ep.calls.pending() > 0 {
		select {
		case <-c.ctx.Done():
			ep.close()
			return
		case <-t.C:
		}
	}
	ep.close()
}

// recompute rebuilds the lists the balancer picks from.
func (c *Client) recompute() {
	c.mu.Lock()
	defer c.mu.Unlock()
	all := make([]*endpoint, 0, len(c.eps))
	ready := make([]Endpoint, 0, len(c.eps))
	for _, ep := range c.eps {
		all = append(all, ep)
		if ep.ready() {
			ready = append(ready, ep)
		}
	}
	c.all.Store(&all)
	c.ready.Store(&ready)
}

// pick chooses the endpoint for a call, avoiding the one that just
// refused it when there is another. When none is known to be healthy it
// tries them in turn. It fails only when the Balancer returns an Endpoint
// that is not one of those it was given.
func (c *Client) pick(method string, avoid *endpoint) (*endpoint, error) {
	ready := *c.ready.Load()
	switch {
	case len(ready) == 1 && ready[0] != Endpoint(avoid):
		return ready[0].(*endpoint), nil
	case len(ready) > 0:
		chosen := c.cfg.balancer.Pick(ready)
		ep, ours := chosen.(*endpoint)
		if !ours || !slices.Contains(ready, chosen) {
			return nil, errorf(CodeInternal, method, "the Balancer (%T) returned %T, which is not one of the ready endpoints it was given: Pick must return an element of its argument; call not sent", c.cfg.balancer, chosen)
		}
		if ep == avoid && len(ready) > 1 {
			for _, other := range ready {
				if other != Endpoint(avoid) {
					return other.(*endpoint), nil
				}
			}
		}
		return ep, nil
	}
	all := *c.all.Load()
	if len(all) == 0 {
		return nil, nil
	}
	c.mu.Lock()
	c.rr++
	i := c.rr
	c.mu.Unlock()
	return all[i%uint64(len(all))], nil
}

// EndpointStatus describes one server behind a Client's target.
type EndpointStatus struct {
	Addr     string
	Healthy  bool // false while the client cannot reach it; a probe redials it
	InFlight int  // calls sent and not yet answered
	// NotServing is set while the server reports NOT_SERVING
	// (WithHealthCheck): it gets new calls only when no other serves.
	NotServing bool
}

// Endpoints reports the servers behind the client's target, sorted by
// address.
func (c *Client) Endpoints() []EndpointStatus {
	all := *c.all.Load()
	out := make([]EndpointStatus, 0, len(all))
	for _, ep := range all {
		out = append(out, EndpointStatus{Addr: ep.addr, Healthy: ep.healthy.Load(), InFlight: ep.InFlight(), NotServing: ep.notServing.Load()})
	}
	slices.SortFunc(out, func(a, b EndpointStatus) int { return strings.Compare(a.Addr, b.Addr) })
	return out
}

// Call calls method ("Service.Method", or a function's bare name) with
// args and decodes its results into results, which must be pointers
// (a nil pointer skips that result). Fewer results than the method returns
// are fine; more are an error. The method's own error comes back as an
// *Error with CodeApplication. A call the server refused or that could not
// be sent is retried under the retry policy; a call that may have run is
// never retried.
func (c *Client) Call(ctx context.Context, method string, args []any, results ...any) error {
	var err error
	md := OutgoingMetadata(ctx)
	if c.chained == nil {
		err = c.call(ctx, method, args, results, md.pairs(), nil)
	} else {
		err = c.intercepted(ctx, method, args, results, md) // client_intercept.go
	}
	if err != nil && c.cfg.debug {
		c.debugLog(err)
	}
	return err
}

// call makes a call under the retry policy. md is the metadata in wire
// pairs; info, if not nil, is told the sizes of the call and its reply.
func (c *Client) call(ctx context.Context, method string, args, results []any, md []string, info *CallInfo) error {
	if hasFuncs(args) {
		return c.callBack(ctx, method, args, results, md, info) // callback_client.go
	}
	return c.attempt(ctx, method, func(ep *endpoint, cc *clientConn) error {
		return ep.roundTrip(ctx, cc, method, args, results, md, info, nil)
	})
}

// attempt runs send, which sends one attempt of method on a connection
// of a picked endpoint, under the retry policy.
func (c *Client) attempt(ctx context.Context, method string, send func(*endpoint, *clientConn) error) error {
	if err := ctx.Err(); err != nil {
		return contextError(method, err)
	}
	var err error
	var ep *endpoint
	for n := 1; ; n++ {
		ep, err = c.pick(method, ep)
		switch {
		case err != nil:
			// The Balancer returned what it was not given: a bug in it,
			// not retried (CodeInternal).
		case ep == nil:
			err = errorf(CodeUnavailable, method, "no servers for %s; call not sent", c.target)
		default:
			var cc *clientConn
			if cc, err = ep.conn(ctx); err == nil {
				err = send(ep, cc)
			} else if ctx.Err() == nil {
				ep.markDown()
				c.refresh()
			}
		}
		var more bool
		if more, err = c.again(ctx, method, n, err); !more {
			return err
		}
	}
}

// refresh asks the resolver, if it can, to look again.
func (c *Client) refresh() {
	if r, ok := c.cfg.resolver.(Refresher); ok {
		r.Refresh(c.target)
	}
}

// again reports whether to make attempt n+1 after attempt n ended with
// err, having waited the policy's backoff, and returns the error to report
// if not: err, or the context's error if it ended during the wait.
func (c *Client) again(ctx context.Context, method string, n int, err error) (bool, error) {
	if err == nil || !retryable(err) || n >= c.cfg.retry.MaxAttempts {
		return false, err
	}
	if !c.cfg.retry.wait(ctx, n) {
		if ctx.Err() != nil {
			return false, contextError(method, ctx.Err())
		}
		return false, err
	}
	return true, nil
}

// retryable reports whether err says the call was not executed.
func retryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == CodeUnavailable && !errors.Is(err, ErrClientClosed)
}

// debugLog logs the server-side traceback an error carries.
func (c *Client) debugLog(err error) {
	var e *Error
	if !errors.As(err, &e) || e.Stack == "" {
		return
	}
	c.cfg.logger.Warn(fmt.Sprintf("Server side traceback (%s, %s: %s):\n%s", e.Method, e.Code, e.Message, e.Stack),
		slog.String("method", e.Method), slog.String("code", e.Code.String()))
}

// Close closes the client's connections and stops following its target.
// Calls in flight fail with CodeConnectionLost; later calls fail with
// ErrClientClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	eps := make([]*endpoint, 0, len(c.eps))
	for _, ep := range c.eps {
		eps = append(eps, ep)
	}
	c.mu.Unlock()
	c.cancel()
	for _, ep := range eps {
		ep.close()
	}
	c.bg.Wait()
	return nil
}

// timeoutOf returns the time left before ctx's deadline, or 0.
func timeoutOf(ctx context.Context) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	return max(time.Until(dl), time.Microsecond)
}
