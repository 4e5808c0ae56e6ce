package simplerpc_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// healthz gets path from ts's port over HTTP and returns the status code
// and the decoded body.
func healthz(t *testing.T, ts *testServer, path string) (int, simplerpc.Health) {
	t.Helper()
	resp, err := http.Get("http://" + ts.addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	var h simplerpc.Health
	if err := json.Unmarshal(body, &h); err != nil {
		t.Fatalf("GET %s: body %q: %v", path, body, err)
	}
	return resp.StatusCode, h
}

func TestHealthNativeAndHTTP(t *testing.T) {
	for _, codec := range codecs {
		t.Run(codec, func(t *testing.T) {
			ts := startServer(t)
			c := dial(t, ts.addr, simplerpc.WithCodec(codec))
			ctx := context.Background()
			check := func(service string, want simplerpc.HealthStatus, wantHTTP int) {
				t.Helper()
				h, err := c.Health(ctx, service)
				if err != nil {
					t.Fatalf("Health(%q): %v", service, err)
				}
				if h.Status != want || h.Service != service {
					t.Errorf("Health(%q) = %+v, want status %s", service, h, want)
				}
				path := "/healthz"
				if service != "" {
					path += "?service=" + service
				}
				code, hh := healthz(t, ts, path)
				if code != wantHTTP || hh != h {
					t.Errorf("GET %s = %d %+v, want %d %+v", path, code, hh, wantHTTP, h)
				}
			}
			check("", simplerpc.HealthServing, 200)
			check("Calc", simplerpc.HealthServing, 200)
			check("Nope", simplerpc.HealthUnknown, 404)

			ts.srv.SetServing("Calc", false)
			check("Calc", simplerpc.HealthNotServing, 503)
			check("", simplerpc.HealthServing, 200)
			// A service set but not registered is known.
			ts.srv.SetServing("db", true)
			check("db", simplerpc.HealthServing, 200)

			ts.srv.SetServing("", false)
			check("", simplerpc.HealthNotServing, 503)
			check("db", simplerpc.HealthNotServing, 503)
			// Health is advice: calls are still answered.
			var sum int
			if err := c.Call(ctx, "Calc.Add", []any{1, 2}, &sum); err != nil || sum != 3 {
				t.Fatalf("Calc.Add while NOT_SERVING = %d, %v", sum, err)
			}
			ts.srv.SetServing("", true)
			ts.srv.SetServing("Calc", true)
			check("", simplerpc.HealthServing, 200)
			check("Calc", simplerpc.HealthServing, 200)
		})
	}
}

func TestHealthHTTPMethods(t *testing.T) {
	ts := startServer(t)
	resp, err := http.Head("http://" + ts.addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("HEAD /healthz: %d", resp.StatusCode)
	}
	// Other paths and methods are JSON-RPC's, as before.
	for _, path := range []string{"/", "/health"} {
		resp, err := http.Get("http://" + ts.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET %s: %d, want 405", path, resp.StatusCode)
		}
	}
}

func TestHealthNotServingOnShutdown(t *testing.T) {
	ts := startServer(t)
	c := dial(t, ts.addr)
	ctx := context.Background()
	// A call that runs until released holds Shutdown open, so the health
	// can be asked while it waits.
	blocked := make(chan error, 1)
	go func() {
		_, err := c.Health(ctx, "") // warm the connection
		if err == nil {
			var s string
			err = c.Call(ctx, "Calc.Block", nil, &s)
		}
		blocked <- err
	}()
	// Block's own count says it runs: the server's count of active calls
	// could be the warming Health call's.
	deadline := time.Now().Add(5 * time.Second)
	for ts.calc.runs.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if ts.calc.runs.Load() == 0 || simplerpc.ActiveCalls(ts.srv) == 0 {
		t.Fatal("Calc.Block did not start")
	}
	done := make(chan error, 1)
	go func() {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		done <- ts.srv.Shutdown(sctx)
	}()
	for ts.srv.Health("").Status == simplerpc.HealthServing && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	for _, svc := range []string{"", "Calc"} {
		if h := ts.srv.Health(svc); h.Status != simplerpc.HealthNotServing {
			t.Errorf("Health(%q) during Shutdown = %+v", svc, h)
		}
	}
	// SetServing cannot bring a stopping server back.
	ts.srv.SetServing("", true)
	if h := ts.srv.Health(""); h.Status != simplerpc.HealthNotServing {
		t.Errorf("Health after SetServing(true) during Shutdown = %+v", h)
	}
	close(ts.calc.release)
	if err := <-blocked; err != nil {
		t.Errorf("Calc.Block: %v", err)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestHealthCheckDrains checks that a client made WithHealthCheck sends
// new calls away from a server that reports NOT_SERVING, and back once
// it serves again.
func TestHealthCheckDrains(t *testing.T) {
	a, b := startCounting(t), startCounting(t)
	c := dial(t, "static:///"+a.addr+","+b.addr, simplerpc.WithHealthCheck(10*time.Millisecond))
	ctx := context.Background()
	waitReady := func(n int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			healthy := 0
			for _, e := range c.Endpoints() {
				if e.Healthy {
					healthy++
				}
			}
			if healthy == n {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("endpoints never all healthy: %+v", c.Endpoints())
	}
	waitReady(2)
	calls := func(n int) {
		t.Helper()
		for i := range n {
			var got int
			if err := c.Call(ctx, "hit", []any{i}, &got); err != nil || got != i+1 {
				t.Fatalf("hit(%d) = %d, %v", i, got, err)
			}
		}
	}
	a.srv.SetServing("", false)
	// The client learns it within a few checks; then no new call reaches a.
	deadline := time.Now().Add(5 * time.Second)
	for {
		before := a.hits.Load()
		calls(50)
		if a.hits.Load() == before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("calls still reach the NOT_SERVING server")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, e := range c.Endpoints() {
		if e.NotServing != (e.Addr == a.addr) {
			t.Errorf("Endpoints: %+v; only %s reports NOT_SERVING", e, a.addr)
		}
	}
	beforeA, beforeB := a.hits.Load(), b.hits.Load()
	calls(200)
	if a.hits.Load() != beforeA || b.hits.Load() != beforeB+200 {
		t.Errorf("with a NOT_SERVING: a got %d calls, b %d; want 0 and 200", a.hits.Load()-beforeA, b.hits.Load()-beforeB)
	}
	a.srv.SetServing("", true)
	deadline = time.Now().Add(5 * time.Second)
	for a.hits.Load() == beforeA {
		if time.Now().After(deadline) {
			t.Fatal("calls never reach the server serving again")
		}
		calls(20)
		time.Sleep(5 * time.Millisecond)
	}
}

// TestHealthCheckOnlyServer checks that a client whose only server
// reports NOT_SERVING still calls it.
func TestHealthCheckOnlyServer(t *testing.T) {
	a := startCounting(t)
	a.srv.SetServing("", false)
	c := dial(t, a.addr, simplerpc.WithHealthCheck(5*time.Millisecond))
	time.Sleep(30 * time.Millisecond) // a few checks
	var got int
	if err := c.Call(context.Background(), "hit", []any{1}, &got); err != nil || got != 2 {
		t.Fatalf("hit = %d, %v", got, err)
	}
}

// TestHealthWithoutIntrospection checks that the health call stays on
// without introspection, is not listed in the description, and answers
// over JSON-RPC too.
func TestHealthWithoutIntrospection(t *testing.T) {
	ts := startServer(t, simplerpc.WithIntrospection(false))
	c := dial(t, ts.addr)
	if h, err := c.Health(context.Background(), "Calc"); err != nil || h.Status != simplerpc.HealthServing {
		t.Fatalf("Health(Calc) without introspection = %+v, %v", h, err)
	}
	resp, body := request(t, ts, http.MethodPost, "/", `{"jsonrpc":"2.0","id":1,"method":"simplerpc.health","params":["Calc"]}`, nil)
	if resp.StatusCode != 200 || body != `{"jsonrpc":"2.0","result":{"service":"Calc","status":"SERVING"},"id":1}` {
		t.Errorf("simplerpc.health over JSON-RPC: %d %s", resp.StatusCode, body)
	}

	listed := startServer(t)
	d, err := dial(t, listed.addr).Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Method(simplerpc.HealthMethod) != nil || d.Service("simplerpc") != nil {
		t.Errorf("the description lists the health call: %+v", d)
	}
}
