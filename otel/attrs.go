package otel

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/simplerpc/simplerpc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// schemaURL is the semantic conventions' version the names follow.
const schemaURL = semconv.SchemaURL

// systemName is rpc.system.name on every span and measurement.
var systemName = semconv.RPCSystemNameKey.String("simplerpc")

// otherMethod is rpc.method for the methods past MaxMethods.
const otherMethod = "_OTHER"

// statusOK is rpc.response.status_code of a call that succeeded.
const statusOK = "ok"

// maxCode is the largest Code the attribute sets are built for in
// advance; a larger one (of a newer peer) gets its set when it is seen.
const maxCode = simplerpc.CodePermissionDenied

// codeOf returns the Code of the error a call ended with, 0 for none.
func codeOf(err error) simplerpc.Code {
	if err == nil {
		return 0
	}
	if e, ok := errors.AsType[*simplerpc.Error](err); ok {
		return e.Code
	}
	switch {
	case errors.Is(err, context.Canceled):
		return simplerpc.CodeCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return simplerpc.CodeDeadlineExceeded
	}
	// What a server makes of any other error an interceptor returns.
	return simplerpc.CodeApplication
}

// statusName returns rpc.response.status_code for code.
func statusName(code simplerpc.Code) string {
	if code == 0 {
		return statusOK
	}
	return code.String()
}

// callAttrs are what the calls of one method (and, on a client, one
// target) are recorded with, built once.
type callAttrs struct {
	// name is the span name: the method, or otherMethod.
	name string
	// start are the span's start options: its kind and attributes, the
	// status of a call that succeeds among them (see startFor).
	start []trace.SpanStartOption
	// active counts the calls running; the active-call instrument
	// reports it, with activeAttrs, when the metrics are collected.
	active      atomic.Int64
	activeAttrs metric.ObserveOption
	// done holds, by Code (0 for success), the options of the duration
	// histogram.
	done [maxCode + 1][]metric.RecordOption
	// end holds, by Code, the attributes a span gets when its call ends:
	// rpc.response.status_code and error.type.
	end [maxCode + 1][]attribute.KeyValue
	// base are the attributes every measurement of done carries.
	base []attribute.KeyValue
}

// newCallAttrs builds the attributes of method called on (or by) a
// server at peer attributes (server.address and server.port on a
// client, none on a server).
func newCallAttrs(kind trace.SpanKind, method string, peer []attribute.KeyValue) *callAttrs {
	a := &callAttrs{name: method}
	base := append([]attribute.KeyValue{systemName, semconv.RPCMethod(method)}, peer...)
	a.base = base
	a.start = startOptions(kind, append(base[:len(base):len(base)], endAttrs(0)...))
	a.activeAttrs = metric.WithAttributeSet(attribute.NewSet(base...))
	for code := range a.done {
		a.done[code] = a.record(simplerpc.Code(code))
		a.end[code] = endAttrs(simplerpc.Code(code))
	}
	return a
}

// record returns the options of the duration histogram for a call that
// ended with code.
func (a *callAttrs) record(code simplerpc.Code) []metric.RecordOption {
	kv := append(a.base[:len(a.base):len(a.base)], semconv.RPCResponseStatusCode(statusName(code)))
	if code != 0 {
		kv = append(kv, semconv.ErrorTypeKey.String(code.String()))
	}
	return []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(kv...))}
}

// startOptions returns the options that start a span of kind with the
// attributes kv.
func startOptions(kind trace.SpanKind, kv []attribute.KeyValue) []trace.SpanStartOption {
	return []trace.SpanStartOption{trace.WithSpanKind(kind), trace.WithAttributes(kv...)}
}

// endAttrs returns the attributes of a span whose call ended with code.
func endAttrs(code simplerpc.Code) []attribute.KeyValue {
	kv := []attribute.KeyValue{semconv.RPCResponseStatusCode(statusName(code))}
	if code != 0 {
		kv = append(kv, semconv.ErrorTypeKey.String(code.String()))
	}
	return kv
}

// endFor returns the attributes of a span whose call ended with code.
func (a *callAttrs) endFor(code simplerpc.Code) []attribute.KeyValue {
	if code <= maxCode {
		return a.end[code]
	}
	return endAttrs(code)
}

// recordFor returns the options of the duration histogram for code.
func (a *callAttrs) recordFor(code simplerpc.Code) []metric.RecordOption {
	if code <= maxCode {
		return a.done[code]
	}
	return a.record(code)
}

// attrKey names the entries of an attrCache.
type attrKey struct{ method, peer string }

// attrCache keeps the callAttrs of up to MaxMethods methods (per peer on a
// client). Lookups take no lock: the map is replaced, never changed, when
// an entry is added.
type attrCache struct {
	kind  trace.SpanKind
	m     atomic.Pointer[map[attrKey]*callAttrs]
	mu    sync.Mutex // serializes additions
	other map[string]*callAttrs
}

func newAttrCache(kind trace.SpanKind) *attrCache {
	c := &attrCache{kind: kind, other: make(map[string]*callAttrs)}
	c.m.Store(&map[attrKey]*callAttrs{})
	return c
}

// get returns the attributes of calls of method to (or from) peer, and,
// when they are those shared past MaxMethods, the method's name for the
// span (rpc.method_original), else "".
func (c *attrCache) get(method, peer string) (a *callAttrs, original string) {
	k := attrKey{method, peer}
	if a := (*c.m.Load())[k]; a != nil {
		return a, ""
	}
	return c.add(k)
}

// add builds the entry of k, or, past MaxMethods, returns the one shared
// by all further methods of the peer (of any peer, past MaxMethods
// peers).
func (c *attrCache) add(k attrKey) (*callAttrs, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.m.Load()
	if a := old[k]; a != nil {
		return a, ""
	}
	if len(old) >= MaxMethods {
		peer := k.peer
		if c.other[peer] == nil && len(c.other) >= MaxMethods {
			peer = ""
		}
		o := c.other[peer]
		if o == nil {
			o = newCallAttrs(c.kind, otherMethod, peerAttrs(peer))
			c.other[peer] = o
		}
		return o, k.method
	}
	a := newCallAttrs(c.kind, k.method, peerAttrs(k.peer))
	next := make(map[attrKey]*callAttrs, len(old)+1)
	for kk, v := range old {
		next[kk] = v
	}
	next[k] = a
	c.m.Store(&next)
	return a, ""
}

// each calls f with every entry.
func (c *attrCache) each(f func(*callAttrs)) {
	for _, a := range *c.m.Load() {
		f(a)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.other {
		f(a)
	}
}

// peerAttrs returns server.address and server.port of a client's target:
// "host:port", or "scheme:///host:port"; a list of addresses is its own
// server.address. An empty target (on a server) has none.
func peerAttrs(target string) []attribute.KeyValue {
	if target == "" {
		return nil
	}
	if _, rest, ok := strings.Cut(target, ":///"); ok {
		target = rest
	}
	if host, port, err := net.SplitHostPort(target); err == nil {
		if p, err := strconv.Atoi(port); err == nil {
			return []attribute.KeyValue{semconv.ServerAddress(host), semconv.ServerPort(p)}
		}
	}
	return []attribute.KeyValue{semconv.ServerAddress(target)}
}

// maxPeers bounds the callers' addresses a peerCache keeps.
const maxPeers = 256

// peerCache keeps, for the latest callers' addresses, the attributes
// the span of a call from that address gets when it succeeds: its
// network.peer.address and network.peer.port, then those of the call's
// end. A caller makes its calls over one connection, from one address:
// a server reads them from the cache instead of parsing the address and
// building them on every call. It holds at most about maxPeers addresses,
// and starts afresh when it has more. The zero value is ready to use.
type peerCache struct {
	m atomic.Pointer[sync.Map] // address -> []attribute.KeyValue, never changed once stored
	n atomic.Int64             // addresses stored in m, about
}

// ok returns the attributes of a span of a call from addr that ended
// well: network.peer.* then end. They must not be changed.
func (c *peerCache) ok(addr string, end []attribute.KeyValue) []attribute.KeyValue {
	m := c.m.Load()
	if m != nil {
		if kv, ok := m.Load(addr); ok {
			return kv.([]attribute.KeyValue)
		}
	}
	kv := appendPeer(make([]attribute.KeyValue, 0, len(end)+2), addr)
	kv = append(kv, end...)
	if m == nil || c.n.Add(1) > maxPeers {
		// Calls that add at the same time may each start a new map:
		// one of them stays, and what the others stored is dropped.
		m = new(sync.Map)
		c.m.Store(m)
		c.n.Store(1)
	}
	m.Store(addr, kv)
	return kv
}

// appendPeer appends network.peer.address and network.peer.port of the
// address a server's caller calls from to kv.
func appendPeer(kv []attribute.KeyValue, addr string) []attribute.KeyValue {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		if addr == "" {
			return kv
		}
		return append(kv, semconv.NetworkPeerAddress(addr))
	}
	kv = append(kv, semconv.NetworkPeerAddress(host))
	if p, err := strconv.Atoi(port); err == nil {
		kv = append(kv, semconv.NetworkPeerPort(p))
	}
	return kv
}

// maxStarts bounds the start options a startCache keeps: one set per
// method and caller's address.
const maxStarts = 4 * maxPeers

// startCache keeps the start options of a server's spans by method and
// caller's address: the method's attributes, the caller's
// network.peer.address and network.peer.port, and the status of a call
// that succeeds. A span so started needs no attributes set when its call
// succeeds — each SetAttributes takes the span's lock and grows its
// attributes — and a failed call's end replaces the status (a span keeps
// the last value set for a key). It holds at most about maxStarts
// entries, and starts afresh when it has more. The zero value is ready
// to use.
type startCache struct {
	m     atomic.Pointer[sync.Map] // startKey -> []trace.SpanStartOption, never changed once stored
	n     atomic.Int64             // entries stored in m, about
	peers peerCache                // the attributes of the addresses, for the entries built
}

// startKey names the entries of a startCache.
type startKey struct {
	a    *callAttrs
	addr string
}

// startFor returns the options that start the span of a call of a's
// method from addr. They must not be changed.
func (c *startCache) startFor(kind trace.SpanKind, a *callAttrs, addr string) []trace.SpanStartOption {
	if addr == "" {
		return a.start
	}
	k := startKey{a, addr}
	m := c.m.Load()
	if m != nil {
		if opts, ok := m.Load(k); ok {
			return opts.([]trace.SpanStartOption)
		}
	}
	peer := c.peers.ok(addr, a.end[0])
	opts := startOptions(kind, append(a.base[:len(a.base):len(a.base)], peer...))
	if m == nil || c.n.Add(1) > maxStarts {
		// As peerCache: of calls that start a new map at once, one stays.
		m = new(sync.Map)
		c.m.Store(m)
		c.n.Store(1)
	}
	m.Store(k, opts)
	return opts
}
