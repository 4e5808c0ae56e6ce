package otel_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
	srpcotel "github.com/simplerpc/simplerpc/otel"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// A call is a client span and, as its child in the same trace, a server
// span, each with the RPC attributes.
func TestCallSpans(t *testing.T) {
	tel := newTelemetry(t)
	srv := newServer(tel.opts()...)
	if err := srv.Register("Calc", Calc{}); err != nil {
		t.Fatal(err)
	}
	addr := serve(t, srv)
	c := dial(t, addr, tel.opts()...)
	var sum int
	if err := c.Call(context.Background(), "Calc.Add", []any{2, 3}, &sum); err != nil || sum != 5 {
		t.Fatalf("Calc.Add: %d, %v", sum, err)
	}
	spans := tel.spans.GetSpans()
	cs := spanNamed(t, spans, "Calc.Add", "client")
	ss := spanNamed(t, spans, "Calc.Add", "server")
	if cs.SpanContext.TraceID() != ss.SpanContext.TraceID() || ss.Parent.SpanID() != cs.SpanContext.SpanID() || !ss.Parent.IsRemote() {
		t.Errorf("server span %v (parent %v) is not the child of client span %v", ss.SpanContext, ss.Parent, cs.SpanContext)
	}
	host, port, _ := strings.Cut(addr, ":")
	wantAttrs(t, "client span", cs.Attributes, map[string]string{
		"rpc.system.name": "simplerpc", "rpc.method": "Calc.Add", "rpc.response.status_code": "ok",
		"server.address": host, "server.port": port,
	})
	wantAttrs(t, "server span", ss.Attributes, map[string]string{
		"rpc.system.name": "simplerpc", "rpc.method": "Calc.Add", "rpc.response.status_code": "ok",
		"network.peer.address": "127.0.0.1",
	})
	if cs.Status.Code != codes.Unset || ss.Status.Code != codes.Unset {
		t.Errorf("a call that succeeded has status %v (client), %v (server)", cs.Status, ss.Status)
	}
	if _, ok := attr(cs.Attributes, "error.type"); ok {
		t.Errorf("a call that succeeded has error.type")
	}
}

// A method's error is recorded on both spans, with its code; a call the
// server refuses for what the caller sent is not the server's error.
func TestErrorSpans(t *testing.T) {
	tel := newTelemetry(t)
	deny := func(next simplerpc.Invoker) simplerpc.Invoker {
		return func(ctx context.Context, info *simplerpc.CallInfo) error {
			if info.Metadata.Get("authorization") == "" && info.Method == "Calc.Add" {
				return &simplerpc.Error{Code: simplerpc.CodeUnauthenticated, Message: "no credentials"}
			}
			return next(ctx, info)
		}
	}
	srv := simplerpc.NewServer(simplerpc.WithLogger(slog.New(slog.DiscardHandler)),
		simplerpc.WithInterceptor(srpcotel.ServerInterceptor(tel.opts()...), deny))
	if err := srv.Register("Calc", Calc{}); err != nil {
		t.Fatal(err)
	}
	c := dial(t, serve(t, srv), tel.opts()...)
	ctx := context.Background()

	if err := c.Call(ctx, "Calc.Sqrt", []any{-1.0}); !errors.Is(err, ErrNegative) {
		t.Fatalf("Calc.Sqrt(-1): %v", err)
	}
	spans := tel.spans.GetSpans()
	for _, kind := range []string{"client", "server"} {
		s := spanNamed(t, spans, "Calc.Sqrt", kind)
		wantAttrs(t, kind+" span of a failed call", s.Attributes, map[string]string{
			"rpc.response.status_code": "application", "error.type": "application",
		})
		if s.Status.Code != codes.Error || !strings.Contains(s.Status.Description, "negative number") {
			t.Errorf("%s span of a failed call: status %v", kind, s.Status)
		}
		if len(s.Events) != 1 || s.Events[0].Name != "exception" {
			t.Errorf("%s span of a failed call: events %v, want the exception", kind, s.Events)
		}
	}
	tel.spans.Reset()

	err := c.Call(ctx, "Calc.Add", []any{1, 2})
	if e, ok := errors.AsType[*simplerpc.Error](err); !ok || e.Code != simplerpc.CodeUnauthenticated {
		t.Fatalf("Calc.Add without credentials: %v", err)
	}
	spans = tel.spans.GetSpans()
	ss := spanNamed(t, spans, "Calc.Add", "server")
	wantAttrs(t, "server span of a refused call", ss.Attributes, map[string]string{"error.type": "unauthenticated"})
	if ss.Status.Code == codes.Error {
		t.Errorf("a call refused for the caller's credentials is marked the server's error: %v", ss.Status)
	}
	if cs := spanNamed(t, spans, "Calc.Add", "client"); cs.Status.Code != codes.Error {
		t.Errorf("client span of a refused call: status %v", cs.Status)
	}
	tel.spans.Reset()

	// No such method: the server never runs its interceptors; the client
	// records what it got back.
	err = c.Call(ctx, "Calc.Nope", nil)
	if e, ok := errors.AsType[*simplerpc.Error](err); !ok || e.Code != simplerpc.CodeNotFound {
		t.Fatalf("Calc.Nope: %v", err)
	}
	cs := spanNamed(t, tel.spans.GetSpans(), "Calc.Nope", "client")
	wantAttrs(t, "client span of a missing method", cs.Attributes, map[string]string{"error.type": "not_found"})
}

// Relay is a service that calls another server.
type Relay struct{ next *simplerpc.Client }

func (r *Relay) Add(ctx context.Context, a, b int) (int, error) {
	var sum int
	err := r.next.Call(ctx, "Calc.Add", []any{a, b}, &sum)
	return sum, err
}

// Member returns the baggage member key of the call's context.
func (r *Relay) Member(ctx context.Context, key string) string {
	return baggage.FromContext(ctx).Member(key).Value()
}

// threeHops starts B (Calc) and A (Relay, calling B) and returns A's
// address.
func threeHops(t *testing.T, tel *telemetry) string {
	t.Helper()
	b := newServer(tel.opts()...)
	if err := b.Register("Calc", Calc{}); err != nil {
		t.Fatal(err)
	}
	toB := dial(t, serve(t, b), tel.opts()...)
	a := newServer(tel.opts()...)
	if err := a.Register("Relay", &Relay{next: toB}); err != nil {
		t.Fatal(err)
	}
	return serve(t, a)
}

// hopChain checks the four spans of a call of Relay.Add through A to B:
// one trace, each span the child of the one before, the first the child
// of root.
func hopChain(t *testing.T, tel *telemetry, root trace.SpanContext, first string) {
	t.Helper()
	spans := tel.spans.GetSpans()
	chain := []struct{ name, kind string }{{"Relay.Add", first}, {"Relay.Add", "server"}, {"Calc.Add", "client"}, {"Calc.Add", "server"}}
	if first == "" {
		chain = chain[1:]
	}
	parent := root
	for _, hop := range chain {
		s := spanNamed(t, spans, hop.name, hop.kind)
		if s.SpanContext.TraceID() != root.TraceID() {
			t.Errorf("%s span %s: trace %s, want %s", hop.kind, hop.name, s.SpanContext.TraceID(), root.TraceID())
		}
		if s.Parent.SpanID() != parent.SpanID() {
			t.Errorf("%s span %s: parent %s, want %s", hop.kind, hop.name, s.Parent.SpanID(), parent.SpanID())
		}
		parent = s.SpanContext
	}
}

// A call from a client through A to B is one trace: client → A's server
// span → A's client span → B's server span, each the child of the one
// before, under the caller's own span; baggage travels with it.
func TestThreeHopTrace(t *testing.T) {
	tel := newTelemetry(t)
	c := dial(t, threeHops(t, tel), tel.opts()...)

	ctx, root := tel.tp.Tracer("test").Start(context.Background(), "request")
	var sum int
	err := c.Call(ctx, "Relay.Add", []any{20, 22}, &sum)
	root.End()
	if err != nil || sum != 42 {
		t.Fatalf("Relay.Add: %d, %v", sum, err)
	}
	if n := len(tel.spans.GetSpans()); n != 5 {
		t.Errorf("%d spans, want 5: %v", n, spanNames(tel.spans.GetSpans()))
	}
	hopChain(t, tel, root.SpanContext(), "client")

	m, err := baggage.NewMember("tenant", "acme")
	if err != nil {
		t.Fatal(err)
	}
	bag, err := baggage.New(m)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := c.Call(baggage.ContextWithBaggage(context.Background(), bag), "Relay.Member", []any{"tenant"}, &got); err != nil || got != "acme" {
		t.Errorf("baggage on the server: %q, %v", got, err)
	}
}

// A JSON-RPC call over HTTP with a traceparent header joins the trace,
// and the server passes it on to B.
func TestJSONRPCTraceparentJoinsTrace(t *testing.T) {
	tel := newTelemetry(t)
	addr := threeHops(t, tel)

	const traceID, spanID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/",
		bytes.NewReader([]byte(`{"jsonrpc":"2.0","method":"Relay.Add","params":[1,2],"id":1}`)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Traceparent", "00-"+traceID+"-"+spanID+"-01")
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"result":3`) {
		t.Fatalf("JSON-RPC Relay.Add: status %d: %s", resp.StatusCode, body)
	}
	tid, _ := trace.TraceIDFromHex(traceID)
	sid, _ := trace.SpanIDFromHex(spanID)
	root := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, Remote: true})
	hopChain(t, tel, root, "")
}

// A hop that records metrics only (a no-op TracerProvider) makes no span
// and passes the trace on: B's server span is the child of the caller's.
func TestMetricsOnlyHopPassesTraceOn(t *testing.T) {
	tel := newTelemetry(t)
	b := newServer(tel.opts()...)
	if err := b.Register("Calc", Calc{}); err != nil {
		t.Fatal(err)
	}
	metricsOnly := []srpcotel.Option{srpcotel.WithTracerProvider(noop.NewTracerProvider()), srpcotel.WithMeterProvider(tel.mp)}
	toB := dial(t, serve(t, b), metricsOnly...)
	a := newServer(metricsOnly...)
	if err := a.Register("Relay", &Relay{next: toB}); err != nil {
		t.Fatal(err)
	}
	c := dial(t, serve(t, a), tel.opts()...)
	if err := c.Call(context.Background(), "Relay.Add", []any{1, 2}); err != nil {
		t.Fatal(err)
	}
	spans := tel.spans.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want the caller's and B's: %v", len(spans), spanNames(spans))
	}
	cs, bs := spanNamed(t, spans, "Relay.Add", "client"), spanNamed(t, spans, "Calc.Add", "server")
	if bs.SpanContext.TraceID() != cs.SpanContext.TraceID() || bs.Parent.SpanID() != cs.SpanContext.SpanID() {
		t.Errorf("B's span %v (parent %v) is not the child of the caller's %v", bs.SpanContext, bs.Parent, cs.SpanContext)
	}
	// A measured the call all the same.
	rm := tel.collect(t)
	if p := histogramPoints(t, metricNamed(t, rm, "rpc.server.call.duration")); p["Relay.Add ok"].Count != 1 {
		t.Errorf("A's server measured %v", p)
	}
}
