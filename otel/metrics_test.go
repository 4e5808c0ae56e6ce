package otel_test

import (
	"context"
	"strings"
	"testing"

	"github.com/simplerpc/simplerpc"
	srpcotel "github.com/simplerpc/simplerpc/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// histogramPoints returns the points of a float histogram by the text of
// their rpc.method and rpc.response.status_code.
func histogramPoints(t *testing.T, m metricdata.Metrics) map[string]metricdata.HistogramDataPoint[float64] {
	t.Helper()
	h, ok := m.Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s is a %T, want a float histogram", m.Name, m.Data)
	}
	if m.Unit != "s" {
		t.Errorf("%s: unit %q, want s", m.Name, m.Unit)
	}
	out := make(map[string]metricdata.HistogramDataPoint[float64])
	for _, p := range h.DataPoints {
		method, _ := p.Attributes.Value("rpc.method")
		status, _ := p.Attributes.Value("rpc.response.status_code")
		out[method.String()+" "+status.String()] = p
	}
	return out
}

// sumPoints returns the values of an int sum by the text of their
// attribute key.
func sumPoints(t *testing.T, m metricdata.Metrics, key attribute.Key) map[string]int64 {
	t.Helper()
	s, ok := m.Data.(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("%s is a %T, want an int sum", m.Name, m.Data)
	}
	out := make(map[string]int64)
	for _, p := range s.DataPoints {
		v, _ := p.Attributes.Value(key)
		out[v.String()] += p.Value
	}
	return out
}

// Every call is measured on both sides, by method and status; the calls
// in flight go back to zero.
func TestCallMetrics(t *testing.T) {
	tel := newTelemetry(t)
	srv := newServer(tel.opts()...)
	if err := srv.Register("Calc", Calc{}); err != nil {
		t.Fatal(err)
	}
	addr := serve(t, srv)
	c := dial(t, addr, tel.opts()...)
	ctx := context.Background()
	for i := range 3 {
		if err := c.Call(ctx, "Calc.Add", []any{i, i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Call(ctx, "Calc.Sqrt", []any{-4.0}); err == nil {
		t.Fatal("Calc.Sqrt(-4) did not fail")
	}
	rm := tel.collect(t)
	host, port, _ := strings.Cut(addr, ":")
	for _, side := range []string{"server", "client"} {
		m := metricNamed(t, rm, "rpc."+side+".call.duration")
		points := histogramPoints(t, m)
		if len(points) != 2 {
			t.Errorf("%s: %d points, want 2 (Calc.Add ok, Calc.Sqrt application): %v", m.Name, len(points), points)
		}
		ok, failed := points["Calc.Add ok"], points["Calc.Sqrt application"]
		if ok.Count != 3 || failed.Count != 1 {
			t.Errorf("%s: %d calls ok, %d failed; want 3 and 1", m.Name, ok.Count, failed.Count)
		}
		if min, has := ok.Min.Value(); ok.Sum <= 0 || !has || min <= 0 {
			t.Errorf("%s: durations not measured: sum %v", m.Name, ok.Sum)
		}
		if _, has := failed.Attributes.Value("error.type"); !has {
			t.Errorf("%s: a failed call without error.type: %v", m.Name, failed.Attributes.ToSlice())
		}
		if _, has := ok.Attributes.Value("error.type"); has {
			t.Errorf("%s: a call that succeeded has error.type", m.Name)
		}
		want := map[string]string{"rpc.system.name": "simplerpc"}
		if side == "client" {
			want["server.address"], want["server.port"] = host, port
		}
		wantAttrs(t, m.Name, ok.Attributes.ToSlice(), want)

		active := sumPoints(t, metricNamed(t, rm, "simplerpc."+side+".call.active"), "rpc.method")
		if active["Calc.Add"] != 0 || active["Calc.Sqrt"] != 0 {
			t.Errorf("simplerpc.%s.call.active after the calls ended: %v", side, active)
		}
	}
}

// ObserveServer reports the server's connections, sessions, memory
// budget and refused calls.
func TestServerGauges(t *testing.T) {
	tel := newTelemetry(t)
	srv := simplerpc.NewServer(simplerpc.WithMaxConcurrentCalls(1))
	block := make(chan struct{})
	started := make(chan struct{}, 1)
	if err := srv.RegisterFunc("wait", func() { started <- struct{}{}; <-block }); err != nil {
		t.Fatal(err)
	}
	reg, err := srpcotel.ObserveServer(srv, tel.opts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := reg.Unregister(); err != nil {
			t.Error(err)
		}
	}()
	c, err := simplerpc.Dial(context.Background(), serve(t, srv), simplerpc.WithRetry(simplerpc.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan error, 1)
	go func() { done <- c.Call(context.Background(), "wait", nil) }()
	<-started
	if err := c.Call(context.Background(), "wait", nil); err == nil {
		t.Fatal("a call past the limit of one ran")
	}
	rm := tel.collect(t)
	close(block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	if n := sumPoints(t, metricNamed(t, rm, "simplerpc.server.connections"), "")[""]; n != 1 {
		t.Errorf("simplerpc.server.connections = %d, want 1", n)
	}
	if s := sumPoints(t, metricNamed(t, rm, "simplerpc.server.sessions"), "simplerpc.session.state"); s["detached"] != 0 {
		t.Errorf("simplerpc.server.sessions: %v, want none detached", s)
	}
	if used := sumPoints(t, metricNamed(t, rm, "simplerpc.server.memory.used"), "")[""]; used <= 0 {
		t.Errorf("simplerpc.server.memory.used = %d with a call running", used)
	}
	if limit := sumPoints(t, metricNamed(t, rm, "simplerpc.server.memory.limit"), "")[""]; limit != simplerpc.DefaultMemoryBudget {
		t.Errorf("simplerpc.server.memory.limit = %d, want %d", limit, simplerpc.DefaultMemoryBudget)
	}
	refused := metricNamed(t, rm, "simplerpc.server.call.refused")
	if s, ok := refused.Data.(metricdata.Sum[int64]); !ok || !s.IsMonotonic {
		t.Errorf("simplerpc.server.call.refused is not a counter: %T", refused.Data)
	}
	if r := sumPoints(t, refused, "simplerpc.refusal.reason"); r["busy"] != 1 || r["memory"] != 0 || r["shutdown"] != 0 {
		t.Errorf("simplerpc.server.call.refused: %v, want busy 1", r)
	}
}

// A call running counts as active on both sides until it ends.
func TestActiveCalls(t *testing.T) {
	tel := newTelemetry(t)
	srv := newServer(tel.opts()...)
	started, release := make(chan struct{}), make(chan struct{})
	if err := srv.RegisterFunc("wait", func() { close(started); <-release }); err != nil {
		t.Fatal(err)
	}
	c := dial(t, serve(t, srv), tel.opts()...)
	done := make(chan error, 1)
	go func() { done <- c.Call(context.Background(), "wait", nil) }()
	<-started
	rm := tel.collect(t)
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, side := range []string{"server", "client"} {
		if n := sumPoints(t, metricNamed(t, rm, "simplerpc."+side+".call.active"), "rpc.method")["wait"]; n != 1 {
			t.Errorf("simplerpc.%s.call.active with one call running: %d", side, n)
		}
	}
	rm = tel.collect(t)
	for _, side := range []string{"server", "client"} {
		if n := sumPoints(t, metricNamed(t, rm, "simplerpc."+side+".call.active"), "rpc.method")["wait"]; n != 0 {
			t.Errorf("simplerpc.%s.call.active after the call: %d", side, n)
		}
	}
}
