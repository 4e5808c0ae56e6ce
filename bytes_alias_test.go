package simplerpc_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"sync"
	"testing"
)

// keeper keeps the byte slices it is given.
type keeper struct {
	mu   sync.Mutex
	kept [][]byte
}

func (k *keeper) Keep(b []byte) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.kept = append(k.kept, b)
	return len(b)
}

// check fails t unless k kept one slice per slice in sent, each still
// equal to one of them: no kept argument changed after its call.
func (k *keeper) check(t *testing.T, sent [][]byte) {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.kept) != len(sent) {
		t.Fatalf("kept %d slices, sent %d", len(k.kept), len(sent))
	}
	for _, kb := range k.kept {
		found := false
		for _, b := range sent {
			found = found || bytes.Equal(kb, b)
		}
		if !found {
			t.Errorf("a kept slice of %d bytes changed after its call", len(kb))
		}
	}
}

// Reverse reverses b in place and returns it.
func (k *keeper) Reverse(b []byte) []byte {
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return b
}

// Large []byte arguments and results travel without copies on either
// side (they are slices of their frame's own body): what a method keeps,
// or what a caller got, stays as it was through the calls that follow,
// of every size and at once.
func TestLargeBytesStayTheirOwn(t *testing.T) {
	ts := startServer(t)
	k := &keeper{}
	if err := ts.srv.Register("K", k); err != nil {
		t.Fatal(err)
	}
	c := dial(t, ts.addr)
	ctx := context.Background()
	sizes := []int{100, 64 << 10, 1 << 20, 1<<20 + 1, 3 << 20}
	var sent, got [][]byte
	var mu sync.Mutex
	var wg sync.WaitGroup
	for round := range 3 {
		for _, n := range sizes {
			wg.Go(func() {
				b := make([]byte, n+round)
				rand.Read(b)
				var kept int
				if err := c.Call(ctx, "K.Keep", []any{b}, &kept); err != nil || kept != len(b) {
					t.Errorf("Keep(%d bytes) = %d, %v", len(b), kept, err)
					return
				}
				var rev []byte
				if err := c.Call(ctx, "K.Reverse", []any{b}, &rev); err != nil {
					t.Errorf("Reverse(%d bytes): %v", len(b), err)
					return
				}
				mu.Lock()
				sent, got = append(sent, b), append(got, rev)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	for i, b := range sent {
		want := bytes.Clone(b)
		for l, r := 0, len(want)-1; l < r; l, r = l+1, r-1 {
			want[l], want[r] = want[r], want[l]
		}
		if !bytes.Equal(got[i], want) {
			t.Errorf("Reverse of %d bytes came back wrong", len(b))
		}
	}
	k.check(t, sent)
}
