package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// dialTimeout bounds the proxy's connection to the target.
const dialTimeout = 5 * time.Second

// Proxy forwards TCP connections from a loopback port to a target address,
// injecting the faults switched on with its methods. Create one with New
// and stop it with Close. Its methods are safe for concurrent use.
type Proxy struct {
	target string
	l      net.Listener
	ctx    context.Context // canceled by Close: ends dials under way
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the proxy started

	mu        sync.Mutex
	dir       [2]faults // indexed 0 upstream, 1 downstream
	blackhole bool
	links     map[*link]struct{}
	held      map[net.Conn]struct{} // connections accepted while blackholed
	closed    bool
}

// New starts a Proxy listening on 127.0.0.1 at a free port and forwarding
// to target, a "host:port" TCP address, with no fault switched on.
func New(target string) (*Proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p := &Proxy{
		target: target,
		l:      l,
		links:  make(map[*link]struct{}),
		held:   make(map[net.Conn]struct{}),
	}
	p.dir[0].truncate, p.dir[1].truncate = -1, -1
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr returns the address clients connect to, as "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.l.Addr().String() }

// Target returns the address the proxy forwards to.
func (p *Proxy) Target() string { return p.target }

// Conns returns the number of connections being forwarded.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.links)
}

// Held returns the number of connections held by the blackhole.
func (p *Proxy) Held() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.held)
}

// acceptLoop accepts connections until the listener is closed.
func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || p.isClosed() {
				return
			}
			// A transient failure (out of descriptors, an aborted
			// handshake): try again shortly, unless closed meanwhile.
			select {
			case <-p.ctx.Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
			continue
		}
		p.mu.Lock()
		switch {
		case p.closed:
			p.mu.Unlock()
			c.Close()
			return
		case p.blackhole:
			p.held[c] = struct{}{}
			p.mu.Unlock()
			continue
		}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.connect(c)
	}
}

// connect dials the target for the accepted connection c and starts
// forwarding. If the target cannot be reached, c is reset, as a refused
// connection would be.
func (p *Proxy) connect(c net.Conn) {
	defer p.wg.Done()
	ctx, cancel := context.WithTimeout(p.ctx, dialTimeout)
	var d net.Dialer
	s, err := d.DialContext(ctx, "tcp", p.target)
	cancel()
	if err != nil {
		abort(c)
		return
	}
	l := newLink(p, c, s)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		abort(c)
		abort(s)
		return
	}
	p.links[l] = struct{}{}
	p.wg.Add(4)
	p.mu.Unlock()
	l.start()
}

func (p *Proxy) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// forget drops a link that has ended.
func (p *Proxy) forget(l *link) {
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
}

// Close stops the proxy: it stops listening, closes every connection and
// waits for every goroutine it started to return. Closing twice is fine.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.wg.Wait()
		return nil
	}
	p.closed = true
	links, held := p.takeAll()
	p.mu.Unlock()
	p.cancel()
	err := p.l.Close()
	for _, l := range links {
		l.shut(false)
	}
	for _, c := range held {
		c.Close()
	}
	p.wg.Wait()
	if err != nil {
		return fmt.Errorf("faultproxy: closing the listener: %w", err)
	}
	return nil
}

// takeAll returns every link and takes every held connection. p.mu must
// be held.
func (p *Proxy) takeAll() ([]*link, []net.Conn) {
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	held := make([]net.Conn, 0, len(p.held))
	for c := range p.held {
		held = append(held, c)
	}
	clear(p.held)
	return links, held
}

// abort closes c abruptly: the peer sees a TCP RST, not an orderly end.
func abort(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}
