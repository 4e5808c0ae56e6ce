package otel_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
	srpcotel "github.com/simplerpc/simplerpc/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// telemetry is an in-memory trace and metric pipeline.
type telemetry struct {
	spans  *tracetest.InMemoryExporter
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
}

func newTelemetry(t testing.TB) *telemetry {
	t.Helper()
	tel := &telemetry{spans: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader()}
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(tel.spans), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	tel.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
	t.Cleanup(func() {
		_ = tel.tp.Shutdown(context.Background())
		_ = tel.mp.Shutdown(context.Background())
	})
	return tel
}

// opts returns the options that record into tel.
func (tel *telemetry) opts() []srpcotel.Option {
	return []srpcotel.Option{srpcotel.WithTracerProvider(tel.tp), srpcotel.WithMeterProvider(tel.mp),
		srpcotel.WithPropagators(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))}
}

// collect returns the metrics recorded so far.
func (tel *telemetry) collect(t testing.TB) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return rm
}

// metricNamed returns the metric called name, failing the test when there
// is none.
func metricNamed(t *testing.T, rm metricdata.ResourceMetrics, name string) metricdata.Metrics {
	t.Helper()
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m
			}
		}
	}
	t.Fatalf("no metric %s", name)
	return metricdata.Metrics{}
}

// spanNamed returns the one ended span called name of kind.
func spanNamed(t *testing.T, spans tracetest.SpanStubs, name string, kind string) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	for _, s := range spans {
		if s.Name == name && s.SpanKind.String() == kind {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s spans named %s, want 1; all: %v", len(found), kind, name, spanNames(spans))
	}
	return found[0]
}

func spanNames(spans tracetest.SpanStubs) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.SpanKind.String() + " " + s.Name
	}
	return out
}

// attr returns the value of key among kv, and whether it is there.
func attr(kv []attribute.KeyValue, key string) (attribute.Value, bool) {
	for _, a := range kv {
		if string(a.Key) == key {
			return a.Value, true
		}
	}
	return attribute.Value{}, false
}

// wantAttrs fails the test unless kv holds each key of want with its
// value (compared as text).
func wantAttrs(t *testing.T, what string, kv []attribute.KeyValue, want map[string]string) {
	t.Helper()
	for k, v := range want {
		got, ok := attr(kv, k)
		if !ok {
			t.Errorf("%s: no attribute %s (have %v)", what, k, kv)
		} else if got.String() != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got.String(), v)
		}
	}
}

// Calc is the service the tests call.
type Calc struct{}

func (Calc) Add(a, b int) int { return a + b }

// ErrNegative is what Sqrt returns for a negative number.
var ErrNegative = errors.New("negative number")

func init() { simplerpc.RegisterError("otel_test.negative", ErrNegative) }

func (Calc) Sqrt(x float64) (float64, error) {
	if x < 0 {
		return 0, ErrNegative
	}
	return x, nil
}

// serve starts srv on a loopback port and returns its address; the
// server is closed when the test ends.
func serve(t testing.TB, srv *simplerpc.Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	})
	return l.Addr().String()
}

// newServer returns a quiet server with the server interceptor of opts.
func newServer(opts ...srpcotel.Option) *simplerpc.Server {
	return simplerpc.NewServer(simplerpc.WithLogger(slog.New(slog.DiscardHandler)),
		simplerpc.WithInterceptor(srpcotel.ServerInterceptor(opts...)))
}

// dial returns a client of addr with the client interceptor of opts,
// closed when the test ends.
func dial(t *testing.T, addr string, opts ...srpcotel.Option) *simplerpc.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := simplerpc.Dial(ctx, addr, simplerpc.WithInterceptor(srpcotel.ClientInterceptor(opts...)),
		simplerpc.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
