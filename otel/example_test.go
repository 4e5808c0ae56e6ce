package otel_test

import (
	"context"
	"fmt"
	"net"
	"sort"

	"github.com/simplerpc/simplerpc"
	srpcotel "github.com/simplerpc/simplerpc/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// A server and a client, each with its interceptor: one call is a client
// span and a server span in one trace, and a duration measured on each
// side. A program would export to a collector (or to Prometheus, see
// examples/observability) instead of keeping spans and metrics in memory.
func Example() {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer tp.Shutdown(context.Background())
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	opts := []srpcotel.Option{srpcotel.WithTracerProvider(tp), srpcotel.WithMeterProvider(mp)}

	srv := simplerpc.NewServer(simplerpc.WithInterceptor(srpcotel.ServerInterceptor(opts...)))
	if err := srv.Register("Calc", Calc{}); err != nil {
		panic(err)
	}
	reg, err := srpcotel.ObserveServer(srv, opts...)
	if err != nil {
		panic(err)
	}
	defer reg.Unregister()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(l)
	defer srv.Close()

	ctx := context.Background()
	c, err := simplerpc.Dial(ctx, l.Addr().String(), simplerpc.WithInterceptor(srpcotel.ClientInterceptor(opts...)))
	if err != nil {
		panic(err)
	}
	defer c.Close()
	var sum int
	if err := c.Call(ctx, "Calc.Add", []any{2, 3}, &sum); err != nil {
		panic(err)
	}
	fmt.Println("sum:", sum)

	got := spans.GetSpans()
	for _, s := range got {
		fmt.Println("span:", s.SpanKind, s.Name)
	}
	fmt.Println("one trace:", got[0].SpanContext.TraceID() == got[1].SpanContext.TraceID())

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		panic(err)
	}
	var names []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			names = append(names, m.Name)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Println("metric:", n)
	}
	// Output:
	// sum: 5
	// span: server Calc.Add
	// span: client Calc.Add
	// one trace: true
	// metric: rpc.client.call.duration
	// metric: rpc.server.call.duration
	// metric: simplerpc.client.call.active
	// metric: simplerpc.server.call.active
	// metric: simplerpc.server.call.refused
	// metric: simplerpc.server.connections
	// metric: simplerpc.server.memory.limit
	// metric: simplerpc.server.memory.used
	// metric: simplerpc.server.sessions
}
