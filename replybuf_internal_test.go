package simplerpc

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"testing"
	"time"
)

// stopTrim stops c's timer, so that no trim runs after the test.
func stopTrim(c *replyCache) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}

// A buffer goes idle only once every holder let go of it — its keeper
// (put) and a writer (share, then unref) in either order — and the next
// large reply is built in that very memory.
func TestReplyCacheReusesOnceLetGo(t *testing.T) {
	var c replyCache
	defer stopTrim(&c)
	const n = 1 << 20
	for _, writerLast := range []bool{false, true} {
		e := c.get(n)
		if e == nil || e.buf.Cap() < n || e.buf.Len() != 0 {
			t.Fatalf("get(%d) = %v", n, e)
		}
		e.buf.Write(make([]byte, n))
		w := c.share(e.buf.Bytes())
		if w != e {
			t.Fatal("share did not find the lent buffer its frame is in")
		}
		if writerLast {
			c.put(e.buf)
		} else {
			c.unref(w)
		}
		c.mu.Lock()
		idle := len(c.idle)
		c.mu.Unlock()
		if idle != 0 {
			t.Fatal("a buffer still held went idle")
		}
		if writerLast {
			c.unref(w)
		} else {
			c.put(e.buf)
		}
		if f := c.get(n); f != e || !sameMemory(f.buf.AvailableBuffer(), e.arr) {
			t.Fatal("a buffer let go by all was not lent again")
		}
		c.put(e.buf)
	}
	if c.share(make([]byte, 10, n)) != nil {
		t.Fatal("share found a frame outside the cache")
	}
}

// The cache lends at most maxLargeReplies buffers, keeps at most
// maxIdleLargeReplies idle, none over maxLargeReply, and drops the idle
// ones after largeReplyIdle.
func TestReplyCacheBounds(t *testing.T) {
	var c replyCache
	defer stopTrim(&c)
	if c.get(maxLargeReply+1) != nil {
		t.Fatal("a buffer over maxLargeReply was lent")
	}
	var lent []*largeReply
	for range maxLargeReplies + 2 {
		if e := c.get(300 << 10); e != nil {
			lent = append(lent, e)
		}
	}
	if len(lent) != maxLargeReplies {
		t.Fatalf("lent %d buffers at once, want %d", len(lent), maxLargeReplies)
	}
	for _, e := range lent {
		c.put(e.buf)
	}
	c.mu.Lock()
	idle := len(c.idle)
	c.mu.Unlock()
	if idle != maxIdleLargeReplies {
		t.Fatalf("%d idle buffers kept, want %d", idle, maxIdleLargeReplies)
	}
	// A request larger than every idle buffer, with the cache full,
	// replaces one of them rather than failing.
	c.mu.Lock()
	for _, e := range lent[:2] {
		c.lent = append(c.lent, e) // as if lent again
		e.refs = 1
	}
	c.mu.Unlock()
	big := c.get(2 << 20)
	if big == nil || big.buf.Cap() < 2<<20 {
		t.Fatal("a full cache with idle buffers too small lent nothing")
	}
	// Idle for longer than largeReplyIdle: dropped.
	c.mu.Lock()
	for _, e := range c.idle {
		e.since = time.Now().Add(-2 * largeReplyIdle)
	}
	c.mu.Unlock()
	c.trim()
	c.mu.Lock()
	idle = len(c.idle)
	c.mu.Unlock()
	if idle != 0 {
		t.Fatalf("%d idle buffers left after trim", idle)
	}
}

// A method's large replies, once it is known for them, are built in a
// few reused buffers rather than a fresh one each; a small reply that
// follows them is moved out of its lent buffer; each comes back intact.
func TestLargeRepliesReuseBuffers(t *testing.T) {
	srv := NewServer(WithLogger(slog.New(slog.DiscardHandler)))
	if err := srv.RegisterFunc("echo", func(b []byte) []byte { return b }); err != nil {
		t.Fatal(err)
	}
	addr := serveInternal(t, srv)
	c, err := Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	largeReplies.mu.Lock()
	made := largeReplies.made
	largeReplies.mu.Unlock()
	const rounds = 20
	for i := range rounds {
		n := 2 << 20
		if i == rounds-1 {
			n = 100 // lent, then moved to a small buffer
		}
		b := make([]byte, n+i)
		rand.Read(b)
		var got []byte
		if err := c.Call(context.Background(), "echo", []any{b}, &got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, b) {
			t.Fatalf("echo %d came back changed", i)
		}
	}
	largeReplies.mu.Lock()
	made = largeReplies.made - made
	largeReplies.mu.Unlock()
	if made < 1 || made > maxLargeReplies {
		t.Fatalf("%d echoes of 2 MiB made %d large reply buffers; want 1 to %d", rounds-1, made, maxLargeReplies)
	}
}
