package otel_test

import (
	"context"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
	srpcotel "github.com/simplerpc/simplerpc/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
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
	}{{"metrics-without-sizes", false, false}, {"metrics", true, false}, {"metrics+tracing", true, true}, {"metrics-without-sizes+tracing", false, true}}
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

// BenchmarkSDKFloor is what the OpenTelemetry SDK itself takes for what
// BenchmarkInterceptor's two interceptors ask of it on each call, with
// nothing of this package's around it: the floor under the
// instrumentation's cost. "metrics" records the two duration histograms
// with attribute sets made in advance, and reads the clock four times
// (a start and an end on each side); "metrics-in-span" does the same
// with a sampled span's context, as the interceptors record when they
// trace: the SDK then offers each measurement to its exemplar reservoir.
// "spans" starts and ends a client span and its server child with the
// attributes the interceptors give them (at the start, then the status
// at the end), exported by a batch processor to an exporter that drops
// them; "spans-started-whole" the same spans started with all their
// attributes, the status of a call that succeeds among them, and ended
// with none set, as the interceptors do for a call that succeeds;
// "propagation" writes the client span's context into metadata
// and reads it back, as the two sides do with the default propagators.
func BenchmarkSDKFloor(b *testing.B) {
	b.Run("metrics", func(b *testing.B) { benchmarkRecordFloor(b, false) })
	b.Run("metrics-in-span", func(b *testing.B) { benchmarkRecordFloor(b, true) })
	b.Run("spans", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(dropSpans{}))
		defer tp.Shutdown(context.Background())
		tracer := tp.Tracer("floor")
		system, method := attribute.String("rpc.system.name", "simplerpc"), attribute.String("rpc.method", "Calc.Add")
		cstart := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(system, method, attribute.String("server.address", "127.0.0.1"), attribute.Int("server.port", 1234))}
		sstart := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(system, method)}
		cend := []attribute.KeyValue{attribute.String("rpc.response.status_code", "ok")}
		send := []attribute.KeyValue{attribute.String("network.peer.address", "127.0.0.1"), attribute.Int("network.peer.port", 50000), cend[0]}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				ctx, client := tracer.Start(context.Background(), "Calc.Add", cstart...)
				_, server := tracer.Start(ctx, "Calc.Add", sstart...)
				server.SetAttributes(send...)
				server.End()
				client.SetAttributes(cend...)
				client.End()
			}
		})
	})
	b.Run("spans-started-whole", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(dropSpans{}))
		defer tp.Shutdown(context.Background())
		tracer := tp.Tracer("floor")
		system, method, ok := attribute.String("rpc.system.name", "simplerpc"), attribute.String("rpc.method", "Calc.Add"), attribute.String("rpc.response.status_code", "ok")
		cstart := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(system, method, attribute.String("server.address", "127.0.0.1"), attribute.Int("server.port", 1234), ok)}
		sstart := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(system, method, attribute.String("network.peer.address", "127.0.0.1"), attribute.Int("network.peer.port", 50000), ok)}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				ctx, client := tracer.Start(context.Background(), "Calc.Add", cstart...)
				_, server := tracer.Start(ctx, "Calc.Add", sstart...)
				server.End()
				client.End()
			}
		})
	})
	b.Run("propagation", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(dropSpans{}))
		defer tp.Shutdown(context.Background())
		ctx, span := tp.Tracer("floor").Start(context.Background(), "Calc.Add")
		defer span.End()
		prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			md := make(simplerpc.Metadata)
			for pb.Next() {
				clear(md)
				prop.Inject(ctx, srpcotel.MetadataCarrier(md))
				if !trace.SpanContextFromContext(prop.Extract(context.Background(), srpcotel.MetadataCarrier(md))).IsValid() {
					b.Fatal("no span context extracted")
				}
			}
		})
	})
}

// benchmarkRecordFloor is BenchmarkSDKFloor's metrics, recorded with a
// sampled span's context if inSpan.
func benchmarkRecordFloor(b *testing.B, inSpan bool) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer mp.Shutdown(context.Background())
	meter := mp.Meter("floor")
	client, _ := meter.Float64Histogram("client", metric.WithExplicitBucketBoundaries(0.0001, 0.001, 0.01, 0.1, 1))
	server, _ := meter.Float64Histogram("server", metric.WithExplicitBucketBoundaries(0.0001, 0.001, 0.01, 0.1, 1))
	base := []attribute.KeyValue{attribute.String("rpc.system.name", "simplerpc"), attribute.String("rpc.method", "Calc.Add"), attribute.String("rpc.response.status_code", "ok")}
	copts := []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(append(base, attribute.String("server.address", "127.0.0.1"), attribute.Int("server.port", 1234))...))}
	sopts := []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(base...))}
	ctx := context.Background()
	if inSpan {
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(dropSpans{}))
		defer tp.Shutdown(context.Background())
		var span trace.Span
		ctx, span = tp.Tracer("floor").Start(ctx, "Calc.Add")
		defer span.End()
	}
	epoch := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			cstart := time.Since(epoch)
			sstart := time.Since(epoch)
			server.Record(ctx, (time.Since(epoch) - sstart).Seconds(), sopts...)
			client.Record(ctx, (time.Since(epoch) - cstart).Seconds(), copts...)
		}
	})
}
