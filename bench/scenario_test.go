package main

import (
	"context"
	"encoding/xml"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHTTPServers checks that every server of the http workload answers
// Add, alone and with several callers at once.
func TestHTTPServers(t *testing.T) {
	for _, hs := range httpServers() {
		t.Run(hs.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			addr, warns, stop := serveOnLoopback(t, hs)
			tr := &http.Transport{}
			c := &jsonrpcClient{hc: &http.Client{Transport: tr}, url: "http://" + addr + "/", method: hs.method}
			if err := c.add(ctx, -7, 1<<40); err != nil {
				t.Error(err)
			}
			if _, err := timedLoad(ctx, 8, 50*time.Millisecond, func(ctx context.Context, i int) error { return c.add(ctx, int64(i), 2) }); err != nil {
				t.Error(err)
			}
			wrong := &jsonrpcClient{hc: c.hc, url: c.url, method: "Bench.Nope"}
			if err := wrong.add(ctx, 1, 2); err == nil {
				t.Error("a call of an unknown method succeeded")
			}
			tr.CloseIdleConnections()
			stop()
			if n := warns.Load(); n != 0 {
				t.Errorf("the server logged %d warnings", n)
			}
		})
	}
}

// TestScenarios runs every scenario briefly on the floor and simplerpc
// and checks that each recorded its numbers and wrote its section.
func TestScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every scenario, a few seconds each: not in -short mode")
	}
	systems, err := selectSystems(refFloor + "," + refSimpleRPC)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config{d: 50 * time.Millisecond, reps: 1, smoke: true, systems: systems, scen: scenarios()}
	res := newResults(systemNames(systems))
	for _, s := range systems {
		runScenariosFor(cfg, 0, s, res)
	}
	runScenariosRep(cfg, 0, res)
	if len(res.failures) > 0 {
		t.Fatalf("failures: %v", res.failures)
	}
	want := []struct {
		system string
		m      metric
	}{
		{refSimpleRPC, metric{connsKey("add", connShape{100, 1}), kindTput, 0}},
		{refFloor, metric{connsKey("struct", connShape{100, 8}), kindP99, 0}},
		{refSimpleRPC, metric{connsKey("loaded", connShape{100, 8}), kindMem, 0}},
		{refSimpleRPC, metric{"tail", kindP999, 256}},
		{refHTTPFloor, metric{"http", kindTput, 64}},
		{"go-ethereum", metric{"http", kindP99, 1}},
		{refHTTPSimpleRPC, metric{"http", kindWarns, 0}},
		{refHTTPGorilla, metric{leanWorkload, kindTput, 8}},
		{refHTTPIdeal, metric{leanWorkload, kindP50, 64}},
		{refFloor, metric{"slowlink-random", kindTput, 1}},
		{refSimpleRPC, metric{"slowlink-json", kindP50, 1}},
		{slowZstd.name(), metric{"slowlink-json", kindTput, 1}},
	}
	for _, w := range want {
		if v, ok := res.median(w.system, w.m); !ok || (w.m.kind != kindWarns && v <= 0) {
			t.Errorf("%s %v = %v, %v", w.system, w.m, v, ok)
		}
	}
	var b strings.Builder
	reportScenarios(&b, cfg, res)
	for _, h := range []string{"## Many connections", "## JSON-RPC Add over HTTP/1.1", "## Tail latency", "## Slow link"} {
		if !strings.Contains(b.String(), h) {
			t.Errorf("report lacks %q", h)
		}
	}
	for _, sc := range cfg.scen {
		if sc.chart == nil {
			continue
		}
		if err := xml.Unmarshal([]byte(sc.chart(res)), new(struct{})); err != nil {
			t.Errorf("%s: chart is not well-formed: %v", sc.chartFile, err)
		}
		if n := strings.Count(sc.chart(res), "<polyline"); n < 2 {
			t.Errorf("%s: chart has %d lines", sc.chartFile, n)
		}
	}
}

// TestSelectScenarios checks that -workloads selects scenarios apart from
// the call workloads.
func TestSelectScenarios(t *testing.T) {
	cfg, err := parseFlags([]string{"-workloads", "conns,slowlink"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.work) != 0 || len(cfg.idleN) != 0 || strings.Join(scenarioNames(cfg.scen), ",") != "conns,slowlink" {
		t.Errorf("-workloads conns,slowlink gave %v, idle %v, scenarios %v", workloadNames(cfg.work), cfg.idleN, scenarioNames(cfg.scen))
	}
	cfg, err = parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.scen) != len(scenarios()) {
		t.Errorf("no -workloads selected scenarios %v", scenarioNames(cfg.scen))
	}
}

// TestSlowPayloads checks that the slowlink payloads have their size and
// that the JSON-like one is text.
func TestSlowPayloads(t *testing.T) {
	for _, pl := range slowPayloads {
		if len(pl.data) != slowSize {
			t.Errorf("%s: %d bytes", pl.name, len(pl.data))
		}
	}
	if s := string(jsonLike(4096)); !strings.HasPrefix(s, `[{"id":0,"name":"user-`) || strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r > '~' }) {
		t.Errorf("jsonLike is not JSON-like text: %.80s", s)
	}
}
