package etcd_test

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc/etcd"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// cutProxy forwards TCP connections to a target until cut, which drops
// every connection and refuses new ones until restored.
type cutProxy struct {
	l      net.Listener
	target string
	wg     sync.WaitGroup

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
}

func startProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{l: l, target: target, conns: make(map[net.Conn]struct{})}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		l.Close()
		p.setCut(true)
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) accept() {
	for {
		in, err := p.l.Accept()
		if err != nil {
			return
		}
		if !p.track(in) {
			in.Close()
			continue
		}
		p.wg.Go(func() { p.forward(in) })
	}
}

func (p *cutProxy) forward(in net.Conn) {
	defer p.untrack(in)
	out, err := net.DialTimeout("tcp", p.target, time.Second)
	if err != nil || !p.track(out) {
		if out != nil {
			out.Close()
		}
		return
	}
	defer p.untrack(out)
	var both sync.WaitGroup
	both.Go(func() { _, _ = io.Copy(out, in); out.Close() })
	_, _ = io.Copy(in, out)
	in.Close()
	both.Wait()
}

func (p *cutProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *cutProxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

// setCut drops every connection and refuses new ones (true), or lets
// connections through again (false).
func (p *cutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
	}
}

// TestResolverRereadsAfterCompaction cuts the resolver off from etcd
// while servers change and the history is compacted: when it is back,
// its watch cannot resume from where it was, and it must read again.
func TestResolverRereadsAfterCompaction(t *testing.T) {
	e := startEtcd(t)
	direct := e.client(t)
	p := startProxy(t, e.endpoint)
	viaProxy, err := clientv3.New(clientv3.Config{Endpoints: []string{p.l.Addr().String()}, DialTimeout: 5 * time.Second, Logger: quietZap()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { viaProxy.Close() })
	next := follow(t, etcd.NewResolver(viaProxy), "calc")
	next()
	a := register(t, direct, "calc", "127.0.0.1:1001")
	defer a.Close()
	next("127.0.0.1:1001")

	p.setCut(true)
	b := register(t, direct, "calc", "127.0.0.1:1002")
	defer b.Close()
	c := register(t, direct, "calc", "127.0.0.1:1003")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	resp, err := direct.Get(context.Background(), "/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := direct.Compact(context.Background(), resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	p.setCut(false)
	next("127.0.0.1:1001", "127.0.0.1:1002")
}
