package simplerpc

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simplerpc/simplerpc/internal/wire"
)

// endpoint is one server address a Client calls: its connections, its
// calls waiting for replies and its session. The session lets a broken
// connection be replaced without losing the calls in flight: they are
// re-sent under their original ids on the next connection, and the server
// answers each from its memory of the session or runs it if it never saw
// it — so no call runs twice.
type endpoint struct {
	cfg  *clientConfig
	addr string
	sid  [wire.SessionIDSize]byte

	ctx    context.Context // ended by close; bounds background redials
	cancel context.CancelFunc
	bg     sync.WaitGroup // background redials and probes

	inflight atomic.Int64 // calls sent and not yet answered, for balancers
	healthy  atomic.Bool  // reachable as far as the client knows
	onChange func()       // told when healthy changes

	mu       sync.Mutex
	cur      *clientConn              // the connection new calls go to
	conns    map[*clientConn]struct{} // every open connection, draining ones too
	dialing  chan struct{}            // non-nil while a dial is under way
	dialed   bool                     // a hello named the session: later ones resume it
	closed   bool
	retiring bool                    // the server left the target: no new calls
	next     uint64                  // the last call id handed out
	low      uint64                  // no id below it is pending (for acks)
	pending  map[uint64]*pendingCall // calls waiting for replies, by id
	orphans  int                     // pending calls whose connection broke
	redial   bool                    // a background redial for orphans is running
	settled  int                     // replies since the last ack
	settledB int                     // bytes of them
	probing  bool                    // a probe is redialing this endpoint
}

// A client acks after ackEvery replies or ackBytes of them, whichever
// comes first: acks let the server forget the replies it keeps for calls
// that might be sent again.
const (
	ackEvery = 128
	ackBytes = 1 << 20
)

func newEndpoint(cfg *clientConfig, addr string, onChange func()) *endpoint {
	ep := &endpoint{cfg: cfg, addr: addr, onChange: onChange, conns: make(map[*clientConn]struct{}), pending: make(map[uint64]*pendingCall)}
	ep.ctx, ep.cancel = context.WithCancel(context.Background())
	_, _ = rand.Read(ep.sid[:])
	return ep
}

// conn returns the connection for a new call, dialing one if needed.
// Concurrent callers share one dial.
func (ep *endpoint) conn(ctx context.Context) (*clientConn, error) {
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
		resume := ep.dialed && !ep.cfg.noSessions
		ep.mu.Unlock()
		cc, resumed, err := ep.dial(ctx, resume)
		if errors.Is(err, errSessionRefused) {
			// The server holds the session id for another identity (or
			// no longer lets this one resume it): start a new session.
			// Calls waiting to be re-sent are lost with the old one.
			ep.cfg.logger.Warn("simplerpc: the server refused the session; starting a new one", slog.String("server", ep.addr))
			ep.mu.Lock()
			_, _ = rand.Read(ep.sid[:])
			ep.mu.Unlock()
			cc, resumed, err = ep.dial(ctx, false)
		}
		ep.mu.Lock()
		ep.dialing = nil
		// Even a handshake that failed may have reached the server, which
		// then holds the session: the next hello asks to resume it, lest it
		// be refused as a new session under a held id.
		ep.dialed = true
		close(done)
		if err != nil {
			ep.mu.Unlock()
			if ctx.Err() != nil {
				return nil, contextError("", ctx.Err())
			}
			return nil, &Error{Code: CodeUnavailable, Message: fmt.Sprintf("cannot connect to %s: %v", ep.addr, err), cause: err}
		}
		if ep.closed {
			ep.mu.Unlock()
			cc.close(ErrClientClosed)
			return nil, newError(CodeUnavailable, "", ErrClientClosed)
		}
		ep.cur = cc
		ep.conns[cc] = struct{}{}
		resend, lost := ep.adoptOrphans(cc, resumed)
		ep.mu.Unlock()
		ep.setHealthy(true)
		failAll(lost, CodeConnectionLost, "the server no longer knows the session (was it restarted?); the call may or may not have run", errSessionLost)
		if resend.Len() > 0 {
			_ = cc.w.Write(ep.ctx, resend.Bytes())
		}
		putBuffer(resend)
		return cc, nil
	}
}

// errSessionLost is the cause of calls lost with their session.
var errSessionLost = errors.New("session lost")

// adoptOrphans hands the calls whose connection broke to cc: when the
// server resumed the session it returns their frames, to send again; when
// it did not, it takes them out of pending and returns them, lost.
// ep.mu must be held.
func (ep *endpoint) adoptOrphans(cc *clientConn, resumed bool) (resend *bytes.Buffer, lost []*pendingCall) {
	resend = getBuffer()
	if ep.orphans == 0 {
		return resend, nil
	}
	for id, pc := range ep.pending {
		if pc.cc != nil {
			continue
		}
		if resumed {
			pc.cc = cc
			resend.Write(pc.frame.Bytes())
			continue
		}
		delete(ep.pending, id)
		lost = append(lost, pc)
	}
	ep.orphans = 0
	return resend, lost
}

// dial opens and handshakes a new connection; resume asks the server to
// resume the session. It reports whether the server did.
func (ep *endpoint) dial(ctx context.Context, resume bool) (*clientConn, bool, error) {
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
	hello := wire.Hello{Version: wire.Version, Codec: ep.cfg.codec}
	if !ep.cfg.noSessions {
		hello.Flags, hello.Session = wire.HelloSession, ep.sid
		if resume {
			hello.Flags |= wire.HelloResume
		}
	}
	return newClientConn(dctx, ep, nc, hello)
}

// register assigns the next id to pc, writes it into pc's frame, and
// records the call as pending on cc, unless cc takes no new calls.
func (ep *endpoint) register(cc *clientConn, pc *pendingCall) (uint64, bool) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.retiring || !cc.usable() {
		return 0, false
	}
	ep.next++
	pc.cc = cc
	// The id is written into the frame before the call is published:
	// once pending, a broken connection's orphans are copied to be
	// re-sent (adoptOrphans), under ep.mu.
	wire.PutID(pc.frame.Bytes(), ep.next)
	ep.pending[ep.next] = pc
	return ep.next, true
}

// remove takes a pending call out, reporting whether it was still there
// (and so is now owned by the caller), and the connection it was sent on.
func (ep *endpoint) remove(id uint64) (*clientConn, bool) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	pc, ok := ep.pending[id]
	if !ok {
		return nil, false
	}
	delete(ep.pending, id)
	if pc.cc == nil {
		ep.orphans--
	}
	return pc.cc, true
}

// unsend takes out call id, whose frame could not be written to cc,
// unless it was meanwhile re-sent on another connection or answered: it
// reports whether it did, and so whether the call never left.
func (ep *endpoint) unsend(id uint64, cc *clientConn) bool {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	pc, ok := ep.pending[id]
	if !ok || pc.cc != cc && pc.cc != nil {
		return false
	}
	delete(ep.pending, id)
	if pc.cc == nil {
		ep.orphans--
	}
	return true
}

// take removes the call a reply of size bytes answers, and says whether
// to send an ack, with its value: every id up to it is settled.
func (ep *endpoint) take(id uint64, size int) (pc *pendingCall, ack uint64, sendAck bool) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	pc = ep.pending[id]
	if pc == nil {
		return nil, 0, false
	}
	delete(ep.pending, id)
	if pc.cc == nil {
		ep.orphans--
	}
	if ep.cfg.noSessions {
		return pc, 0, false
	}
	ep.settled++
	ep.settledB += size
	if ep.settled < ackEvery && ep.settledB < ackBytes {
		return pc, 0, false
	}
	ep.settled, ep.settledB = 0, 0
	// Ids are handed out in order and never pending again once settled:
	// the lowest one still pending only moves up, one lookup per id.
	for ep.low = max(ep.low, 1); ep.low <= ep.next; ep.low++ {
		if _, waiting := ep.pending[ep.low]; waiting {
			break
		}
	}
	return pc, ep.low - 1, true
}

// connLost handles the end of cc. Its pending calls fail, or, with a
// session and a connection that broke (not one the server sent away),
// wait for a new connection to re-send them on.
func (ep *endpoint) connLost(cc *clientConn, reason error, final bool) {
	ep.mu.Lock()
	delete(ep.conns, cc)
	if ep.cur == cc {
		ep.cur = nil
	}
	keep := !final && !ep.closed && !ep.cfg.noSessions
	var failed []*pendingCall
	for id, pc := range ep.pending {
		if pc.cc != cc {
			continue
		}
		if keep {
			pc.cc = nil
			ep.orphans++
			continue
		}
		delete(ep.pending, id)
		failed = append(failed, pc)
	}
	startRedial := ep.orphans > 0 && !ep.redial
	if startRedial {
		ep.redial = true
		ep.bg.Add(1)
	}
	ep.mu.Unlock()
	if !final && !errors.Is(reason, errDrained) && !errors.Is(reason, ErrClientClosed) {
		ep.markDown() // until a probe (or the redial) connects again
	}
	if final {
		failAll(failed, CodeUnavailable, "server went away before running the call", reason)
	} else {
		failAll(failed, CodeConnectionLost, "connection lost while the call was in flight (it may or may not have run): "+reason.Error(), reason)
	}
	if startRedial {
		go ep.redialOrphans()
	}
}

// redialOrphans makes a new connection, under the retry policy, so that
// calls whose connection broke are re-sent even if no new call comes. If
// none can be made, they fail with CodeConnectionLost.
func (ep *endpoint) redialOrphans() {
	defer ep.bg.Done()
	var err error
	for n := 1; ; n++ {
		if _, err = ep.conn(ep.ctx); err == nil {
			break
		}
		if !retryable(err) || n >= max(ep.cfg.retry.MaxAttempts, 1) || !ep.cfg.retry.wait(ep.ctx, n) {
			break
		}
	}
	ep.mu.Lock()
	ep.redial = false
	var lost []*pendingCall
	if err != nil {
		for id, pc := range ep.pending {
			if pc.cc == nil {
				delete(ep.pending, id)
				lost = append(lost, pc)
			}
		}
		ep.orphans = 0
	}
	again := ep.orphans > 0 && !ep.closed
	if again {
		// The new connection broke too, after taking the orphans back.
		ep.redial = true
		ep.bg.Add(1)
	}
	ep.mu.Unlock()
	if err != nil {
		failAll(lost, CodeConnectionLost, fmt.Sprintf("connection lost while the call was in flight (it may or may not have run), and no new one could be made: %v", err), err)
	}
	if again {
		go ep.redialOrphans()
	}
}

// failAll completes calls with an error of the given code.
func failAll(pcs []*pendingCall, code Code, msg string, cause error) {
	for _, pc := range pcs {
		pc.err = &Error{Code: code, Method: pc.method, Message: msg, cause: cause}
		pc.done <- struct{}{}
	}
}

// goneAway stops sending new calls to cc. The server is leaving: the
// endpoint is down until a probe connects again.
func (ep *endpoint) goneAway(cc *clientConn) {
	ep.mu.Lock()
	if ep.cur == cc {
		ep.cur = nil
	}
	ep.mu.Unlock()
	ep.markDown()
}

// Addr returns the endpoint's "host:port" (Endpoint).
func (ep *endpoint) Addr() string { return ep.addr }

// InFlight returns the calls waiting for replies (Endpoint).
func (ep *endpoint) InFlight() int { return int(ep.inflight.Load()) }

// setHealthy records whether the endpoint is reachable, telling the
// client when that changes.
func (ep *endpoint) setHealthy(ok bool) {
	if ep.healthy.Swap(ok) != ok && ep.onChange != nil {
		ep.onChange()
	}
}

// markDown takes the endpoint out of the balancer's choices and starts a
// probe that redials it with backoff until it answers again.
func (ep *endpoint) markDown() {
	ep.setHealthy(false)
	ep.mu.Lock()
	start := !ep.probing && !ep.closed
	if start {
		ep.probing = true
		ep.bg.Add(1)
	}
	ep.mu.Unlock()
	if start {
		go ep.probe()
	}
}

// probe redials a down endpoint, backing off under the retry policy's
// delays (capped at its MaxBackoff, or 1s), until a connection is made or
// the endpoint closes.
func (ep *endpoint) probe() {
	defer ep.bg.Done()
	policy := ep.cfg.retry
	if policy.InitialBackoff <= 0 {
		policy.InitialBackoff = 10 * time.Millisecond
	}
	if policy.MaxBackoff <= 0 {
		policy.MaxBackoff = time.Second
	}
	for n := 1; ; n++ {
		if !policy.wait(ep.ctx, n) {
			break
		}
		if _, err := ep.conn(ep.ctx); err == nil {
			break
		}
	}
	ep.mu.Lock()
	ep.probing = false
	ep.mu.Unlock()
}

// retire stops new calls to the endpoint: its server left the target.
func (ep *endpoint) retire() {
	ep.mu.Lock()
	ep.retiring = true
	ep.mu.Unlock()
}

// pendingCount returns the number of calls waiting for replies.
func (ep *endpoint) pendingCount() int {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return len(ep.pending)
}

// idle reports whether no call is pending on cc.
func (ep *endpoint) idle(cc *clientConn) bool {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	for _, pc := range ep.pending {
		if pc.cc == cc {
			return false
		}
	}
	return true
}

// close closes every connection and stops background work. Pending calls
// fail with CodeConnectionLost.
func (ep *endpoint) close() {
	ep.mu.Lock()
	ep.closed = true
	conns := make([]*clientConn, 0, len(ep.conns))
	for cc := range ep.conns {
		conns = append(conns, cc)
	}
	var orphans []*pendingCall
	for id, pc := range ep.pending {
		if pc.cc == nil {
			delete(ep.pending, id)
			orphans = append(orphans, pc)
		}
	}
	ep.orphans = 0
	ep.mu.Unlock()
	ep.cancel()
	failAll(orphans, CodeConnectionLost, "client closed while the call was in flight (it may or may not have run)", ErrClientClosed)
	for _, cc := range conns {
		cc.close(ErrClientClosed)
	}
	for _, cc := range conns {
		<-cc.done
	}
	ep.bg.Wait()
}
