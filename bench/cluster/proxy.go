package main

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
)

// freezeProxy forwards TCP connections to a server until freeze; then
// it drops every byte both ways while keeping the connections open — as
// a host that lost power or its network would — and closes new ones.
type freezeProxy struct {
	l      net.Listener
	target string
	frozen atomic.Bool
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  bool
}

func startFreezeProxy(target string) (*freezeProxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy listen: %w", err)
	}
	p := &freezeProxy{l: l, target: target, conns: make(map[net.Conn]struct{})}
	p.wg.Go(p.accept)
	return p, nil
}

func (p *freezeProxy) addr() string { return p.l.Addr().String() }

func (p *freezeProxy) freeze() { p.frozen.Store(true) }

func (p *freezeProxy) accept() {
	for {
		in, err := p.l.Accept()
		if err != nil {
			return
		}
		if p.frozen.Load() || !p.track(in) {
			in.Close()
			continue
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil || !p.track(out) {
			in.Close()
			if out != nil {
				out.Close()
			}
			continue
		}
		p.wg.Go(func() { p.pipe(in, out) })
		p.wg.Go(func() { p.pipe(out, in) })
	}
}

// pipe copies src to dst until src ends; once frozen it drops what it
// reads, and an end no longer reaches the other side.
func (p *freezeProxy) pipe(src, dst net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.frozen.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			if !p.frozen.Load() {
				dst.Close()
			}
			return
		}
	}
}

func (p *freezeProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

// stop closes everything and waits for the proxy's goroutines.
func (p *freezeProxy) stop() {
	p.l.Close()
	p.mu.Lock()
	p.done = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
