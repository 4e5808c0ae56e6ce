package otel_test

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

// A span starts with the status of a call that succeeds: the span of a
// call that failed ends with one status, its own, and every span with
// one value per key, from the first call of a method and caller on.
func TestSpanAttributesOncePerKey(t *testing.T) {
	tel := newTelemetry(t)
	srv := newServer(tel.opts()...)
	if err := srv.Register("Calc", Calc{}); err != nil {
		t.Fatal(err)
	}
	c := dial(t, serve(t, srv), tel.opts()...)
	ctx := context.Background()
	for range 2 {
		if err := c.Call(ctx, "Calc.Sqrt", []any{-1.0}); !errors.Is(err, ErrNegative) {
			t.Fatalf("Calc.Sqrt(-1): %v", err)
		}
		var sum int
		if err := c.Call(ctx, "Calc.Add", []any{2, 3}, &sum); err != nil || sum != 5 {
			t.Fatalf("Calc.Add: %d, %v", sum, err)
		}
	}
	spans := tel.spans.GetSpans()
	if len(spans) != 8 {
		t.Fatalf("%d spans, want 8", len(spans))
	}
	for _, s := range spans {
		seen := make(map[attribute.Key]int)
		for _, kv := range s.Attributes {
			seen[kv.Key]++
		}
		for k, n := range seen {
			if n != 1 {
				t.Errorf("%s span %s: %d values of %s: %v", s.SpanKind, s.Name, n, k, s.Attributes)
			}
		}
		want := map[string]string{"rpc.response.status_code": "ok"}
		if s.Name == "Calc.Sqrt" {
			want = map[string]string{"rpc.response.status_code": "application", "error.type": "application"}
		} else if _, ok := attr(s.Attributes, "error.type"); ok {
			t.Errorf("%s span of a call that succeeded has error.type: %v", s.SpanKind, s.Attributes)
		}
		if s.SpanKind.String() == "server" {
			want["network.peer.address"] = "127.0.0.1"
		}
		wantAttrs(t, s.SpanKind.String()+" span of "+s.Name, s.Attributes, want)
	}
}
