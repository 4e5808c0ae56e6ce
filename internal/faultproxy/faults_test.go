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

func TestDrop(t *testing.T) {
	for _, dir := range []faultproxy.Direction{faultproxy.Upstream, faultproxy.Downstream} {
		t.Run(dir.String(), func(t *testing.T) {
			p := startProxy(t, startEcho(t).addr())
			c := dialProxy(t, p)
			roundTrip(t, c, "before")
			p.SetDrop(dir, true)
			if _, err := c.Write([]byte("lost")); err != nil {
				t.Fatal(err)
			}
			readNothing(t, c, 100*time.Millisecond)
			p.SetDrop(dir, false)
			if got := roundTrip(t, c, "after"); got != "after" {
				t.Fatalf("after the drop: %q", got)
			}
		})
	}
}

func TestDelay(t *testing.T) {
	p := startProxy(t, startEcho(t).addr())
	c := dialProxy(t, p)
	const d = 50 * time.Millisecond
	p.SetDelay(faultproxy.Both, d)
	start := time.Now()
	roundTrip(t, c, "slow")
	if rt := time.Since(start); rt < 2*d {
		t.Fatalf("round trip took %v with %v of delay each way", rt, d)
	}
	// A delay adds latency, it does not serialize: back-to-back chunks
	// each arrive about d after they were sent.
	start = time.Now()
	for range 5 {
		if _, err := c.Write([]byte("a")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := io.ReadFull(c, make([]byte, 5)); err != nil {
		t.Fatal(err)
	}
	if rt := time.Since(start); rt > 2*d+25*time.Millisecond+500*time.Millisecond {
		t.Fatalf("five pipelined chunks took %v", rt)
	}
	p.SetDelay(faultproxy.Both, 0)
	start = time.Now()
	roundTrip(t, c, "fast")
	if rt := time.Since(start); rt >= 2*d {
		t.Fatalf("round trip still took %v without delay", rt)
	}
}

func TestRate(t *testing.T) {
	p := startProxy(t, startEcho(t).addr())
	c := dialProxy(t, p)
	p.SetRate(faultproxy.Downstream, 100<<10)
	msg := strings.Repeat("r", 50<<10)
	start := time.Now()
	if got := roundTrip(t, c, msg); got != msg {
		t.Fatal("the rate-limited echo came back wrong")
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Fatalf("50 KiB at 100 KiB/s took %v", d)
	}
	p.SetRate(faultproxy.Downstream, 0)
	start = time.Now()
	roundTrip(t, c, msg)
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Fatalf("50 KiB without a limit took %v", d)
	}
}

func TestStallKeepsOrder(t *testing.T) {
	for _, dir := range []faultproxy.Direction{faultproxy.Upstream, faultproxy.Downstream} {
		t.Run(dir.String(), func(t *testing.T) {
			p := startProxy(t, startEcho(t).addr())
			c := dialProxy(t, p)
			roundTrip(t, c, "warm")
			p.Stall(dir)
			p.Stall(dir) // stalling twice is one stall
			for _, s := range []string{"one,", "two,", "three"} {
				if _, err := c.Write([]byte(s)); err != nil {
					t.Fatal(err)
				}
				time.Sleep(2 * time.Millisecond)
			}
			readNothing(t, c, 100*time.Millisecond)
			p.Resume(dir)
			buf := make([]byte, len("one,two,three"))
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "one,two,three" {
				t.Fatalf("after resume: %q, %v", buf, err)
			}
		})
	}
}

func TestTruncateNext(t *testing.T) {
	for _, dir := range []faultproxy.Direction{faultproxy.Upstream, faultproxy.Downstream} {
		t.Run(dir.String(), func(t *testing.T) {
			echo := startEcho(t)
			p := startProxy(t, echo.addr())
			c := dialProxy(t, p)
			roundTrip(t, c, "warm")
			p.TruncateNext(dir, 3)
			if _, err := c.Write([]byte("abcdefgh")); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(c)
			if dir == faultproxy.Upstream {
				// The target got three bytes, then the connection ended
				// before it could answer.
				waitFor(t, "the target to see the end", func() bool { return len(echo.received()) == 1 })
				if in := echo.received()[0]; in != "warmabc" {
					t.Fatalf("the target received %q", in)
				}
			} else if err != nil || string(got) != "abc" {
				t.Fatalf("truncated chunk: %q, %v", got, err)
			}
			// One-shot: the next connection is forwarded whole.
			c2 := dialProxy(t, p)
			if got := roundTrip(t, c2, "whole"); got != "whole" {
				t.Fatalf("after the truncation: %q", got)
			}
		})
	}
}

func TestReset(t *testing.T) {
	p := startProxy(t, startEcho(t).addr())
	conns := []*net.TCPConn{dialProxy(t, p), dialProxy(t, p)}
	for _, c := range conns {
		roundTrip(t, c, "x")
	}
	if n := p.Reset(); n != 2 {
		t.Fatalf("Reset reset %d connections, want 2", n)
	}
	for _, c := range conns {
		_, err := c.Read(make([]byte, 1))
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("read after Reset: %v, want ECONNRESET", err)
		}
	}
	if got := roundTrip(t, dialProxy(t, p), "again"); got != "again" {
		t.Fatalf("new connection after Reset: %q", got)
	}
}

func TestSilence(t *testing.T) {
	p := startProxy(t, startEcho(t).addr())
	old := dialProxy(t, p)
	roundTrip(t, old, "x")
	if n := p.Silence(); n != 1 {
		t.Fatalf("Silence silenced %d connections, want 1", n)
	}
	if _, err := old.Write([]byte("hello?")); err != nil {
		t.Fatal(err)
	}
	readNothing(t, old, 100*time.Millisecond)
	if p.Conns() != 1 {
		t.Fatalf("Conns = %d: a silenced connection stays open", p.Conns())
	}
	// A new connection is forwarded.
	if got := roundTrip(t, dialProxy(t, p), "new"); got != "new" {
		t.Fatalf("after Silence: %q", got)
	}
	readNothing(t, old, 50*time.Millisecond)
}

func TestBlackhole(t *testing.T) {
	p := startProxy(t, startEcho(t).addr())
	live := dialProxy(t, p)
	roundTrip(t, live, "x")
	p.SetBlackhole(true)
	c := dialProxy(t, p)
	if _, err := c.Write([]byte("anyone?")); err != nil {
		t.Fatal(err)
	}
	readNothing(t, c, 100*time.Millisecond)
	if p.Held() != 1 || p.Conns() != 1 {
		t.Fatalf("Held = %d, Conns = %d; want 1 and 1", p.Held(), p.Conns())
	}
	// Connections forwarded before are not affected.
	roundTrip(t, live, "still here")
	p.SetBlackhole(false)
	// The held connection is closed; having unread bytes, it is reset.
	if _, err := io.ReadAll(c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("held connection after the blackhole: %v", err)
	}
	if got := roundTrip(t, dialProxy(t, p), "back"); got != "back" {
		t.Fatalf("after the blackhole: %q", got)
	}
}

func TestHeal(t *testing.T) {
	p := startProxy(t, startEcho(t).addr())
	c := dialProxy(t, p)
	p.SetDelay(faultproxy.Both, time.Second)
	p.SetDrop(faultproxy.Upstream, true)
	p.Stall(faultproxy.Downstream)
	p.TruncateNext(faultproxy.Upstream, 0)
	p.Heal()
	start := time.Now()
	if got := roundTrip(t, c, "healed"); got != "healed" || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("after Heal: %q in %v", got, time.Since(start))
	}
}

// TestRateKeepsToTheRate checks that a rate limit paced over many chunks
// and slices, where the pacing makes up for late timers, still forwards
// no faster than the rate (beyond the small catch-up allowance) and loses
// nothing.
func TestRateKeepsToTheRate(t *testing.T) {
	p := startProxy(t, startEcho(t).addr())
	c := dialProxy(t, p)
	const rate, size = 1 << 20, 256 << 10
	p.SetRate(faultproxy.Downstream, rate)
	msg := strings.Repeat("0123456789abcdef", size/16)
	start := time.Now()
	written := make(chan error, 1)
	go func() {
		_, err := c.Write([]byte(msg))
		written <- err
	}()
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read back: %v", err)
	}
	took := time.Since(start)
	if err := <-written; err != nil {
		t.Fatalf("write: %v", err)
	}
	if string(buf) != msg {
		t.Fatal("the rate-limited echo came back wrong")
	}
	if least := time.Duration(size)*time.Second/rate - 10*time.Millisecond; took < least {
		t.Fatalf("%d KiB at %d KiB/s took %v, less than %v", size>>10, rate>>10, took, least)
	}
}
