package simplerpc

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// TestJSONRPCBatchRunsQuickCallsInOneGoroutine checks how a batch of
// calls to a quick method runs: one after another in one goroutine, not
// each in a goroutine of its own, so that a few hundred large batches at
// once leave the CPU to other clients in turn.
func TestJSONRPCBatchRunsQuickCallsInOneGoroutine(t *testing.T) {
	// The method's calls note the goroutine they run in, which takes a
	// while under the race detector: timed, they would make it slow.
	sampleBatchCalls = false
	t.Cleanup(func() { sampleBatchCalls = true })
	srv, url := serveRPC(t)
	var mu sync.Mutex
	ran := map[string]int{}
	if err := srv.RegisterFunc("double", func(n int) int {
		id := goroutineID()
		mu.Lock()
		ran[id]++
		mu.Unlock()
		return 2 * n
	}); err != nil {
		t.Fatal(err)
	}
	srv.dispatch.lookupName("double").cost.ns.Store(1) // quick
	rs, _, ok := postBatch(t, rpcClient(t), url, rpcBatchOf(500, "double", "[21]"), 500)
	if !ok {
		t.FailNow()
	}
	for i, r := range rs {
		if r.Error != nil || string(r.Result) != "42" {
			t.Fatalf("response %d: %+v", i, r)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ran) != 1 {
		t.Errorf("the batch's 500 quick calls ran in %d goroutines, want 1", len(ran))
	}
	if m := srv.dispatch.lookupName("double"); !m.cost.quick() {
		t.Error("the method is no longer quick, though no call was timed")
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
	return fmt.Sprint("unknown: ", string(buf))
}
