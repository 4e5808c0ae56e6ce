package simplerpc_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// Large replies built in reused buffers, from many clients at once: each
// caller gets its own reply, and what a method kept of its arguments
// stays as it was.
func TestLargeRepliesStayTheirOwnUnderReuse(t *testing.T) {
	ts := startServer(t)
	k := &keeper{}
	if err := ts.srv.Register("K", k); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var sent [][]byte
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 3 {
		c := dial(t, ts.addr)
		for g := range 3 {
			wg.Go(func() {
				for round := range 4 {
					b := make([]byte, []int{300 << 10, 1 << 20, 2<<20 + 5, 3 << 20}[(g+round)%4])
					rand.Read(b)
					want := bytes.Clone(b)
					for l, r := 0, len(want)-1; l < r; l, r = l+1, r-1 {
						want[l], want[r] = want[r], want[l]
					}
					var rev []byte
					if err := c.Call(ctx, "K.Reverse", []any{b}, &rev); err != nil {
						t.Errorf("Reverse(%d bytes): %v", len(b), err)
						return
					}
					if !bytes.Equal(rev, want) {
						t.Errorf("Reverse of %d bytes came back wrong", len(b))
					}
					var kept int
					if err := c.Call(ctx, "K.Keep", []any{b}, &kept); err != nil || kept != len(b) {
						t.Errorf("Keep(%d bytes) = %d, %v", len(b), kept, err)
						return
					}
					mu.Lock()
					sent = append(sent, b)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	k.check(t, sent)
}

// A large reply the client lost is answered from the session's memory
// when the client comes back, unchanged by the large replies the server
// built for another client meanwhile.
func TestLostLargeReplyResentFromSessionMemory(t *testing.T) {
	ts := startServer(t)
	const size = 3 << 20
	var runs atomic.Int64
	started, release := make(chan struct{}, 1), make(chan struct{})
	if err := ts.srv.RegisterFunc("fill", func(token byte) []byte {
		if token != 0 {
			runs.Add(1)
			started <- struct{}{}
			<-release
		}
		return bytes.Repeat([]byte{token}, size)
	}); err != nil {
		t.Fatal(err)
	}
	other := dial(t, ts.addr)
	ctx := context.Background()
	churn := func() {
		for i := range 6 {
			var got []byte
			if err := other.Call(ctx, "fill", []any{byte(0)}, &got); err != nil || len(got) != size {
				t.Fatalf("fill %d from the other client: %d bytes, %v", i, len(got), err)
			}
		}
	}
	churn() // the method is known for large replies
	d := &faultyDialer{}
	c := dial(t, ts.addr, simplerpc.WithDialer(d.dial))
	first := d.last()
	var got []byte
	done := make(chan error, 1)
	go func() {
		// Bounded: a reply resent from memory that was reused would not
		// parse, and the call would wait for it.
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		done <- c.Call(ctx, "fill", []any{byte('x')}, &got)
	}()
	<-started
	first.silent.Store(true) // the reply will be lost
	close(release)
	time.Sleep(20 * time.Millisecond)
	churn()
	first.Close() // a silenced read ends too: the client redials
	if err := <-done; err != nil {
		t.Fatalf("call whose large reply was lost: %v", err)
	}
	if !bytes.Equal(got, bytes.Repeat([]byte{'x'}, size)) {
		t.Fatal("the large reply resent from memory came back changed")
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("the call ran %d times", n)
	}
	if n := d.count(); n < 2 {
		t.Fatalf("the reply came on the first connection (%d made): nothing was resent", n)
	}
}
