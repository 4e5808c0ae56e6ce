package otel

import (
	"context"
	"time"

	"github.com/simplerpc/simplerpc"
	otelapi "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// durationBuckets are the bounds of the duration histograms, in seconds:
// those the semantic conventions advise (5 ms to 10 s), below them the
// tenths of a millisecond to milliseconds a call on a local network
// takes.
var durationBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// ServerInterceptor returns a server interceptor that traces and measures
// every call: pass it to simplerpc.NewServer with
// simplerpc.WithInterceptor, first among the interceptors so that it
// times the others too. It continues the trace the caller's metadata
// carries, and runs the method with a context holding the server's span,
// so that the calls the method makes with that context continue it.
// With a no-op TracerProvider (go.opentelemetry.io/otel/trace/noop) it
// records metrics only, and still passes the caller's trace context on.
// As ClientInterceptor's, each one keeps a callback registered with the
// MeterProvider: make one per server.
func ServerInterceptor(opts ...Option) simplerpc.Interceptor {
	t := newTelemetry(opts, trace.SpanKindServer, names{
		duration: "rpc.server.call.duration", durationDesc: "Measures the duration of an incoming Remote Procedure Call (RPC).",
		active: "simplerpc.server.call.active", activeDesc: "Calls the server is running.",
		request: "rpc.server.request.size", response: "rpc.server.response.size",
	})
	return t.server
}

// ClientInterceptor returns a client interceptor that traces and measures
// every call: pass it to simplerpc.Dial with
// simplerpc.WithInterceptor. Its span is a child of the span in the
// call's context, and the trace context travels in the call's metadata.
// A call retried is one span and one measurement, the retries included.
// With a no-op TracerProvider it records metrics only, and still passes
// the trace context of the call's context on. Make one and share it among
// the clients of a program: each interceptor keeps a callback registered
// with the MeterProvider (its calls in flight) for as long as the
// provider lives.
func ClientInterceptor(opts ...Option) simplerpc.Interceptor {
	t := newTelemetry(opts, trace.SpanKindClient, names{
		duration: "rpc.client.call.duration", durationDesc: "Measures the duration of an outgoing Remote Procedure Call (RPC).",
		active: "simplerpc.client.call.active", activeDesc: "Calls the client sent and has no answer for yet.",
		request: "rpc.client.request.size", response: "rpc.client.response.size",
	})
	return t.client
}

// names are the instruments' names (and descriptions) of one side.
type names struct {
	duration, durationDesc string
	active, activeDesc     string
	request, response      string
}

// telemetry is one interceptor's instruments.
type telemetry struct {
	prop propagation.TextMapPropagator
	// tracer makes the spans; nil when tracing is off (a no-op
	// TracerProvider), which saves a context per call.
	tracer   trace.Tracer
	kind     trace.SpanKind
	attrs    *attrCache
	starts   startCache // a server's
	duration metric.Float64Histogram
	// requestSize and responseSize measure the encoded arguments and
	// results; nil unless the sizes are on (WithSizes).
	requestSize, responseSize metric.Int64Histogram
}

// newTelemetry makes the instruments of an interceptor of kind. The
// calls in flight are counted per method with an atomic add and reported
// when the metrics are collected: an asynchronous instrument, cheaper
// than two synchronous updates per call.
func newTelemetry(opts []Option, kind trace.SpanKind, n names) *telemetry {
	c := newConfig(opts)
	meter := c.meter()
	t := &telemetry{
		prop:     c.propagator,
		kind:     kind,
		attrs:    newAttrCache(kind),
		duration: histogram(meter, n.duration, n.durationDesc),
	}
	if c.sizes {
		t.requestSize = sizeHistogram(meter, n.request, "Measures the size of RPC request messages (uncompressed).")
		t.responseSize = sizeHistogram(meter, n.response, "Measures the size of RPC response messages (uncompressed).")
	}
	if _, off := c.tracerProvider.(noop.TracerProvider); !off {
		t.tracer = c.tracer()
	}
	active, err := meter.Int64ObservableUpDownCounter(n.active, metric.WithUnit("{call}"), metric.WithDescription(n.activeDesc))
	if err == nil {
		// The registration lasts as long as the meter provider: an
		// interceptor has no end of its own.
		_, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
			t.attrs.each(func(a *callAttrs) { o.ObserveInt64(active, a.active.Load(), a.activeAttrs) })
			return nil
		}, active)
	}
	if err != nil {
		otelapi.Handle(err)
	}
	return t
}

// server is the server interceptor.
func (t *telemetry) server(next simplerpc.Invoker) simplerpc.Invoker {
	return func(ctx context.Context, info *simplerpc.CallInfo) error {
		start := monotonic()
		// A server's methods are its own: their number is bounded, and
		// the caller's address is never an attribute of a measurement.
		a, original := t.attrs.get(info.Method, "")
		if len(info.Metadata) > 0 {
			// With no metadata there is nothing to extract.
			ctx = t.prop.Extract(ctx, MetadataCarrier(info.Metadata))
		}
		var span trace.Span
		if t.tracer != nil {
			// The span starts with every attribute of a call that
			// succeeds, the caller's address among them.
			ctx, span = t.tracer.Start(ctx, a.name, t.starts.startFor(t.kind, a, info.Peer)...)
		}
		a.active.Add(1)
		err := next(ctx, info)
		code := codeOf(err)
		a.active.Add(-1)
		t.record(ctx, info, err, a.recordFor(code), start)
		if span != nil {
			endSpan(span, a, code, original, err, serverFault(code))
		}
		return err
	}
}

// client is the client interceptor.
func (t *telemetry) client(next simplerpc.Invoker) simplerpc.Invoker {
	return func(ctx context.Context, info *simplerpc.CallInfo) error {
		start := monotonic()
		a, original := t.attrs.get(info.Method, info.Peer)
		var span trace.Span
		if t.tracer != nil {
			ctx, span = t.tracer.Start(ctx, a.name, a.start...)
		}
		t.prop.Inject(ctx, MetadataCarrier(info.Metadata))
		a.active.Add(1)
		err := next(ctx, info)
		code := codeOf(err)
		a.active.Add(-1)
		t.record(ctx, info, err, a.recordFor(code), start)
		if span != nil {
			endSpan(span, a, code, original, err, code != 0)
		}
		return err
	}
}

// epoch is the origin of monotonic.
var epoch = time.Now()

// monotonic returns the time since epoch: a reading of the monotonic
// clock alone, cheaper than time.Now, which reads the wall clock too.
// The durations measured are differences of two readings.
func monotonic() time.Duration { return time.Since(epoch) }

// record records the measurements of a call that started at start (a
// reading of monotonic) and ended with err, with the options opts: its
// duration, and with WithSizes the size of its arguments, if it sent
// them, and of its results, if it succeeded. A stream's items are not
// measured, nor the results of its opening.
func (t *telemetry) record(ctx context.Context, info *simplerpc.CallInfo, err error, opts []metric.RecordOption, start time.Duration) {
	t.duration.Record(ctx, (monotonic() - start).Seconds(), opts...)
	if t.requestSize == nil || info.Stream {
		return
	}
	// A native call's arguments take a byte at least: none were sent
	// (or this is a JSON-RPC call, whose size is not known).
	if info.RequestSize > 0 {
		t.requestSize.Record(ctx, int64(info.RequestSize), opts...)
	}
	if err == nil {
		t.responseSize.Record(ctx, int64(info.ResponseSize), opts...)
	}
}

// serverFault reports whether a call that ended with code failed through
// the server's fault, which marks its server span as an error; a call
// refused for what the caller sent (not found, invalid arguments, not
// authenticated or not allowed) or ended by the caller (canceled,
// deadline) did not. The method's own error counts as a fault, as
// gRPC's UNKNOWN does.
func serverFault(code simplerpc.Code) bool {
	switch code {
	case 0, simplerpc.CodeNotFound, simplerpc.CodeInvalidArgument, simplerpc.CodeCanceled,
		simplerpc.CodeDeadlineExceeded, simplerpc.CodeUnauthenticated, simplerpc.CodePermissionDenied:
		return false
	}
	return true
}

// endSpan ends the span of a call of a's method that ended with code
// (err), marking it an error if the call failed through fault. The span
// started with the attributes of a call that succeeded: a call that
// succeeded sets none, and takes no lock of the span's before End; one
// that failed replaces the status and adds error.type, and a method past
// MaxMethods gets its name (original) as rpc.method_original.
func endSpan(span trace.Span, a *callAttrs, code simplerpc.Code, original string, err error, fault bool) {
	if code == 0 && original == "" {
		span.End()
		return
	}
	if !span.IsRecording() {
		span.End()
		return
	}
	end := a.endFor(code)
	if code == 0 {
		end = nil // the status the span started with stands
	}
	if original != "" {
		end = append(end[:len(end):len(end)], semconv.RPCMethodOriginal(original))
	}
	span.SetAttributes(end...)
	if fault {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// sizeHistogram returns a size histogram, in bytes, or, if the meter
// cannot make one, one that records nothing, as histogram.
func sizeHistogram(meter metric.Meter, name, desc string) metric.Int64Histogram {
	h, err := meter.Int64Histogram(name, metric.WithUnit("By"), metric.WithDescription(desc))
	if err != nil {
		otelapi.Handle(err)
	}
	if h == nil {
		return metricnoop.Int64Histogram{}
	}
	return h
}

// histogram returns a duration histogram, or, if the meter cannot make
// one, a histogram that records nothing, after reporting why to the
// global error handler.
func histogram(meter metric.Meter, name, desc string) metric.Float64Histogram {
	h, err := meter.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err != nil {
		otelapi.Handle(err)
	}
	if h == nil {
		return metricnoop.Float64Histogram{}
	}
	return h
}
