package faultproxy

import (
	"net"
	"time"
)

// faults is the fault state of one direction. The Proxy's mu guards it.
type faults struct {
	drop  bool
	delay time.Duration
	rate  int // bytes per second; 0: unlimited
	// stall is non-nil while the direction is stalled; Resume closes it.
	stall chan struct{}
	// truncate is how many bytes of the next chunk to forward before
	// closing the connection; -1 when not armed.
	truncate int
}

// SetDrop makes the proxy silently discard, or again forward, the bytes
// flowing in dir. The connections stay open: the peers see nothing.
func (p *Proxy) SetDrop(dir Direction, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, i := range dir.each() {
		p.dir[i].drop = on
	}
}

// SetDelay makes the proxy forward every chunk flowing in dir d after it
// read it (0 removes the delay). Order is kept.
func (p *Proxy) SetDelay(dir Direction, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, i := range dir.each() {
		p.dir[i].delay = max(d, 0)
	}
}

// SetRate limits the bandwidth of dir to bytesPerSec, as a slow link
// would (0 removes the limit). Bytes are forwarded in small slices at
// that pace, in order.
func (p *Proxy) SetRate(dir Direction, bytesPerSec int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, i := range dir.each() {
		p.dir[i].rate = max(bytesPerSec, 0)
	}
}

// Stall stops forwarding in dir: bytes are held back, in order, until
// Resume. Bytes already being written still arrive. The proxy keeps
// reading a little ahead, then stops reading, so the sender feels TCP
// back-pressure.
func (p *Proxy) Stall(dir Direction) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, i := range dir.each() {
		if p.dir[i].stall == nil {
			p.dir[i].stall = make(chan struct{})
		}
	}
}

// Resume ends a Stall in dir: the held-back bytes are forwarded, in order.
func (p *Proxy) Resume(dir Direction) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.resume(dir)
}

func (p *Proxy) resume(dir Direction) {
	for _, i := range dir.each() {
		if p.dir[i].stall != nil {
			close(p.dir[i].stall)
			p.dir[i].stall = nil
		}
	}
}

// TruncateNext arms a one-shot fault in dir: the next chunk forwarded in
// that direction, on any connection, is cut to its first n bytes, and
// that connection is then closed (an orderly close, not a reset).
func (p *Proxy) TruncateNext(dir Direction, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, i := range dir.each() {
		p.dir[i].truncate = max(n, 0)
	}
}

// Reset closes every connection abruptly, both the client's and the
// target's side, so that both see a TCP RST. Connections held by the
// blackhole are reset too. It returns how many client connections it
// reset. New connections are accepted as before.
func (p *Proxy) Reset() int {
	p.mu.Lock()
	links, held := p.takeAll()
	p.mu.Unlock()
	for _, l := range links {
		l.shut(true)
	}
	for _, c := range held {
		abort(c)
	}
	return len(links) + len(held)
}

// Silence makes every connection open now go silent for good, as a
// half-open connection does when the far end vanishes without a word:
// the proxy keeps reading from both peers and forwards nothing, and
// neither peer is told. Connections accepted afterwards are forwarded as
// usual. It returns how many connections it silenced.
func (p *Proxy) Silence() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for l := range p.links {
		l.silenced.Store(true)
	}
	return len(p.links)
}

// SetBlackhole makes the proxy accept new connections and hold them
// without connecting them to the target or reading from them: clients
// see a connection that never answers. Connections already forwarded are
// not affected (Stall(Both) freezes them). Turning it off closes the held
// connections; connections accepted afterwards are forwarded again.
func (p *Proxy) SetBlackhole(on bool) {
	p.mu.Lock()
	p.blackhole = on
	var held []net.Conn
	if !on {
		_, held = p.takeAll()
	}
	p.mu.Unlock()
	for _, c := range held {
		c.Close()
	}
}

// Heal switches every fault off: no drop, no delay, no rate limit, stalls resumed,
// truncation disarmed, blackhole off (closing the held connections).
func (p *Proxy) Heal() {
	p.mu.Lock()
	p.resume(Both)
	for i := range p.dir {
		p.dir[i].drop, p.dir[i].delay, p.dir[i].rate, p.dir[i].truncate = false, 0, 0, -1
	}
	p.mu.Unlock()
	p.SetBlackhole(false)
}

// plan is what to do with one chunk, decided under the Proxy's mu.
type plan struct {
	stall <-chan struct{} // wait for it, then plan again
	drop  bool
	cut   int // forward this many bytes then close; -1 for all
}

// planChunk decides the fate of a chunk of n bytes in direction i. A
// truncation is consumed by the plan that applies it.
func (p *Proxy) planChunk(i, n int) plan {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := &p.dir[i]
	switch {
	case f.stall != nil:
		return plan{stall: f.stall, cut: -1}
	case f.drop:
		return plan{drop: true, cut: -1}
	case f.truncate >= 0:
		cut := min(f.truncate, n)
		f.truncate = -1
		return plan{cut: cut}
	}
	return plan{cut: -1}
}

// rateOf returns the bandwidth limit of direction i.
func (p *Proxy) rateOf(i int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dir[i].rate
}

// delayOf returns the delay of direction i.
func (p *Proxy) delayOf(i int) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dir[i].delay
}
