package simplerpc

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc/internal/jsonrpchttp"
)

// TestLargeBodiesTakeTurnsToParse checks the gate on parsing JSON-RPC
// bodies: with every turn taken, a large body waits for one, and a small
// request beside it is answered at once.
func TestLargeBodiesTakeTurnsToParse(t *testing.T) {
	srv, url := serveRPC(t)
	hc := rpcClient(t)
	turns := cap(srv.parsing.turns)
	for range turns {
		if !srv.parsing.enter(context.Background()) {
			t.Fatal("could not take a turn of an idle gate")
		}
	}
	large := rpcBatchOf(100, "add", "[1,2]")
	if len(large) <= jsonrpchttp.ParseGated {
		t.Fatalf("the large batch has %d bytes, no more than %d", len(large), jsonrpchttp.ParseGated)
	}
	answered := make(chan int, 1)
	go func() {
		status, _, err := postRPC(hc, url, large)
		if err != nil {
			t.Error(err)
		}
		answered <- status
	}()
	status, out, err := postRPC(hc, url, []byte(`{"jsonrpc":"2.0","method":"add","params":[40,2],"id":1}`))
	if err != nil || status != http.StatusOK || string(out) != `{"jsonrpc":"2.0","result":42,"id":1}` {
		t.Fatalf("a small request beside a waiting large one: %d %s, %v", status, out, err)
	}
	select {
	case s := <-answered:
		t.Fatalf("a large body was answered (status %d) with every parsing turn taken", s)
	case <-time.After(50 * time.Millisecond):
	}
	for range turns {
		srv.parsing.leave()
	}
	select {
	case s := <-answered:
		if s != http.StatusOK {
			t.Fatalf("the large batch: status %d", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the large body was not parsed once the turns were free")
	}
}

// TestCPUGateBoundsTurns checks the gate: as many turns at once as it
// has, the next goroutine waiting until one leaves, or until its context
// ends.
func TestCPUGateBoundsTurns(t *testing.T) {
	g := &cpuGate{turns: make(chan struct{}, 2)}
	ctx := context.Background()
	for i := range 2 {
		if !g.enter(ctx) {
			t.Fatalf("a gate of two turns refused turn %d", i+1)
		}
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if g.enter(canceled) {
		t.Fatal("a third goroutine entered a full gate")
	}
	entered := make(chan struct{})
	go func() {
		if g.enter(ctx) {
			close(entered)
		}
	}()
	select {
	case <-entered:
		t.Fatal("a third goroutine entered before a turn ended")
	case <-time.After(20 * time.Millisecond):
	}
	g.leave()
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting goroutine did not enter once a turn ended")
	}
	g.leave()
	g.leave()
	if len(g.turns) != 0 {
		t.Fatalf("%d turns held after all left", len(g.turns))
	}
}
