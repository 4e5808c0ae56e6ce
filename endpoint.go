package simplerpc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/simplerpc/simplerpc/internal/wire"
)

// endpoint is one server address a Client calls: its connections, its
// health, and, in its call table, the calls waiting for replies and the
// session. The session lets a broken connection be replaced without losing
// the calls in flight: they are re-sent under their original ids on the
// next connection, and the server answers each from its memory of the
// session or runs it if it never saw it — so no call runs twice.
//
// The call path (roundTrip) registers calls in the table and writes them
// on a connection; a connection hands replies to the table and reports
// its end there, then nudges the endpoint. One goroutine, supervise,
// started by newEndpoint and ended by close (through ctx), does the
// endpoint's background work: it forgets connections that ended, marks
// the endpoint down, re-sends orphaned calls, and probes a down endpoint
// until it answers. With WithHealthCheck a second one, watchHealth
// (endpoint_health.go), started and ended likewise, asks the server for
// its health.
//
// Lock order: ep.mu before cc.mu (prune asks a connection its status);
// the call table's mu is held with no other but a
// stream's own (stream_client.go).
type endpoint struct {
	cfg   *clientConfig // dialing, TLS, retry policy, logger; read-only
	cs    connSettings  // what its connections need of cfg
	addr  string
	calls *callTable

	ctx    context.Context // ended by close: stops the supervisor and bounds its dials
	cancel context.CancelFunc
	wake   chan struct{} // nudges the supervisor; one nudge waits at most
	exited chan struct{} // closed when the supervisor has returned

	healthy  atomic.Bool // reachable as far as the client knows
	onChange func()      // told when healthy or notServing changes

	// notServing is set while the server reports NOT_SERVING
	// (WithHealthCheck: endpoint_health.go, whose goroutine closes
	// healthDone when it ends with ctx).
	notServing atomic.Bool
	healthDone chan struct{}

	// taking is cur while the endpoint takes new calls (neither closed
	// nor retiring), else nil; it is written under mu, and read without
	// it by conn, which every call goes through.
	taking atomic.Pointer[clientConn]

	mu       sync.Mutex           // guards the fields below
	cur      *clientConn          // the connection new calls go to
	conns    map[*clientConn]bool // every open connection, draining ones too; true once seen stopped
	dialing  chan struct{}        // non-nil while a dial is under way
	closed   bool
	retiring bool // the server left the target: no new calls
	down     bool // the supervisor probes until a connection is made
}

func newEndpoint(cfg *clientConfig, addr string, onChange func()) *endpoint {
	ep := &endpoint{
		cfg: cfg,
		cs: connSettings{writeTimeout: cfg.writeTimeout, keepInterval: cfg.keepInterval, keepTimeout: cfg.keepTimeout, maxMessageSize: cfg.maxMessageSize,
			callbackLimit: cmp.Or(cfg.callbackLimit, DefaultClientCallbacks), compressMin: cfg.compressMin},
		addr:     addr,
		calls:    newCallTable(cfg.noSessions),
		wake:     make(chan struct{}, 1),
		exited:   make(chan struct{}),
		onChange: onChange,
		conns:    make(map[*clientConn]bool),
	}
	ep.ctx, ep.cancel = context.WithCancel(context.Background())
	go ep.supervise()
	ep.startHealthWatch()
	return ep
}

// conn returns the connection for a new call, dialing one if needed.
// Concurrent callers share one dial.
func (ep *endpoint) conn(ctx context.Context) (*clientConn, error) {
	if cc := ep.taking.Load(); cc != nil && cc.usable() {
		return cc, nil
	}
	ep.mu.Lock()
	for {
		switch {
		case ep.retiring:
			ep.mu.Unlock()
			return nil, errorf(CodeUnavailable, "", "%s left the target; call not sent", ep.addr)
		case ep.closed:
			ep.mu.Unlock()
			return nil, newError(CodeUnavailable, "", ErrClientClosed)
		case ep.cur != nil && ep.cur.usable():
			cc := ep.cur
			ep.mu.Unlock()
			return cc, nil
		case ep.dialing != nil:
			wait := ep.dialing
			ep.mu.Unlock()
			select {
			case <-wait:
			case <-ctx.Done():
				return nil, contextError("", ctx.Err())
			}
			ep.mu.Lock()
			continue
		}
		done := make(chan struct{})
		ep.dialing = done
		ep.mu.Unlock()
		cc, err := ep.dialSession(ctx)
		ep.mu.Lock()
		ep.dialing = nil
		close(done)
		if err != nil {
			ep.mu.Unlock()
			if ctx.Err() != nil {
				return nil, contextError("", ctx.Err())
			}
			return nil, withCause(&Error{Code: CodeUnavailable, Message: fmt.Sprintf("cannot connect to %s: %v", ep.addr, err)}, err)
		}
		if ep.closed {
			ep.mu.Unlock()
			cc.close(ErrClientClosed)
			return nil, newError(CodeUnavailable, "", ErrClientClosed)
		}
		ep.setCur(cc)
		ep.conns[cc] = false
		ep.down = false
		ep.mu.Unlock()
		ep.setHealthy(true)
		if ep.calls.orphaned() > 0 {
			ep.nudge() // the supervisor re-sends them on cc
		}
		return cc, nil
	}
}

// dialSession dials a connection in the endpoint's session, or in a new
// one if the server refuses it, and settles the fate of the orphaned
// calls before anyone can use the connection: with the session resumed
// they wait to be adopted, otherwise they are lost.
func (ep *endpoint) dialSession(ctx context.Context) (*clientConn, error) {
	cc, resumed, err := ep.dial(ctx)
	if errors.Is(err, errSessionRefused) {
		// The server holds the session id for another identity (or
		// no longer lets this one resume it): start a new session.
		// Calls waiting to be re-sent are lost with the old one.
		ep.cfg.logger.Warn("simplerpc: the server refused the session; starting a new one", slog.String("server", ep.addr))
		ep.calls.renew()
		cc, resumed, err = ep.dial(ctx)
	}
	if err != nil {
		return nil, err
	}
	ep.calls.answered(resumed)
	return cc, nil
}

// dial opens and handshakes a new connection in the table's session. It
// reports whether the server resumed the session.
func (ep *endpoint) dial(ctx context.Context) (*clientConn, bool, error) {
	dctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	nc, err := ep.cfg.dialer(dctx, ep.addr)
	if err != nil {
		return nil, false, err
	}
	if ep.cfg.tls != nil {
		if nc, err = dialTLS(dctx, nc, ep.cfg.tls, ep.addr); err != nil {
			return nil, false, err
		}
	}
	hello := wire.Hello{Version: wire.Version, Codec: ep.cfg.codec, Flags: wire.HelloStreams | wire.HelloPacked}
	if !ep.cfg.noCallbacks {
		hello.Flags |= wire.HelloCallbacks
	}
	if !ep.cfg.noSessions {
		var resume bool
		hello.Session, resume = ep.calls.hello()
		hello.Flags |= wire.HelloSession
		if resume {
			hello.Flags |= wire.HelloResume
		}
	}
	askCompression(&hello, ep.cs.compressMin)
	return newClientConn(dctx, nc, hello, ep.cs, ep.calls, ep.wake)
}

// Addr returns the endpoint's "host:port" (Endpoint).
func (ep *endpoint) Addr() string { return ep.addr }

// InFlight returns the calls sent and not yet answered (Endpoint).
func (ep *endpoint) InFlight() int { return ep.calls.inFlight() }

// setHealthy records whether the endpoint is reachable, telling the
// client when that changes.
func (ep *endpoint) setHealthy(ok bool) {
	if ep.healthy.Swap(ok) != ok && ep.onChange != nil {
		ep.onChange()
	}
}

// markDown takes the endpoint out of the balancer's choices; the
// supervisor redials it with backoff until it answers again.
func (ep *endpoint) markDown() {
	ep.setDown()
	ep.nudge()
}

// setDown is markDown from the supervisor itself, which needs no nudge.
func (ep *endpoint) setDown() {
	ep.setHealthy(false)
	ep.mu.Lock()
	ep.down = !ep.closed
	ep.mu.Unlock()
}

// setCur makes cc, or nil, the connection new calls go to. ep.mu is
// held.
func (ep *endpoint) setCur(cc *clientConn) {
	ep.cur = cc
	if ep.closed || ep.retiring {
		cc = nil
	}
	ep.taking.Store(cc)
}

// nudge asks the supervisor to look at the endpoint, without waiting.
func (ep *endpoint) nudge() {
	select {
	case ep.wake <- struct{}{}:
	default: // a nudge is already waiting
	}
}

// retire stops new calls to the endpoint: its server left the target.
func (ep *endpoint) retire() {
	ep.mu.Lock()
	ep.retiring = true
	ep.taking.Store(nil)
	ep.mu.Unlock()
	ep.calls.retire()
}

// close closes every connection and stops the supervisor. Pending calls
// fail with CodeConnectionLost.
func (ep *endpoint) close() {
	ep.mu.Lock()
	ep.closed = true
	ep.taking.Store(nil)
	ep.down = false
	conns := make([]*clientConn, 0, len(ep.conns))
	for cc := range ep.conns {
		conns = append(conns, cc)
	}
	ep.mu.Unlock()
	ep.calls.close()
	ep.cancel()
	for _, cc := range conns {
		cc.close(ErrClientClosed)
	}
	for _, cc := range conns {
		<-cc.done
	}
	<-ep.exited
	<-ep.healthDone
}
