package otel_test

import (
	"context"
	"strings"
	"testing"

	"github.com/simplerpc/simplerpc"
	srpcotel "github.com/simplerpc/simplerpc/otel"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Echo returns s.
func (Calc) Echo(s string) string { return s }

// sizePoints returns the points of an int histogram by the text of their
// rpc.method and rpc.response.status_code.
func sizePoints(t *testing.T, m metricdata.Metrics) map[string]metricdata.HistogramDataPoint[int64] {
	t.Helper()
	h, ok := m.Data.(metricdata.Histogram[int64])
	if !ok {
		t.Fatalf("%s is a %T, want an int histogram", m.Name, m.Data)
	}
	if m.Unit != "By" {
		t.Errorf("%s: unit %q, want By", m.Name, m.Unit)
	}
	out := make(map[string]metricdata.HistogramDataPoint[int64])
	for _, p := range h.DataPoints {
		method, _ := p.Attributes.Value("rpc.method")
		status, _ := p.Attributes.Value("rpc.response.status_code")
		out[method.String()+" "+status.String()] = p
	}
	return out
}

// With WithSizes, both sides measure the encoded arguments of every call
// and the results of those that succeed: in CBOR, Echo's argument array
// of one 100-byte string takes 103 bytes (the array's head, the string's
// two-byte head, the string), as does its result array; Sqrt(-4)'s
// argument array takes 10 (a head and a float64 with its own), and its
// failure has no results.
func TestSizeMetrics(t *testing.T) {
	tel := newTelemetry(t)
	opts := append(tel.opts(), srpcotel.WithSizes(true))
	srv := newServer(opts...)
	if err := srv.Register("Calc", Calc{}); err != nil {
		t.Fatal(err)
	}
	c := dial(t, serve(t, srv), opts...)
	ctx := context.Background()
	long := strings.Repeat("x", 100)
	for range 2 {
		var got string
		if err := c.Call(ctx, "Calc.Echo", []any{long}, &got); err != nil || got != long {
			t.Fatalf("Calc.Echo: %q, %v", got, err)
		}
	}
	if err := c.Call(ctx, "Calc.Sqrt", []any{-4.0}); err == nil {
		t.Fatal("Calc.Sqrt(-4) did not fail")
	}
	rm := tel.collect(t)
	for _, side := range []string{"server", "client"} {
		req := sizePoints(t, metricNamed(t, rm, "rpc."+side+".request.size"))
		if p := req["Calc.Echo ok"]; p.Count != 2 || p.Sum != 2*103 {
			t.Errorf("rpc.%s.request.size of Calc.Echo: %d calls, %d bytes; want 2 and %d", side, p.Count, p.Sum, 2*103)
		}
		if p := req["Calc.Sqrt application"]; p.Count != 1 || p.Sum != 10 {
			t.Errorf("rpc.%s.request.size of Calc.Sqrt: %d calls, %d bytes; want 1 and 10", side, p.Count, p.Sum)
		}
		resp := sizePoints(t, metricNamed(t, rm, "rpc."+side+".response.size"))
		if p := resp["Calc.Echo ok"]; p.Count != 2 || p.Sum != 2*103 {
			t.Errorf("rpc.%s.response.size of Calc.Echo: %d calls, %d bytes; want 2 and %d", side, p.Count, p.Sum, 2*103)
		}
		if p, has := resp["Calc.Sqrt application"]; has {
			t.Errorf("rpc.%s.response.size has a failed call: %d of them", side, p.Count)
		}
	}
}

// Without WithSizes there are no size instruments.
func TestSizeMetricsOff(t *testing.T) {
	tel := newTelemetry(t)
	srv := newServer(tel.opts()...)
	if err := srv.Register("Calc", Calc{}); err != nil {
		t.Fatal(err)
	}
	c := dial(t, serve(t, srv), tel.opts()...)
	if err := c.Call(context.Background(), "Calc.Add", []any{1, 2}); err != nil {
		t.Fatal(err)
	}
	for _, sm := range tel.collect(t).ScopeMetrics {
		for _, m := range sm.Metrics {
			if strings.HasSuffix(m.Name, ".size") {
				t.Errorf("%s recorded without WithSizes", m.Name)
			}
		}
	}
}

// An interceptor that passes the next Invoker a copy of its CallInfo
// still hears the sizes through the copy, on both sides; one inside the
// otel interceptor reads them too, once next has returned.
func TestSizesThroughCopiedCallInfo(t *testing.T) {
	var server, client [2]int
	copyInfo := func(sizes *[2]int) simplerpc.Interceptor {
		return func(next simplerpc.Invoker) simplerpc.Invoker {
			return func(ctx context.Context, info *simplerpc.CallInfo) error {
				cp := *info
				err := next(ctx, &cp)
				sizes[0], sizes[1] = cp.RequestSize, cp.ResponseSize
				return err
			}
		}
	}
	tel := newTelemetry(t)
	opts := append(tel.opts(), srpcotel.WithSizes(true))
	srv := simplerpc.NewServer(simplerpc.WithInterceptor(srpcotel.ServerInterceptor(opts...), copyInfo(&server)))
	if err := srv.Register("Calc", Calc{}); err != nil {
		t.Fatal(err)
	}
	c, err := simplerpc.Dial(context.Background(), serve(t, srv), simplerpc.WithInterceptor(srpcotel.ClientInterceptor(opts...), copyInfo(&client)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got string
	if err := c.Call(context.Background(), "Calc.Echo", []any{"hi"}, &got); err != nil || got != "hi" {
		t.Fatalf("Calc.Echo: %q, %v", got, err)
	}
	// ["hi"] and the result "hi" take 4 bytes each: array head, string
	// head, two bytes.
	if server != [2]int{4, 4} || client != [2]int{4, 4} {
		t.Errorf("sizes seen inside: server %v, client %v; want [4 4] on both", server, client)
	}
	rm := tel.collect(t)
	for _, name := range []string{"rpc.server.request.size", "rpc.server.response.size", "rpc.client.request.size", "rpc.client.response.size"} {
		if p := sizePoints(t, metricNamed(t, rm, name))["Calc.Echo ok"]; p.Count != 1 || p.Sum != 4 {
			t.Errorf("%s: %d calls, %d bytes; want 1 and 4", name, p.Count, p.Sum)
		}
	}
}
