package simplerpc

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Keepalive defaults: an idle connection is pinged after
// DefaultKeepaliveInterval and declared dead when nothing at all arrives
// for DefaultKeepaliveTimeout after the ping.
const (
	DefaultKeepaliveInterval = 15 * time.Second
	DefaultKeepaliveTimeout  = 10 * time.Second
)

// WithKeepalive sets how a Server or Client detects a dead peer, such as
// the far end of a half-open connection: when nothing has arrived for
// interval, it sends a ping; when nothing arrives for timeout after that,
// it closes the connection. A peer that vanished is noticed within
// interval+timeout. Zero interval turns keepalive off. Defaults: 15s and 10s.
func WithKeepalive(interval, timeout time.Duration) Option {
	set := func(i, t *time.Duration) { *i, *t = interval, timeout }
	return bothOption{
		server: func(c *serverConfig) { set(&c.keepInterval, &c.keepTimeout) },
		client: func(c *clientConfig) { set(&c.keepInterval, &c.keepTimeout) },
	}
}

// keepalive watches one connection for silence with a timer, so an idle
// connection costs no goroutine. The reader calls touch for every frame.
type keepalive struct {
	interval, timeout time.Duration
	ping              func()
	dead              func(error)
	reads             atomic.Uint64

	mu      sync.Mutex
	timer   *time.Timer
	seen    uint64 // reads at the last check
	pinged  bool   // a ping is out and nothing has arrived since
	stopped bool
}

// startKeepalive starts watching, or returns nil when interval is zero.
// The methods of a nil *keepalive do nothing.
func startKeepalive(interval, timeout time.Duration, ping func(), dead func(error)) *keepalive {
	if interval <= 0 {
		return nil
	}
	if timeout <= 0 {
		timeout = interval
	}
	k := &keepalive{interval: interval, timeout: timeout, ping: ping, dead: dead}
	k.mu.Lock()
	k.timer = time.AfterFunc(interval, k.check)
	k.mu.Unlock()
	return k
}

// touch records that a frame arrived.
func (k *keepalive) touch() {
	if k != nil {
		k.reads.Add(1)
	}
}

// check runs when the timer fires.
func (k *keepalive) check() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return
	}
	if n := k.reads.Load(); n != k.seen {
		k.seen, k.pinged = n, false
		k.timer.Reset(k.interval)
		return
	}
	if k.pinged {
		k.stopped = true
		go k.dead(fmt.Errorf("keepalive: nothing from the peer for %v after a ping; connection presumed dead", k.timeout))
		return
	}
	k.pinged = true
	go k.ping()
	k.timer.Reset(k.timeout)
}

// stop stops watching.
func (k *keepalive) stop() {
	if k == nil {
		return
	}
	k.mu.Lock()
	k.stopped = true
	k.timer.Stop()
	k.mu.Unlock()
}
