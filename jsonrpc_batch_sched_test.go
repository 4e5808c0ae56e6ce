package simplerpc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// batchOf returns a JSON-RPC batch of n calls of method, ids and params
// [i] from 0 to n-1.
func batchOf(method string, n int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"jsonrpc":"2.0","id":%d,"method":%q,"params":[%d]}`, i, method, i)
	}
	b.WriteByte(']')
	return b.String()
}

// TestJSONRPCBatchRunsQuickCallsInOneGoroutine checks how a batch of
// calls to a quick method runs: one after another in one goroutine, not
// each in a goroutine of its own, so that a few hundred large batches at
// once leave the CPU to other clients in turn.
func TestJSONRPCBatchRunsQuickCallsInOneGoroutine(t *testing.T) {
	ts := startServer(t)
	// Element i of the batch passes i. The batch times its elements 0, 8,
	// 16…: those return at once. The others, untimed, note the goroutine
	// they run in (which takes a while under the race detector). A timed
	// call that a pause of the whole process makes slow makes the method
	// slow for a while: the calls after it run in goroutines of their own.
	var mu sync.Mutex
	ran := map[string]int{}
	if err := ts.srv.RegisterFunc("double", func(n int) int {
		if n%8 != 0 {
			id := goroutineID()
			mu.Lock()
			ran[id]++
			mu.Unlock()
		}
		return 2 * n
	}); err != nil {
		t.Fatal(err)
	}
	hc, url := httpClient(t), "http://"+ts.addr+"/"
	most := 0
	// A few tries, for a run with no pause that ends it at once.
	for try := 0; try < 5 && most < 7; try++ {
		mu.Lock()
		clear(ran)
		mu.Unlock()
		simplerpc.MarkQuick(ts.srv, "double")
		status, out := post(t, hc, url, batchOf("double", 500))
		if status != http.StatusOK {
			t.Fatalf("status %d: %s", status, out)
		}
		var rs []rpcResponse
		if err := json.Unmarshal(out, &rs); err != nil || len(rs) != 500 {
			t.Fatalf("%d responses (%v): %.200s", len(rs), err, out)
		}
		for i, r := range rs {
			wantResult(t, fmt.Sprint("call ", i), r, fmt.Sprint(2*i))
		}
		mu.Lock()
		for _, n := range ran {
			most = max(most, n)
		}
		mu.Unlock()
	}
	// Calls each in a goroutine of its own would have one each.
	if most < 7 {
		t.Fatalf("in 5 batches of a quick method, one goroutine ran at most %d calls; want the first 7 at least in one", most)
	}
}

// goroutineID returns the id of the calling goroutine, from its stack's
// first line ("goroutine 42 [running]:").
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	if f := strings.Fields(string(buf)); len(f) > 1 {
		return f[1]
	}
	return ""
}

// TestJSONRPCBatchSlowCallHoldsUpNoOther checks that a call that blocks
// holds up neither the rest of its batch nor the server: the batch's other
// calls all run while it waits.
func TestJSONRPCBatchSlowCallHoldsUpNoOther(t *testing.T) {
	ts := startServer(t)
	release := make(chan struct{})
	var blocked atomic.Bool
	if err := ts.srv.RegisterFunc("block", func(ctx context.Context, n int) int {
		blocked.Store(true)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return n
	}); err != nil {
		t.Fatal(err)
	}
	var quick atomic.Int64
	if err := ts.srv.RegisterFunc("count", func(n int) int { quick.Add(1); return n }); err != nil {
		t.Fatal(err)
	}
	body := `[{"jsonrpc":"2.0","id":"b","method":"block","params":[0]},` + strings.TrimPrefix(batchOf("count", 40), "[")
	hc, url := httpClient(t), "http://"+ts.addr+"/"
	done := make(chan []rpcResponse, 1)
	go func() {
		var rs []rpcResponse
		_, out := post(t, hc, url, body)
		if err := json.Unmarshal(out, &rs); err != nil {
			t.Errorf("batch response %.200s: %v", out, err)
		}
		done <- rs
	}()
	for deadline := time.Now().Add(5 * time.Second); quick.Load() < 40 || !blocked.Load(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			close(release)
			t.Fatalf("with one call blocked, %d of the batch's 40 other calls ran", quick.Load())
		}
	}
	// Another client is served meanwhile.
	wantResult(t, "beside the batch", rpc(t, hc, url, `{"jsonrpc":"2.0","id":1,"method":"count","params":[7]}`), "7")
	close(release)
	if rs := <-done; len(rs) != 41 {
		t.Fatalf("%d responses, want 41", len(rs))
	}
}
