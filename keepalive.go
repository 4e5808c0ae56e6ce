package simplerpc

import (
	"fmt"
	"io"
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

// activity notes when bytes last arrived on a connection: its Read
// wraps the connection's, so a large frame still arriving counts as life,
// not only whole frames.
type activity struct {
	r    io.Reader
	last atomic.Int64 // UnixNano of the last read that returned bytes
}

func newActivity(r io.Reader) *activity {
	a := &activity{r: r}
	a.last.Store(time.Now().UnixNano())
	return a
}

func (a *activity) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.stamp()
	}
	return n, err
}

// stamp notes that bytes arrived, for reads that bypass Read.
func (a *activity) stamp() { a.last.Store(time.Now().UnixNano()) }

// keepalive watches one connection for silence with a timer, so an idle
// connection costs no goroutine.
//
// Locks: mu guards timer, pingAt and stopped, and is a leaf: the ping
// and the end of the connection run in goroutines of their own, started
// under it; act's time is an atomic.
type keepalive struct {
	interval, timeout time.Duration
	act               *activity
	ping              func()
	dead              func(error)

	mu      sync.Mutex
	timer   *time.Timer
	pingAt  int64 // UnixNano of the ping out, or 0
	stopped bool
}

// startKeepalive starts watching act, or returns nil when interval is
// zero. The methods of a nil *keepalive do nothing.
func startKeepalive(interval, timeout time.Duration, act *activity, ping func(), dead func(error)) *keepalive {
	if interval <= 0 {
		return nil
	}
	if timeout <= 0 {
		timeout = interval
	}
	k := &keepalive{interval: interval, timeout: timeout, act: act, ping: ping, dead: dead}
	k.mu.Lock()
	k.timer = time.AfterFunc(interval, k.check)
	k.mu.Unlock()
	return k
}

// check runs when the timer fires: it pings a connection silent for the
// interval, and declares it dead when nothing arrived within the timeout
// after the ping.
func (k *keepalive) check() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return
	}
	now, last := time.Now().UnixNano(), k.act.last.Load()
	if k.pingAt != 0 {
		if last <= k.pingAt {
			k.stopped = true
			go k.dead(fmt.Errorf("keepalive: nothing from the peer for %v after a ping; connection presumed dead", k.timeout))
			return
		}
		k.pingAt = 0
	}
	if idle := time.Duration(now - last); idle < k.interval {
		k.timer.Reset(k.interval - idle)
		return
	}
	k.pingAt = now
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
