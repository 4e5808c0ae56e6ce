package simplerpc_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/simplerpc/simplerpc"
)

// TestJSONRPCHeadersAsMetadata checks that a method taking a context sees
// the request's headers as its incoming metadata (lower-case names, first
// values), alone and in a batch whose calls run at once, and that an
// interceptor sees the client's address.
func TestJSONRPCHeadersAsMetadata(t *testing.T) {
	var mu sync.Mutex
	var peers []string
	ts := startServer(t, simplerpc.WithInterceptor(func(next simplerpc.Invoker) simplerpc.Invoker {
		return func(ctx context.Context, info *simplerpc.CallInfo) error {
			mu.Lock()
			peers = append(peers, info.Peer)
			mu.Unlock()
			return next(ctx, info)
		}
	}))
	if err := ts.srv.RegisterFunc("trace", func(ctx context.Context) string {
		return simplerpc.IncomingMetadata(ctx).Get("x-trace")
	}); err != nil {
		t.Fatal(err)
	}
	hc, url := httpClient(t), "http://"+ts.addr+"/"
	send := func(body string) []byte {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Add("X-Trace", "abc")
		req.Header.Add("X-Trace", "second")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := string(send(call("trace", "", 1))); !strings.Contains(got, `"result":"abc"`) {
		t.Fatalf("lone call: %s, want the result abc", got)
	}
	parts := make([]string, 20)
	for i := range parts {
		parts[i] = call("trace", "", i)
	}
	if got := string(send("[" + strings.Join(parts, ",") + "]")); strings.Count(got, `"result":"abc"`) != len(parts) {
		t.Fatalf("batch: %s, want %d results abc", got, len(parts))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(peers) != 1+len(parts) {
		t.Fatalf("interceptor saw %d calls, want %d", len(peers), 1+len(parts))
	}
	for _, p := range peers {
		if !strings.HasPrefix(p, "127.0.0.1:") {
			t.Fatalf("interceptor saw peer %q, want the client's address", p)
		}
	}
}
