package otel_test

import (
	"context"
	"testing"

	"github.com/simplerpc/simplerpc"
	srpcotel "github.com/simplerpc/simplerpc/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// dropSpans is a span exporter that drops the spans.
type dropSpans struct{}

func (dropSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (dropSpans) Shutdown(context.Context) error                             { return nil }

// BenchmarkCall makes loopback calls of Calc.Add from parallel callers
// with no interceptor, with one that does nothing, with metrics only and with metrics and
// tracing (every call sampled, spans dropped by a batch processor's
// exporter). bench/ (go run . -otel) compares the same with otelgrpc.
func BenchmarkCall(b *testing.B) {
	modes := []struct {
		name    string
		empty   bool // an interceptor that does nothing: what having one costs
		metrics bool
		tracing bool
	}{{"off", false, false, false}, {"empty", true, false, false}, {"metrics", false, true, false}, {"metrics+tracing", false, true, true}}
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			var sopts []simplerpc.ServerOption
			var copts []simplerpc.ClientOption
			if m.empty {
				pass := func(next simplerpc.Invoker) simplerpc.Invoker { return next }
				sopts = append(sopts, simplerpc.WithInterceptor(pass))
				copts = append(copts, simplerpc.WithInterceptor(pass))
			}
			if m.metrics {
				mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
				defer mp.Shutdown(context.Background())
				opts := []srpcotel.Option{srpcotel.WithMeterProvider(mp), srpcotel.WithTracerProvider(noop.NewTracerProvider())}
				if m.tracing {
					tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(dropSpans{}))
					defer tp.Shutdown(context.Background())
					opts = append(opts, srpcotel.WithTracerProvider(tp))
				}
				sopts = append(sopts, simplerpc.WithInterceptor(srpcotel.ServerInterceptor(opts...)))
				copts = append(copts, simplerpc.WithInterceptor(srpcotel.ClientInterceptor(opts...)))
			}
			srv := simplerpc.NewServer(sopts...)
			if err := srv.Register("Calc", Calc{}); err != nil {
				b.Fatal(err)
			}
			addr := serve(b, srv)
			c, err := simplerpc.Dial(context.Background(), addr, copts...)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			b.ReportAllocs()
			b.SetParallelism(32)
			b.RunParallel(func(pb *testing.PB) {
				var sum int
				for pb.Next() {
					if err := c.Call(context.Background(), "Calc.Add", []any{1, 2}, &sum); err != nil || sum != 3 {
						b.Errorf("Calc.Add: %d, %v", sum, err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkInterceptor runs a client interceptor around a server
// interceptor around a method that does nothing, without a network:
// what the instrumentation of a call costs, both sides together.
func BenchmarkInterceptor(b *testing.B) {
	modes := []struct {
		name           string
		sizes, tracing bool
	}{{"metrics-without-sizes", false, false}, {"metrics", true, false}, {"metrics+tracing", true, true}}
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
			defer mp.Shutdown(context.Background())
			opts := []srpcotel.Option{srpcotel.WithMeterProvider(mp), srpcotel.WithTracerProvider(noop.NewTracerProvider()), srpcotel.WithSizes(m.sizes)}
			if m.tracing {
				tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(dropSpans{}))
				defer tp.Shutdown(context.Background())
				opts = append(opts, srpcotel.WithTracerProvider(tp))
			}
			server := srpcotel.ServerInterceptor(opts...)(func(context.Context, *simplerpc.CallInfo) error { return nil })
			// The server's side sees what the client's sent: its
			// metadata, passed on as a wire would.
			call := srpcotel.ClientInterceptor(opts...)(func(ctx context.Context, info *simplerpc.CallInfo) error {
				in := simplerpc.CallInfo{Method: info.Method, Metadata: info.Metadata, Peer: "127.0.0.1:50000", RequestSize: 3}
				return server(ctx, &in)
			})
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				md := make(simplerpc.Metadata)
				for pb.Next() {
					clear(md)
					info := simplerpc.CallInfo{Method: "Calc.Add", Metadata: md, Peer: "127.0.0.1:1234", Args: []any{1, 2}}
					if err := call(context.Background(), &info); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
