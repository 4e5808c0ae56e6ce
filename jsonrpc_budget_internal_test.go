package simplerpc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc/internal/jsonrpc"
	"github.com/simplerpc/simplerpc/internal/jsonrpchttp"
)

// serveRPC serves a server made with opts on a loopback port until the
// test ends and returns it with its URL; it logs nowhere unless opts say.
func serveRPC(t *testing.T, opts ...ServerOption) (*Server, string) {
	t.Helper()
	srv := NewServer(append([]ServerOption{WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err := srv.RegisterFunc("add", func(a, b int) int { return a + b }); err != nil {
		t.Fatal(err)
	}
	return srv, "http://" + serveInternal(t, srv) + "/"
}

// rpcClient returns an HTTP client whose connections are closed when the
// test ends.
func rpcClient(t *testing.T) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// testResponse is a decoded JSON-RPC response object.
type testResponse struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	ID json.RawMessage `json:"id"`
}

// postRPC posts body and returns the status and the raw response.
func postRPC(hc *http.Client, url string, body []byte) (int, []byte, error) {
	resp, err := hc.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// postBatch posts body, a batch of calls requests, and returns its
// responses and the raw body; it reports false, and fails the test, if
// the answer is not status 200 with one response per request.
func postBatch(t *testing.T, hc *http.Client, url string, body []byte, calls int) ([]testResponse, []byte, bool) {
	status, out, err := postRPC(hc, url, body)
	var rs []testResponse
	if err == nil {
		err = json.Unmarshal(out, &rs)
	}
	if err != nil || status != http.StatusOK || len(rs) != calls {
		t.Errorf("batch: status %d, %d responses, %v: %.200s", status, len(rs), err, out)
		return nil, out, false
	}
	return rs, out, true
}

// rpcBatchOf returns a batch of n calls of method with params.
func rpcBatchOf(n int, method, params string) []byte {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"jsonrpc":"2.0","method":%q,"params":%s,"id":%d}`, method, params, i)
	}
	b.WriteByte(']')
	return []byte(b.String())
}

// wellBehaved calls add every 5 ms until stop is called, which returns
// the number of calls made and reports every one that failed.
func wellBehaved(t *testing.T, url string) (stop func() int) {
	hc := rpcClient(t)
	done := make(chan struct{})
	var n int
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			body := fmt.Appendf(nil, `{"jsonrpc":"2.0","method":"add","params":[%d,1],"id":%d}`, i, i)
			status, out, err := postRPC(hc, url, body)
			n++
			var r testResponse
			if err == nil {
				err = json.Unmarshal(out, &r)
			}
			if err != nil || status != http.StatusOK || r.Error != nil || string(r.Result) != fmt.Sprint(i+1) {
				t.Errorf("well-behaved call %d: status %d, %s, %v", i, status, out, err)
			}
		}
	})
	return func() int {
		close(done)
		wg.Wait()
		return n
	}
}

// watch samples the server's budget in use and the process's heap in
// use until stop is called, which returns the peaks; the heap's is
// counted from what it was when watch began.
func watch(srv *Server) (stop func() (budget, heap int64)) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := int64(ms.HeapInuse)
	var peakBudget, peakHeap int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			peakBudget = max(peakBudget, srv.budget.inUse())
			if i%10 == 0 {
				runtime.ReadMemStats(&ms)
				peakHeap = max(peakHeap, int64(ms.HeapInuse)-base)
			}
		}
	})
	return func() (int64, int64) {
		close(done)
		wg.Wait()
		return peakBudget, peakHeap
	}
}

// TestJSONRPCBatchFloodIsBounded: many batches at once, with no
// WithMaxConcurrentCalls, run no more calls at once than the memory
// budget allows; the calls past it answer unavailable without running,
// and a lone caller beside them is served.
func TestJSONRPCBatchFloodIsBounded(t *testing.T) {
	const budget = minMemoryBudget
	srv, url := serveRPC(t, WithMemoryBudget(budget))
	var running, peak, runs atomic.Int64
	release := make(chan struct{})
	err := srv.RegisterFunc("slow", func() int {
		runs.Add(1)
		n := running.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		<-release
		running.Add(-1)
		return 1
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := wellBehaved(t, url)
	stopWatch := watch(srv)
	const batches, calls = 300, 16 // 2,400 calls at once: more than the budget holds
	body := rpcBatchOf(calls, "slow", "[]")
	hc := rpcClient(t)
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	for range batches {
		wg.Go(func() {
			rs, _, answered := postBatch(t, hc, url, body, calls)
			if !answered {
				return
			}
			for _, r := range rs {
				switch {
				case r.Error == nil:
					ok.Add(1)
				case r.Error.Code == jsonrpc.CodeUnavailable && strings.Contains(r.Error.Message, "memory budget exhausted; call not run"):
					refused.Add(1)
				default:
					t.Errorf("batch call: %+v", r.Error)
				}
			}
		})
	}
	// The calls wait until as many run as the budget lets start, then
	// all return.
	for last, still, end := int64(-1), 0, time.Now().Add(5*time.Second); still < 6 && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if n := running.Load(); n != last {
			last, still = n, 0
		} else if n > 0 {
			still++
		}
	}
	close(release)
	wg.Wait()
	peakBudget, _ := stopWatch()
	good := stop()
	bound := int64(budget / 8 * jsonrpchttp.BulkShare / jsonrpchttp.CallCost)
	t.Logf("%d calls ran, %d refused; at most %d at once (bound %d); budget peak %d of %d; %d well-behaved calls",
		ok.Load(), refused.Load(), peak.Load(), bound, peakBudget, budget, good)
	if peak.Load() > bound {
		t.Errorf("%d calls ran at once, more than the budget's %d", peak.Load(), bound)
	}
	if refused.Load() == 0 {
		t.Error("no call was refused: the flood did not reach the bound")
	}
	if runs.Load() != ok.Load() {
		t.Errorf("%d calls ran, %d succeeded: refused calls ran", runs.Load(), ok.Load())
	}
	if peakBudget > budget {
		t.Errorf("budget in use reached %d, over its %d", peakBudget, budget)
	}
	if n := srv.budget.inUse(); n != 0 {
		t.Errorf("%d bytes still charged after the requests ended", n)
	}
}

// TestJSONRPCBigResponsesAreBounded: batches of calls returning large
// results stop starting calls once their responses reach the size
// limit, so that few calls run and the responses held stay bounded.
func TestJSONRPCBigResponsesAreBounded(t *testing.T) {
	const limit, budget, result = 1 << 20, minMemoryBudget, 64 << 10
	srv, url := serveRPC(t, WithMaxMessageSize(limit), WithMemoryBudget(budget))
	big := strings.Repeat("x", result)
	var runs atomic.Int64
	if err := srv.RegisterFunc("big", func() string { runs.Add(1); return big }); err != nil {
		t.Fatal(err)
	}
	stop := wellBehaved(t, url)
	stopWatch := watch(srv)
	const batches, calls = 8, 1000
	body := rpcBatchOf(calls, "big", "[]")
	hc := rpcClient(t)
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range batches {
		wg.Go(func() {
			rs, out, answered := postBatch(t, hc, url, body, calls)
			if !answered {
				return
			}
			if len(out) > limit {
				t.Errorf("a batch's response took %d bytes, over the %d-byte limit", len(out), limit)
			}
			for _, r := range rs {
				switch {
				case r.Error == nil:
					ok.Add(1)
				case r.Error.Code == jsonrpc.CodeResourceExhausted, r.Error.Code == jsonrpc.CodeUnavailable:
				default:
					t.Errorf("batch call: %+v", r.Error)
				}
			}
		})
	}
	wg.Wait()
	peakBudget, peakHeap := stopWatch()
	good := stop()
	t.Logf("%d calls ran, %d results sent; budget peak %d of %d; heap grew by %d at most; %d well-behaved calls",
		runs.Load(), ok.Load(), peakBudget, budget, peakHeap, good)
	// Each batch runs calls until one does not fit, with jsonrpchttp.BatchParallelism
	// in flight: about limit/result + jsonrpchttp.BatchParallelism of its 1,000.
	if n, most := runs.Load(), int64(batches*(limit/result+2*jsonrpchttp.BatchParallelism)); n > most {
		t.Errorf("%d calls ran, more than the %d the responses' limit leaves", n, most)
	}
	// Responses built are charged whether or not they fit: the budget may
	// go over by the calls in flight.
	if most := int64(budget + batches*jsonrpchttp.BatchParallelism*2*result); peakBudget > most {
		t.Errorf("budget in use reached %d, over %d", peakBudget, most)
	}
	if most := int64(4 * budget); peakHeap > most {
		t.Errorf("heap in use grew by %d, over %d", peakHeap, most)
	}
	if n := srv.budget.inUse(); n != 0 {
		t.Errorf("%d bytes still charged after the requests ended", n)
	}
}

// TestJSONRPCTinyElementBodies: bodies of many tiny array elements, as a
// batch or as params, are refused before they are decoded, or charged
// at what decoding them takes.
func TestJSONRPCTinyElementBodies(t *testing.T) {
	const limit, budget = 1 << 20, minMemoryBudget
	srv, url := serveRPC(t, WithMaxMessageSize(limit), WithMemoryBudget(budget))
	var runs atomic.Int64
	if err := srv.RegisterFunc("count", func(v ...[]int) int { runs.Add(1); return len(v) }); err != nil {
		t.Fatal(err)
	}
	elements := func(n int) string { return "[" + strings.Repeat("[],", n-1) + "[]]" }
	huge := elements((limit - 200) / 3) // 350,000 elements
	bodies := map[string]struct {
		body string
		code int
	}{
		"batch":               {huge, jsonrpc.CodeInvalidRequest},
		"params":              {`{"jsonrpc":"2.0","method":"add","params":` + huge + `,"id":1}`, jsonrpc.CodeResourceExhausted},
		"params, variadic":    {`{"jsonrpc":"2.0","method":"count","params":` + huge + `,"id":1}`, jsonrpc.CodeResourceExhausted},
		"params within share": {`{"jsonrpc":"2.0","method":"count","params":` + elements(10_000) + `,"id":1}`, 0},
	}
	stop := wellBehaved(t, url)
	stopWatch := watch(srv)
	hc := rpcClient(t)
	var wg sync.WaitGroup
	for name, b := range bodies {
		for range 4 {
			wg.Go(func() {
				status, out, err := postRPC(hc, url, []byte(b.body))
				var r testResponse
				if err == nil {
					err = json.Unmarshal(out, &r)
				}
				switch {
				case err == nil && status == http.StatusServiceUnavailable && r.Error != nil && r.Error.Code == jsonrpc.CodeUnavailable:
					// The budget could not hold the body.
				case err != nil || status != http.StatusOK:
					t.Errorf("%s: status %d, %v: %.200s", name, status, err, out)
				case b.code == 0 && r.Error != nil && r.Error.Code != jsonrpc.CodeUnavailable, b.code == 0 && r.Error == nil && string(r.Result) != "10000":
					t.Errorf("%s: %s", name, out)
				case b.code != 0 && (r.Error == nil || r.Error.Code != b.code):
					t.Errorf("%s: %.300s, want error %d", name, out, b.code)
				}
			})
		}
	}
	wg.Wait()
	peakBudget, peakHeap := stopWatch()
	good := stop()
	t.Logf("budget peak %d of %d; heap grew by %d at most; %d calls of count ran; %d well-behaved calls", peakBudget, budget, peakHeap, runs.Load(), good)
	if peakBudget > budget {
		t.Errorf("budget in use reached %d, over its %d", peakBudget, budget)
	}
	// The bodies themselves (client and server copies) and what the
	// budget lets decoding take.
	if most := int64(2*16*limit + 2*budget); peakHeap > most {
		t.Errorf("heap in use grew by %d, over %d", peakHeap, most)
	}
	if n := srv.budget.inUse(); n != 0 {
		t.Errorf("%d bytes still charged after the requests ended", n)
	}
}

// TestJSONRPCBudgetRefusals: a body the budget cannot hold gets 503 and
// an unavailable error; a call it cannot run answers unavailable without
// running; both say so in the log.
func TestJSONRPCBudgetRefusals(t *testing.T) {
	var logs strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	srv, url := serveRPC(t, WithLogger(logger))
	var runs atomic.Int64
	if err := srv.RegisterFunc("hit", func() int { runs.Add(1); return 1 }); err != nil {
		t.Fatal(err)
	}
	hc := rpcClient(t)
	body := []byte(`{"jsonrpc":"2.0","method":"hit","id":1}`)
	// A body larger than a lone small request: the floor does not let it
	// through (padded with white space, which JSON ignores).
	large := append(append([]byte(nil), body...), bytes.Repeat([]byte{' '}, jsonrpchttp.SmallBody)...)

	// No room for the body.
	srv.budget.take(srv.budget.limit)
	resp, err := hc.Post(url, "application/json", bytes.NewReader(large))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var r testResponse
	if err := json.Unmarshal(out, &r); err != nil || resp.StatusCode != http.StatusServiceUnavailable ||
		r.Error == nil || r.Error.Code != jsonrpc.CodeUnavailable || !strings.Contains(r.Error.Message, "call not run") ||
		resp.Header.Get("Retry-After") == "" {
		t.Errorf("body refused: status %d, Retry-After %q: %s", resp.StatusCode, resp.Header.Get("Retry-After"), out)
	}
	// A lone small call is run even so: a client sending one small call
	// at a time is never starved by what others hold.
	if status, out, err := postRPC(hc, url, body); err != nil || status != http.StatusOK || !strings.Contains(string(out), `"result":1`) {
		t.Errorf("a lone small call with the budget full: status %d, %v: %s", status, err, out)
	}
	srv.budget.give(srv.budget.limit)
	runs.Store(0)

	// Room for the body of a batch, not for its call.
	batch := append(append([]byte{'['}, body...), ']')
	srv.budget.take(srv.budget.limit - int64(len(batch)) - 4096)
	status, out, err := postRPC(hc, url, batch)
	var rs []testResponse
	if err == nil {
		err = json.Unmarshal(out, &rs)
	}
	if err != nil || status != http.StatusOK || len(rs) != 1 || rs[0].Error == nil || rs[0].Error.Code != jsonrpc.CodeUnavailable || !strings.Contains(rs[0].Error.Message, "memory budget exhausted; call not run") {
		t.Errorf("call refused: status %d, %v: %s", status, err, out)
	}
	srv.budget.give(srv.budget.limit - int64(len(batch)) - 4096)
	if runs.Load() != 0 {
		t.Errorf("a refused call ran")
	}
	if status, out, err := postRPC(hc, url, body); err != nil || status != http.StatusOK || !strings.Contains(string(out), `"result":1`) {
		t.Errorf("after the budget drained: status %d, %v: %s", status, err, out)
	}
	if n := srv.budget.inUse(); n != 0 {
		t.Errorf("%d bytes still charged after the requests ended", n)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{
		`msg="simplerpc: JSON-RPC request refused: memory budget exhausted" remote=127.0.0.1:`,
		`msg="simplerpc: JSON-RPC call refused: memory budget exhausted" remote=127.0.0.1:`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs.String())
		}
	}
	if !strings.Contains(logs.String(), fmt.Sprintf("bytes=%d", len(large))) {
		t.Errorf("log lacks the body's size:\n%s", logs.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
