package faultproxy_test

import (
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc/internal/faultproxy"
)

func TestForwardsBothWays(t *testing.T) {
	p := startProxy(t, startEcho(t).addr())
	c := dialProxy(t, p)
	for _, msg := range []string{"hello", strings.Repeat("x", 200<<10)} {
		if got := roundTrip(t, c, msg); got != msg {
			t.Fatalf("echo of %d bytes came back as %d bytes", len(msg), len(got))
		}
	}
	if n := p.Conns(); n != 1 {
		t.Fatalf("Conns = %d, want 1", n)
	}
}

func TestHalfCloseIsPassedOn(t *testing.T) {
	p := startProxy(t, startEcho(t).addr())
	c := dialProxy(t, p)
	if _, err := c.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	// The echo server sees the end of its input, echoes, and ends its side.
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "bye" {
		t.Fatalf("after half-close: %q, %v", got, err)
	}
	waitFor(t, "the link to end", func() bool { return p.Conns() == 0 })
}

func TestUnreachableTargetResets(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Start the proxy before freeing the port, so it cannot take it.
	p := startProxy(t, l.Addr().String())
	l.Close()
	// The reset may come while the dial completes, or at the first read.
	c, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second)
	if err != nil {
		return
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("read through a proxy to a closed port: %v", err)
	}
}

func TestCloseEndsEverything(t *testing.T) {
	p, err := faultproxy.New(startEcho(t).addr())
	if err != nil {
		t.Fatal(err)
	}
	c := dialProxy(t, p)
	roundTrip(t, c, "x")
	p.Stall(faultproxy.Both)
	p.SetBlackhole(true)
	held := dialProxy(t, p)
	waitFor(t, "the held connection", func() bool { return p.Held() == 1 })
	if _, err := c.Write([]byte("stalled")); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for _, conn := range []net.Conn{c, held} {
		if _, err := io.ReadAll(conn); err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("connection after Close: %v", err)
		}
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		t.Fatal("the proxy still accepts after Close")
	}
}
