package main

import (
	"strings"
	"testing"
	"time"
)

// TestOtelSystems checks that every system of the instrumentation cost
// measurement answers correctly, and that the report has a row for each.
func TestOtelSystems(t *testing.T) {
	cfg := config{d: 50 * time.Millisecond, reps: 1, otel: true}
	res := newResults(systemNames(otelSystems()))
	for _, s := range otelSystems() {
		t.Run(s.name(), func(t *testing.T) {
			r, err := otelOnce(cfg, s)
			if err != nil {
				t.Fatal(err)
			}
			if r.calls == 0 || r.mallocs <= 0 {
				t.Fatalf("%d calls, %.1f allocations per call", r.calls, r.mallocs)
			}
			res.add(s.name(), metric{"add", kindTput, otelConc}, r.rate)
			res.add(s.name(), metric{"add", kindAllocs, otelConc}, r.mallocs)
			res.add(s.name(), metric{"add", kindBytes, otelConc}, r.bytes)
			res.add(s.name(), metric{"add", kindRatio, otelConc}, 1)
		})
	}
	md := otelReport(cfg, res, time.Second)
	for _, s := range otelSystems() {
		stack, mode, _ := strings.Cut(s.name(), " ")
		if !strings.Contains(md, "| "+stack+" | "+mode+" | ") || strings.Contains(md, "failed") {
			t.Errorf("report has no row for %s:\n%s", s.name(), md)
		}
	}
}
