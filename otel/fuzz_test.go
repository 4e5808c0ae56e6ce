package otel_test

import (
	"context"
	"testing"

	"github.com/simplerpc/simplerpc"
	srpcotel "github.com/simplerpc/simplerpc/otel"
	"go.opentelemetry.io/otel/trace"
)

// FuzzServerMetadata feeds the server interceptor the trace context a
// peer may send, any bytes at all: it must run the call exactly once,
// inside a span, and never fail it for what the metadata holds.
func FuzzServerMetadata(f *testing.F) {
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "congo=t61rcWkgMzE", "tenant=acme,user=x;prop=1")
	f.Add("00-00000000000000000000000000000000-0000000000000000-00", "", "")
	f.Add("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "a=b,,,c", "%zz=1")
	f.Add("", "", "k=v;"+string(make([]byte, 9000)))
	tel := newTelemetry(f)
	intercept := srpcotel.ServerInterceptor(tel.opts()...)
	f.Fuzz(func(t *testing.T, traceparent, tracestate, bag string) {
		md := simplerpc.Metadata{}
		md.Set("traceparent", traceparent)
		md.Set("tracestate", tracestate)
		md.Set("baggage", bag)
		runs := 0
		var parent trace.SpanContext
		err := intercept(func(ctx context.Context, _ *simplerpc.CallInfo) error {
			runs++
			parent = trace.SpanContextFromContext(ctx)
			return nil
		})(context.Background(), &simplerpc.CallInfo{Method: "Calc.Add", Metadata: md, Peer: "127.0.0.1:1"})
		if err != nil || runs != 1 {
			t.Fatalf("the call ran %d times, error %v", runs, err)
		}
		if !parent.IsValid() {
			t.Fatalf("the call ran without a span")
		}
		tel.spans.Reset()
	})
}
