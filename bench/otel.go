package main

// The cost of OpenTelemetry instrumentation (go run . -otel): simplerpc
// with the interceptors of github.com/simplerpc/simplerpc/otel beside
// gRPC-go with otelgrpc's stats handlers, each with instrumentation off,
// with metrics only, and with metrics and tracing (every call sampled,
// spans handed to a batch processor whose exporter drops them), on both
// sides of every call. Each stack is judged by its own on/off ratio,
// measured in the same run.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/simplerpc/simplerpc"
	srpcotel "github.com/simplerpc/simplerpc/otel"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	otelmetric "go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/stats"
)

// otelMode is how much instrumentation a system runs with.
type otelMode int

const (
	otelOff     otelMode = iota // none
	otelBare                    // an interceptor (stats handler) that does nothing: what having one costs the stack
	otelMetrics                 // metrics only: a no-op tracer, trace context still propagated
	otelSizes                   // metrics with the size histograms (simplerpc's WithSizes; otelgrpc records none)
	otelTracing                 // metrics and tracing, every call sampled
)

// otelModes lists the modes in report order.
var otelModes = []otelMode{otelOff, otelBare, otelMetrics, otelSizes, otelTracing}

func (m otelMode) String() string {
	return [...]string{"off", "empty interceptor", "metrics", "metrics+sizes", "metrics+tracing"}[m]
}

// modesOf returns the modes stack is measured in: gRPC's otelgrpc has no
// size metrics.
func modesOf(stack string) []otelMode {
	if stack == "grpc" {
		return slices.DeleteFunc(slices.Clone(otelModes), func(m otelMode) bool { return m == otelSizes })
	}
	return otelModes
}

// passThrough is the simplerpc interceptor of otelBare.
func passThrough(next simplerpc.Invoker) simplerpc.Invoker { return next }

// nopStatsHandler is the gRPC stats handler of otelBare.
type nopStatsHandler struct{}

func (nopStatsHandler) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (nopStatsHandler) HandleRPC(context.Context, stats.RPCStats)                         {}
func (nopStatsHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (nopStatsHandler) HandleConn(context.Context, stats.ConnStats)                       {}

// otelConc is the number of callers the cost is measured at.
const otelConc = 64

// telemetryStack is the providers of one instrumented system: its own, so
// that stopping it stops them.
type telemetryStack struct {
	tp   trace.TracerProvider
	mp   otelmetric.MeterProvider
	prop propagation.TextMapPropagator
	stop func() error
}

// discardSpans is a span exporter that drops what it is given: the cost
// measured is the instrumentation's, not a collector's.
type discardSpans struct{}

func (discardSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardSpans) Shutdown(context.Context) error                             { return nil }

// newTelemetryStack returns the providers of mode: an SDK meter provider
// with a reader that is never collected (the aggregation is paid, the
// export is not), and, for otelTracing, an SDK tracer provider that
// samples every call.
func newTelemetryStack(mode otelMode) *telemetryStack {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	st := &telemetryStack{
		tp:   noop.NewTracerProvider(),
		mp:   mp,
		prop: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}
	if mode != otelTracing {
		st.stop = func() error { return mp.Shutdown(context.Background()) }
		return st
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithBatcher(discardSpans{}))
	st.tp = tp
	st.stop = func() error {
		return errors.Join(tp.Shutdown(context.Background()), mp.Shutdown(context.Background()))
	}
	return st
}

// otelSimplerpc is simplerpc (CBOR) with the otel interceptors of mode on
// the server and the client.
type otelSimplerpc struct {
	mode otelMode
	tel  *telemetryStack // made by serve, used by dial
}

func (s *otelSimplerpc) name() string { return "simplerpc-cbor " + s.mode.String() }

func (s *otelSimplerpc) opts() []srpcotel.Option {
	return []srpcotel.Option{srpcotel.WithTracerProvider(s.tel.tp), srpcotel.WithMeterProvider(s.tel.mp), srpcotel.WithPropagators(s.tel.prop),
		srpcotel.WithSizes(s.mode == otelSizes)}
}

func (s *otelSimplerpc) serve(ln net.Listener) (func() error, error) {
	opts := []simplerpc.ServerOption{simplerpc.WithLogger(quiet)}
	s.tel = newTelemetryStack(s.mode)
	switch s.mode {
	case otelOff:
	case otelBare:
		opts = append(opts, simplerpc.WithInterceptor(passThrough))
	default:
		opts = append(opts, simplerpc.WithInterceptor(srpcotel.ServerInterceptor(s.opts()...)))
	}
	srv := simplerpc.NewServer(opts...)
	if err := srv.Register("Bench", Bench{}); err != nil {
		return nil, fmt.Errorf("simplerpc register: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	return func() error {
		err := srv.Close()
		if serr := <-done; !errors.Is(serr, simplerpc.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		return errors.Join(err, s.tel.stop())
	}, nil
}

func (s *otelSimplerpc) dial(ctx context.Context, addr string) (client, error) {
	opts := []simplerpc.ClientOption{simplerpc.WithLogger(quiet)}
	switch s.mode {
	case otelOff:
	case otelBare:
		opts = append(opts, simplerpc.WithInterceptor(passThrough))
	default:
		opts = append(opts, simplerpc.WithInterceptor(srpcotel.ClientInterceptor(s.opts()...)))
	}
	c, err := simplerpc.Dial(ctx, addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("simplerpc dial: %w", err)
	}
	return simplerpcClient{c}, nil
}

// otelGRPC is gRPC-go with otelgrpc's stats handlers of mode on the server
// and the client.
type otelGRPC struct {
	mode otelMode
	tel  *telemetryStack
}

func (s *otelGRPC) name() string { return "grpc " + s.mode.String() }

func (s *otelGRPC) opts() []otelgrpc.Option {
	return []otelgrpc.Option{otelgrpc.WithTracerProvider(s.tel.tp), otelgrpc.WithMeterProvider(s.tel.mp), otelgrpc.WithPropagators(s.tel.prop)}
}

func (s *otelGRPC) serve(ln net.Listener) (func() error, error) {
	s.tel = newTelemetryStack(s.mode)
	var opts []grpc.ServerOption
	switch s.mode {
	case otelOff:
	case otelBare:
		opts = append(opts, grpc.StatsHandler(nopStatsHandler{}))
	default:
		opts = append(opts, grpc.StatsHandler(otelgrpc.NewServerHandler(s.opts()...)))
	}
	srv := grpc.NewServer(opts...)
	srv.RegisterService(&grpcServiceDesc, struct{}{})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	return func() error {
		srv.Stop()
		err := <-done
		return errors.Join(err, s.tel.stop())
	}, nil
}

func (s *otelGRPC) dial(_ context.Context, addr string) (client, error) {
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.CallContentSubtype(wireCodec{}.Name())),
	}
	switch s.mode {
	case otelOff:
	case otelBare:
		opts = append(opts, grpc.WithStatsHandler(nopStatsHandler{}))
	default:
		opts = append(opts, grpc.WithStatsHandler(otelgrpc.NewClientHandler(s.opts()...)))
	}
	cc, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("grpc dial: %w", err)
	}
	return grpcClient{cc}, nil
}

// otelSystems returns the systems of the cost measurement: each stack in
// each mode.
func otelSystems() []system {
	var out []system
	for _, m := range modesOf("simplerpc-cbor") {
		out = append(out, &otelSimplerpc{mode: m})
	}
	for _, m := range modesOf("grpc") {
		out = append(out, &otelGRPC{mode: m})
	}
	return out
}

// otelRun is one measurement of the cost: the throughput run, and the
// CPU time the process (client and server) spent per call in it.
type otelRun struct {
	run
	cpu float64 // seconds per call
}

// processCPU returns the user and system CPU time the process has used.
func processCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// otelOnce serves s, dials it and measures Add at otelConc callers.
func otelOnce(cfg config, s system) (r otelRun, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*(cfg.d+cfg.warm)+time.Minute)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return otelRun{}, fmt.Errorf("listen: %w", err)
	}
	stop, err := s.serve(ln)
	if err != nil {
		ln.Close()
		return otelRun{}, err
	}
	defer func() { err = errors.Join(err, stop()) }()
	c, err := s.dial(ctx, ln.Addr().String())
	if err != nil {
		return otelRun{}, err
	}
	defer func() { err = errors.Join(err, c.close()) }()
	add := workload{name: "add", call: callAdd}
	if err := warmUp(ctx, c, add, otelConc, cfg.warm); err != nil {
		return otelRun{}, err
	}
	before, err := processCPU()
	if err != nil {
		return otelRun{}, err
	}
	r.run, err = throughput(ctx, c, add, otelConc, cfg.d)
	if err != nil {
		return otelRun{}, err
	}
	after, err := processCPU()
	if err != nil {
		return otelRun{}, err
	}
	r.cpu = (after - before).Seconds() / float64(max(r.calls, 1))
	return r, nil
}

// runOtelCost measures the systems of otelSystems in back-to-back pairs:
// each instrumented system beside its stack with instrumentation off,
// the order of the two swapped from one pair to the next, cfg.reps pairs
// each; it writes the report to cfg.out. Measured seconds apart, the two
// of a pair share the machine's load of the moment.
func runOtelCost(cfg config) error {
	systems := otelSystems()
	byName := make(map[string]system, len(systems))
	for _, s := range systems {
		byName[s.name()] = s
	}
	res := newResults(systemNames(systems))
	start := time.Now()
	measure := func(rep int, s system) (otelRun, bool) {
		fmt.Fprintf(os.Stderr, "rep %d/%d %-34s %v\n", rep+1, cfg.reps, s.name(), time.Since(start).Round(time.Second))
		r, err := otelOnce(cfg, s)
		if err != nil {
			res.failures = append(res.failures, fmt.Sprintf("rep %d %s: %v", rep+1, s.name(), err))
			return otelRun{}, false
		}
		res.add(s.name(), metric{"add", kindTput, otelConc}, r.rate)
		res.add(s.name(), metric{"add", kindAllocs, otelConc}, r.mallocs)
		res.add(s.name(), metric{"add", kindBytes, otelConc}, r.bytes)
		res.add(s.name(), metric{"add", kindCPU, otelConc}, r.cpu)
		return r, true
	}
	pair := 0
	for rep := range cfg.reps {
		for _, stack := range otelStacks {
			off := byName[stack+" "+otelOff.String()]
			for _, m := range modesOf(stack)[1:] {
				on := byName[stack+" "+m.String()]
				first, second := off, on
				if pair%2 == 1 {
					first, second = on, off
				}
				pair++
				a, okA := measure(rep, first)
				b, okB := measure(rep, second)
				if !okA || !okB {
					continue
				}
				if first == on {
					a, b = b, a
				}
				res.add(on.name(), metric{"add", kindRatio, otelConc}, b.rate/a.rate)
				res.add(on.name(), metric{"add", kindCPURatio, otelConc}, a.cpu/b.cpu)
			}
		}
	}
	for _, f := range res.failures {
		fmt.Fprintln(os.Stderr, "failure:", f)
	}
	md := otelReport(cfg, res, time.Since(start))
	if err := os.MkdirAll(filepath.Dir(cfg.out), 0o755); err != nil {
		return fmt.Errorf("results dir: %w", err)
	}
	if err := os.WriteFile(cfg.out, []byte(md), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	fmt.Print(md)
	if len(res.failures) > 0 {
		return fmt.Errorf("%d measurements failed", len(res.failures))
	}
	return nil
}

// kindRatio is an instrumented system's throughput over that of its
// stack with instrumentation off, measured back to back.
const kindRatio = "ratio"

// kindCPU is the process's CPU time per call, client and server
// together, in seconds.
const kindCPU = "cpu"

// kindCPURatio is the CPU time per call of a stack with instrumentation
// off over that of an instrumented system, measured back to back: the
// throughput ratio where calls are bound by CPU, as they are at 64
// callers on a few cores, and steadier than the throughput ratio on a
// machine that other work shares, since it does not depend on the share
// of the CPU the process gets.
const kindCPURatio = "cpuratio"

// otelStacks are the stacks measured, as named in otelSystems.
var otelStacks = []string{"simplerpc-cbor", "grpc"}

// otelReport renders the medians: throughput, its ratio to the same
// stack with instrumentation off, and allocations per call.
func otelReport(cfg config, res *results, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Cost of OpenTelemetry instrumentation\n\n")
	fmt.Fprintf(&b, "`go run . %s` — Add(int64, int64) at %d callers over 127.0.0.1, one shared client; "+
		"instrumentation on both sides; %v per measurement (%v in all).\n"+
		"Each instrumented system is measured %d times, each time back to back with its stack's `off`, "+
		"the order swapped from one pair to the next. × off is the median of the pairs' throughput ratios (their range in brackets); "+
		"CPU × off the median of the ratios of CPU time per call, off over on: the throughput ratio when calls are bound by CPU, "+
		"which does not depend on the share of the machine the process gets. "+
		"calls/s, CPU time, allocations and bytes are medians of the measurements, client and server together (one process).\n\n",
		strings.Join(cfg.args, " "), otelConc, cfg.d, took.Round(time.Second), cfg.reps)
	fmt.Fprintf(&b, "| stack | instrumentation | calls/s | × off | CPU µs/call | CPU × off | allocs/call | bytes/call |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, stack := range otelStacks {
		for _, m := range modesOf(stack) {
			name := stack + " " + m.String()
			tput, ok := res.median(name, metric{"add", kindTput, otelConc})
			if !ok {
				fmt.Fprintf(&b, "| %s | %s | failed | | | | | |\n", stack, m)
				continue
			}
			allocs, _ := res.median(name, metric{"add", kindAllocs, otelConc})
			bytes, _ := res.median(name, metric{"add", kindBytes, otelConc})
			ratio, cpuRatio := medianRange(res, name, kindRatio), medianRange(res, name, kindCPURatio)
			cpu, _ := res.median(name, metric{"add", kindCPU, otelConc})
			fmt.Fprintf(&b, "| %s | %s | %.0f | %s | %.1f | %s | %.1f | %.0f |\n", stack, m, tput, ratio, cpu*1e6, cpuRatio, allocs, bytes)
		}
	}
	for _, f := range res.failures {
		fmt.Fprintf(&b, "\nfailure: %s\n", f)
	}
	return b.String()
}

// medianRange renders the median of a ratio of system, with the range of
// its values; "1" for a system with none (a stack's off).
func medianRange(res *results, system, kind string) string {
	key := metric{"add", kind, otelConc}
	med, ok := res.median(system, key)
	if !ok {
		return "1"
	}
	rs := res.values[system][key]
	return fmt.Sprintf("%.2f (%.2f–%.2f)", med, slices.Min(rs), slices.Max(rs))
}
