package otel

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/simplerpc/simplerpc"
	"go.opentelemetry.io/otel/trace"
)

// Past MaxMethods, methods share the _OTHER attributes (naming the method
// on the span alone): what peers call cannot grow the cache without
// bound.
func TestAttrCacheIsBounded(t *testing.T) {
	c := newAttrCache(trace.SpanKindServer)
	first, _ := c.get("S.M1", "")
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range MaxMethods {
				if a, _ := c.get(fmt.Sprintf("S.M%d", (i+w*97)%MaxMethods), ""); a.name == otherMethod {
					t.Errorf("method %d named %s within the bound", i, a.name)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := len(*c.m.Load()); n != MaxMethods {
		t.Fatalf("%d entries, want %d", n, MaxMethods)
	}
	for i := range 3 * MaxMethods {
		method := fmt.Sprintf("X.Y%d", i)
		a, original := c.get(method, "")
		if a.name != otherMethod || original != method {
			t.Fatalf("method %s past the bound: name %q, original %q", method, a.name, original)
		}
	}
	if n, o := len(*c.m.Load()), len(c.other); n != MaxMethods || o != 1 {
		t.Errorf("after %d more methods: %d entries and %d shared, want %d and 1", 3*MaxMethods, n, o, MaxMethods)
	}
	// The same method gets the same attributes.
	if a, _ := c.get("S.M1", ""); a != first {
		t.Errorf("two lookups of one method built two entries")
	}
}

// The measurement options of a code are built once, for every code known.
func TestAttrsPerCode(t *testing.T) {
	a := newCallAttrs(trace.SpanKindClient, "Calc.Add", peerAttrs("dns:///example.com:4000"))
	for code := range maxCode + 1 {
		if got, want := a.recordFor(code), a.done[code]; len(got) != 1 || &got[0] != &want[0] {
			t.Errorf("code %v: options built on the call", code)
		}
	}
	if len(a.recordFor(maxCode+1)) != 1 {
		t.Errorf("an unknown code has no options")
	}
	if fmt.Sprint(a.base) != fmt.Sprint(append(a.base[:2:2], peerAttrs("example.com:4000")...)) || len(a.base) != 4 {
		t.Errorf("attributes of a dns target: %v", a.base)
	}
	if codeOf(&simplerpc.Error{Code: simplerpc.CodeNotFound}) != simplerpc.CodeNotFound || statusName(0) != "ok" {
		t.Errorf("codeOf or statusName is wrong")
	}
}

// A target is server.address and server.port when it names one server.
func TestPeerAttrs(t *testing.T) {
	for target, want := range map[string]string{
		"127.0.0.1:4000":             `[{"server.address":"127.0.0.1"} {"server.port":4000}]`,
		"static:///a:1,b:2":          `[{"server.address":"a:1,b:2"}]`,
		"":                           `[]`,
		"[::1]:80":                   `[{"server.address":"::1"} {"server.port":80}]`,
		"dns:///svc.cluster.local:9": `[{"server.address":"svc.cluster.local"} {"server.port":9}]`,
	} {
		if got := fmt.Sprint(peerAttrs(target)); got != want {
			t.Errorf("peerAttrs(%q) = %s, want %s", target, got, want)
		}
	}
}

// A peerCache answers an address's attributes from memory once it has
// built them, and keeps no more than about maxPeers addresses.
func TestPeerCache(t *testing.T) {
	var c peerCache
	end := endAttrs(0)
	kv := c.ok("10.0.0.1:5000", end)
	want := append(appendPeer(nil, "10.0.0.1:5000"), end...)
	if !slices.Equal(kv, want) {
		t.Fatalf("attributes %v, want %v", kv, want)
	}
	if again := c.ok("10.0.0.1:5000", end); &again[0] != &kv[0] {
		t.Error("a second call from the same address built its attributes again")
	}
	for i := range 3 * maxPeers {
		c.ok(fmt.Sprintf("10.0.%d.%d:5000", i/256, i%256), end)
	}
	n := 0
	c.m.Load().Range(func(any, any) bool { n++; return true })
	if n > maxPeers {
		t.Errorf("%d addresses kept, want at most %d", n, maxPeers)
	}
}

// A startCache builds the start options of a method and address once,
// with the caller's address and a succeeding call's status, and keeps no
// more than about maxStarts of them.
func TestStartCache(t *testing.T) {
	var c startCache
	a := newCallAttrs(trace.SpanKindServer, "Calc.Add", nil)
	if got := c.startFor(trace.SpanKindServer, a, ""); &got[0] != &a.start[0] {
		t.Error("a call with no address did not start with the method's options")
	}
	opts := c.startFor(trace.SpanKindServer, a, "10.0.0.1:5000")
	cfg := trace.NewSpanStartConfig(opts...)
	want := append(append(slices.Clone(a.base), appendPeer(nil, "10.0.0.1:5000")...), endAttrs(0)...)
	if !slices.Equal(cfg.Attributes(), want) || cfg.SpanKind() != trace.SpanKindServer {
		t.Fatalf("start %v %v, want %v", cfg.SpanKind(), cfg.Attributes(), want)
	}
	if again := c.startFor(trace.SpanKindServer, a, "10.0.0.1:5000"); &again[0] != &opts[0] {
		t.Error("a second call from the same address built its options again")
	}
	for i := range 3 * maxStarts {
		c.startFor(trace.SpanKindServer, a, fmt.Sprintf("10.0.%d.%d:5000", i/256, i%256))
	}
	n := 0
	c.m.Load().Range(func(any, any) bool { n++; return true })
	if n > maxStarts {
		t.Errorf("%d entries kept, want at most %d", n, maxStarts)
	}
}
