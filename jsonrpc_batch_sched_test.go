package simplerpc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
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
