package otel

import (
	otelapi "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the tracers and meters this
// package makes.
const ScopeName = "github.com/simplerpc/simplerpc/otel"

// MaxMethods bounds the methods an interceptor keeps attributes for (see
// the package doc, Bounds).
const MaxMethods = 1024

// An Option configures the telemetry of ServerInterceptor,
// ClientInterceptor and ObserveServer. The zero configuration uses the
// global providers and W3C trace context and baggage.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithTracerProvider makes spans with tp instead of the global
// TracerProvider (otel.GetTracerProvider at the time the interceptor is
// made).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tracerProvider = tp })
}

// WithMeterProvider records metrics with mp instead of the global
// MeterProvider (otel.GetMeterProvider at the time the interceptor is
// made).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.meterProvider = mp })
}

// WithPropagators reads and writes the trace context in call metadata
// with p instead of W3C trace context and baggage
// (propagation.TraceContext and propagation.Baggage). Pass
// otel.GetTextMapPropagator() to use the global one.
func WithPropagators(p propagation.TextMapPropagator) Option {
	return optionFunc(func(c *config) { c.propagator = p })
}

// WithSizes records, or with false does not, the sizes of calls' encoded
// arguments and results: rpc.server.request.size and
// rpc.server.response.size on a server, rpc.client.request.size and
// rpc.client.response.size on a client (see the package doc, Names).
// They are off by default: the semantic conventions this package follows
// (1.43.0) define no size metrics — their version 1.40.0 dropped those
// of 1.39.0, whose names these are — and each call records two more
// histograms with them, which costs about as much as its duration does.
func WithSizes(on bool) Option {
	return optionFunc(func(c *config) { c.sizes = on })
}

// config is what the options set.
type config struct {
	tracerProvider trace.TracerProvider
	meterProvider  metric.MeterProvider
	propagator     propagation.TextMapPropagator
	sizes          bool
}

// newConfig applies opts over the defaults.
func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		o.apply(&c)
	}
	if c.tracerProvider == nil {
		c.tracerProvider = otelapi.GetTracerProvider()
	}
	if c.meterProvider == nil {
		c.meterProvider = otelapi.GetMeterProvider()
	}
	if c.propagator == nil {
		c.propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	return c
}

// tracer returns the config's tracer.
func (c *config) tracer() trace.Tracer {
	return c.tracerProvider.Tracer(ScopeName, trace.WithSchemaURL(schemaURL))
}

// meter returns the config's meter.
func (c *config) meter() metric.Meter {
	return c.meterProvider.Meter(ScopeName, metric.WithSchemaURL(schemaURL))
}
