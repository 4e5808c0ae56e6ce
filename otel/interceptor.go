package otel

import (
	"context"
	"time"

	"github.com/simplerpc/simplerpc"
	otelapi "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
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
func ServerInterceptor(opts ...Option) simplerpc.Interceptor {
	c := newConfig(opts)
	meter := c.meter()
	t := &telemetry{
		prop:   c.propagator,
		tracer: c.tracer(),
		attrs:  newAttrCache(trace.SpanKindServer),
		duration: histogram(meter, "rpc.server.call.duration",
			"Measures the duration of an incoming Remote Procedure Call (RPC)."),
		active: upDown(meter, "simplerpc.server.call.active", "{call}", "Calls the server is running."),
	}
	return t.server
}

// ClientInterceptor returns a client interceptor that traces and measures
// every call: pass it to simplerpc.Dial (or NewClient) with
// simplerpc.WithInterceptor. Its span is a child of the span in the
// call's context, and the trace context travels in the call's metadata.
// A call retried is one span and one measurement, the retries included.
func ClientInterceptor(opts ...Option) simplerpc.Interceptor {
	c := newConfig(opts)
	meter := c.meter()
	t := &telemetry{
		prop:   c.propagator,
		tracer: c.tracer(),
		attrs:  newAttrCache(trace.SpanKindClient),
		duration: histogram(meter, "rpc.client.call.duration",
			"Measures the duration of an outgoing Remote Procedure Call (RPC)."),
		active: upDown(meter, "simplerpc.client.call.active", "{call}", "Calls the client sent and has no answer for yet."),
	}
	return t.client
}

// telemetry is one interceptor's instruments.
type telemetry struct {
	prop     propagation.TextMapPropagator
	tracer   trace.Tracer
	attrs    *attrCache
	duration metric.Float64Histogram
	active   metric.Int64UpDownCounter
}

// server is the server interceptor.
func (t *telemetry) server(next simplerpc.Invoker) simplerpc.Invoker {
	return func(ctx context.Context, info *simplerpc.CallInfo) error {
		start := time.Now()
		// A server's methods are its own: their number is bounded, and
		// the caller's address is never an attribute of a measurement.
		a := t.attrs.get(info.Method, "")
		ctx = t.prop.Extract(ctx, MetadataCarrier(info.Metadata))
		ctx, span := t.tracer.Start(ctx, a.name, a.start...)
		if span.IsRecording() {
			span.SetAttributes(peerSpanAttrs(info.Peer)...)
			if a.original != "" {
				span.SetAttributes(semconv.RPCMethodOriginal(a.original))
			}
		}
		t.active.Add(ctx, 1, a.active...)
		err := next(ctx, info)
		code := codeOf(err)
		t.active.Add(ctx, -1, a.active...)
		t.duration.Record(ctx, time.Since(start).Seconds(), a.recordFor(code)...)
		endSpan(span, code, err, serverFault(code))
		return err
	}
}

// client is the client interceptor.
func (t *telemetry) client(next simplerpc.Invoker) simplerpc.Invoker {
	return func(ctx context.Context, info *simplerpc.CallInfo) error {
		start := time.Now()
		a := t.attrs.get(info.Method, info.Peer)
		ctx, span := t.tracer.Start(ctx, a.name, a.start...)
		if a.original != "" && span.IsRecording() {
			span.SetAttributes(semconv.RPCMethodOriginal(a.original))
		}
		t.prop.Inject(ctx, MetadataCarrier(info.Metadata))
		t.active.Add(ctx, 1, a.active...)
		err := next(ctx, info)
		code := codeOf(err)
		t.active.Add(ctx, -1, a.active...)
		t.duration.Record(ctx, time.Since(start).Seconds(), a.recordFor(code)...)
		endSpan(span, code, err, code != 0)
		return err
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

// endSpan sets the outcome of a call on its span, and ends it.
func endSpan(span trace.Span, code simplerpc.Code, err error, fault bool) {
	if span.IsRecording() {
		span.SetAttributes(semconv.RPCResponseStatusCode(statusName(code)))
		if code != 0 {
			span.SetAttributes(semconv.ErrorTypeKey.String(code.String()))
		}
		if fault {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
	}
	span.End()
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
		return noop.Float64Histogram{}
	}
	return h
}

// upDown returns an up-down counter as histogram returns a histogram.
func upDown(meter metric.Meter, name, unit, desc string) metric.Int64UpDownCounter {
	u, err := meter.Int64UpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	if err != nil {
		otelapi.Handle(err)
	}
	if u == nil {
		return noop.Int64UpDownCounter{}
	}
	return u
}
