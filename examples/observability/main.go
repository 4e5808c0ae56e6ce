// Command observability serves a small Calc service with OpenTelemetry
// metrics exported for Prometheus on /metrics, and traces printed to
// standard error with -trace.
//
//	go run . [-addr 127.0.0.1:9000] [-metrics 127.0.0.1:9464] [-trace]
//	curl -s http://127.0.0.1:9000 -d '{"jsonrpc":"2.0","method":"Calc.Add","params":[1,2],"id":1}'
//	curl -s http://127.0.0.1:9464/metrics | grep rpc_server
//
// A JSON-RPC caller that sends a traceparent header joins its trace.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/simplerpc/simplerpc"
	srpcotel "github.com/simplerpc/simplerpc/otel"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Calc is the service served.
type Calc struct{}

// Add adds.
func (Calc) Add(a, b int) int { return a + b }

// ErrDivByZero is what Div returns for b == 0.
var ErrDivByZero = errors.New("division by zero")

// Div divides.
func (Calc) Div(a, b float64) (float64, error) {
	if b == 0 {
		return 0, ErrDivByZero
	}
	return a / b, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "address of the service (native simplerpc and JSON-RPC)")
	metricsAddr := flag.String("metrics", "127.0.0.1:9464", "address of the Prometheus /metrics endpoint")
	traces := flag.Bool("trace", false, "print every call's spans to standard error")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, config{addr: *addr, metricsAddr: *metricsAddr, traces: *traces}, func(addr, metrics string) {
		log.Printf("serving Calc on %s; metrics on http://%s/metrics", addr, metrics)
	}); err != nil {
		log.Fatal(err)
	}
}

// config is what the command line sets.
type config struct {
	addr, metricsAddr string
	traces            bool
}

// telemetry is the example's OpenTelemetry pipeline: a meter provider
// whose reader is the Prometheus exporter, gathered by a registry of its
// own, and a tracer provider (a no-op one without -trace).
type telemetry struct {
	registry *prometheus.Registry
	mp       *sdkmetric.MeterProvider
	tp       trace.TracerProvider
	shutdown func(context.Context) error
}

func newTelemetry(traces bool) (*telemetry, error) {
	registry := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(registry))
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	t := &telemetry{registry: registry, mp: mp, tp: noop.NewTracerProvider(), shutdown: mp.Shutdown}
	if traces {
		spans, err := stdouttrace.New(stdouttrace.WithWriter(os.Stderr))
		if err != nil {
			return nil, fmt.Errorf("stdout trace exporter: %w", err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(spans))
		t.tp = tp
		t.shutdown = func(ctx context.Context) error { return errors.Join(tp.Shutdown(ctx), mp.Shutdown(ctx)) }
	}
	return t, nil
}

// run serves Calc on cfg.addr and the metrics on cfg.metricsAddr until
// ctx ends, then shuts both down. ready is called with the two addresses
// once both listen.
func run(ctx context.Context, cfg config, ready func(addr, metrics string)) error {
	tel, err := newTelemetry(cfg.traces)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tel.shutdown(sctx); err != nil {
			log.Printf("telemetry shutdown: %v", err)
		}
	}()
	opts := []srpcotel.Option{srpcotel.WithMeterProvider(tel.mp), srpcotel.WithTracerProvider(tel.tp)}
	srv := simplerpc.NewServer(simplerpc.WithInterceptor(srpcotel.ServerInterceptor(opts...)))
	if err := srv.Register("Calc", Calc{}); err != nil {
		return err
	}
	reg, err := srpcotel.ObserveServer(srv, opts...)
	if err != nil {
		return err
	}
	defer reg.Unregister()

	l, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	ml, err := net.Listen("tcp", cfg.metricsAddr)
	if err != nil {
		l.Close()
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(tel.registry, promhttp.HandlerOpts{}))
	metrics := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ready(l.Addr().String(), ml.Addr().String())

	served := make(chan error, 2)
	go func() { served <- srv.Serve(l) }()
	go func() { served <- metrics.Serve(ml) }()
	running := 2
	select {
	case err = <-served: // a listener failed
		running--
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = errors.Join(err, srv.Shutdown(sctx), metrics.Shutdown(sctx))
	for range running {
		if serr := <-served; !errors.Is(serr, simplerpc.ErrServerClosed) && !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
	}
	return err
}
