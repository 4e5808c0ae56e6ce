package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func init() { simplerpc.RegisterError("observability.div_by_zero", ErrDivByZero) }

// Calls over the native protocol and JSON-RPC show up on /metrics, by
// method and status, beside the server's gauges.
func TestMetricsAreScraped(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	type addrs struct{ rpc, metrics string }
	ready := make(chan addrs, 1)
	ran := make(chan error, 1)
	go func() {
		ran <- run(ctx, config{addr: "127.0.0.1:0", metricsAddr: "127.0.0.1:0"}, func(a, m string) { ready <- addrs{a, m} })
	}()
	defer func() {
		stop()
		if err := <-ran; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	var a addrs
	select {
	case a = <-ready:
	case err := <-ran:
		t.Fatalf("run: %v", err)
	}

	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := simplerpc.Dial(cctx, a.rpc)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 3 {
		var sum int
		if err := c.Call(cctx, "Calc.Add", []any{1, 2}, &sum); err != nil || sum != 3 {
			t.Fatalf("Calc.Add: %d, %v", sum, err)
		}
	}
	if err := c.Call(cctx, "Calc.Div", []any{1, 0}); !errors.Is(err, ErrDivByZero) {
		t.Fatalf("Calc.Div(1, 0): %v", err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	req, err := http.NewRequest(http.MethodPost, "http://"+a.rpc, strings.NewReader(`{"jsonrpc":"2.0","method":"Calc.Add","params":[1,2],"id":1}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	resp, err = hc.Get("http://" + a.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d, %v", resp.StatusCode, err)
	}
	text := string(body)
	for _, want := range []string{
		// Four calls of Calc.Add, three native and one JSON-RPC.
		`rpc_server_call_duration_seconds_count\{[^}]*rpc_method="Calc.Add"[^}]*rpc_response_status_code="ok"[^}]*\} 4`,
		`rpc_server_call_duration_seconds_count\{[^}]*error_type="application"[^}]*rpc_method="Calc.Div"[^}]*\} 1`,
		`rpc_server_call_duration_seconds_bucket\{[^}]*le="0.0001"`,
		`simplerpc_server_call_active\{[^}]*rpc_method="Calc.Add"[^}]*\} 0`,
		`simplerpc_server_connections(_total)?\{[^}]*\} 1`,
		`simplerpc_server_sessions\{[^}]*simplerpc_session_state="detached"[^}]*\} 0`,
		`simplerpc_server_memory_limit_bytes\{[^}]*\} 2.68435456e\+08`,
		`simplerpc_server_memory_used_bytes\{[^}]*\} `,
		`simplerpc_server_call_refused_total\{[^}]*simplerpc_refusal_reason="busy"[^}]*\} 0`,
	} {
		if !regexp.MustCompile(want).MatchString(text) {
			t.Errorf("/metrics has no line matching %s", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", text)
	}
}
