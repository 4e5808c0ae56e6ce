package simplerpc

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/simplerpc/simplerpc/internal/codec"
	"github.com/simplerpc/simplerpc/internal/jsonrpchttp"
	"github.com/simplerpc/simplerpc/internal/rpcerr"
)

// JSON-RPC over HTTP is served by package jsonrpchttp; this file lends it
// what it needs of the server, through the interfaces it declares, and
// holds nothing of the protocol.

// ServeHTTP answers JSON-RPC 2.0 calls sent by HTTP POST, so that any
// language, and curl, can call the server's methods: "Service.Method" for
// a registered object's method, the bare name for a function. Params come
// as an array (by position) or as an object (by name, for a method whose
// only parameter is a struct). Calls pass through the same method table,
// admission checks (WithMaxConcurrentCalls, Shutdown) and panic recovery
// as native calls, with the request's context as the call's context.
//
// Batches hold up to 1000 requests: calls of quick methods run one after
// another, others up to 8 at a time (docs/jsonrpc.md). The body may be
// at most the server's maximum message size (WithMaxMessageSize); a
// larger one gets status 413, after which the rest of the body is read
// and discarded (up to four times the limit, at least 4 MiB, for up to
// two seconds) so that the client can read the answer, and the
// connection is closed. A response, or all the responses of a batch
// together, may be at most that size too: past it, calls answer with a
// resource_exhausted error, and a batch starts no more calls. The body,
// every call while it runs (16 KiB, plus its params) and the responses
// until written are charged to the memory budget (WithMemoryBudget),
// which so bounds the calls running at once; a body it cannot hold gets
// status 503, a call it cannot hold an unavailable error: neither is run.
// A gzip body (Content-Encoding: gzip) is decompressed, the size limit
// and the budget applying to it decompressed; a response of 1 KiB or more
// is compressed for a client that accepts gzip; any other coding gets 415.
// Every JSON-RPC response has status 200; a lone notification, or a batch
// of notifications only, gets 204 and no body; a method other than POST
// gets 405. Errors carry the simplerpc code, the server-side error type
// and (WithStackTraces) the stack in their data member, as
// docs/jsonrpc.md describes.
//
// GET /healthz answers the server's Health (?service=NAME, a service's)
// as JSON, with status 200, 503 or 404 (SetServing); with WithCORS,
// browsers' preflight requests are answered and allowed origins get the
// CORS headers.
//
// Serve answers HTTP/1.1 on its own port too: a connection that does not
// open with the simplerpc handshake is served by ServeHTTP.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.serveCORS(w, r) || s.serveHealth(w, r) {
		return
	}
	s.rpc.ServeHTTP(w, r)
}

// sampleBatchCalls says whether a batch times a sample of its calls for
// runCost; a test that needs a method's cost to hold still turns it off
// before it makes its server.
var sampleBatchCalls = true

// newRPCHandler returns the JSON-RPC handler of s, which lends it its
// dispatcher, its memory budget, the go-away flag of calls over HTTP, its
// log limiter and its parse gate; NewServer calls it once they are set.
func (s *Server) newRPCHandler() *jsonrpchttp.Handler {
	return jsonrpchttp.New(jsonrpchttp.Config{
		Dispatcher:     &rpcDispatcher{d: s.dispatch, stopping: &s.stopping},
		Budget:         (*rpcBudget)(&s.budget),
		Evict:          s.evictOldest,
		Refused:        &s.refused.memory,
		Log:            func(level slog.Level, msg string, args ...any) { s.logs.log(s.cfg.logger, level, msg, args...) },
		Logger:         s.cfg.logger,
		Parsing:        (*rpcGate)(s.parsing),
		MetadataKey:    incomingKey{},
		Metadata:       headerMetadata,
		GetBuffer:      getBuffer,
		PutBuffer:      putBuffer,
		SampleEvery:    costSampleEvery,
		SampleBatches:  sampleBatchCalls,
		MaxMessageSize: s.cfg.maxMessageSize,
		WriteTimeout:   s.cfg.writeTimeout,
	})
}

// headerMetadata turns HTTP request headers into call metadata: lower-case
// names, first values; nil for no headers, as withIncoming leaves it.
func headerMetadata(h http.Header) any {
	md := make(Metadata, len(h))
	for k, v := range h {
		if len(v) > 0 {
			md.Set(k, v[0])
		}
	}
	if len(md) == 0 {
		return nil
	}
	return md
}

// rpcDispatcher is the dispatcher as JSON-RPC sees it, with the go-away
// flag its calls are admitted under.
type rpcDispatcher struct {
	d        *dispatcher
	stopping *atomic.Bool // Server.stopping, set once, read by Admit
}

func (r *rpcDispatcher) Lookup(name string) jsonrpchttp.Method {
	if m := r.d.lookupName(name); m != nil {
		return (*rpcMethod)(m)
	}
	return nil
}

func (r *rpcDispatcher) NotFound(name string) *rpcerr.Error { return r.d.notFound(name) }

func (r *rpcDispatcher) Admit(m jsonrpchttp.Method, by *atomic.Int64) *rpcerr.Error {
	return r.d.admitRequest((*method)(m.(*rpcMethod)), r.stopping, by)
}

func (r *rpcDispatcher) Release() { r.d.release() }

func (r *rpcDispatcher) Execute(ctx context.Context, m jsonrpchttp.Method, args []reflect.Value, buf *bytes.Buffer, peer string) (*rpcerr.Error, any) {
	return r.d.execute(ctx, (*method)(m.(*rpcMethod)), args, codec.JSON, buf, peer)
}

// rpcMethod is a method as JSON-RPC sees it.
type rpcMethod method

func (m *rpcMethod) Name() string { return m.name }

func (m *rpcMethod) StreamKind() string {
	if m.stream == nil {
		return ""
	}
	return m.stream.kind()
}

func (m *rpcMethod) Callback() (int, string) {
	if m.callbacks == nil {
		return 0, ""
	}
	return m.callbacks[0].index + 1, m.callbacks[0].typ().String()
}

func (m *rpcMethod) Params() ([]reflect.Type, bool) { return m.params, m.variadic }

func (m *rpcMethod) StructArg() bool { return m.structArg }

func (m *rpcMethod) Arity() string { return (*method)(m).arity() }

func (m *rpcMethod) Results() int { return len(m.results) }

func (m *rpcMethod) OpenArgs(args []byte) (codec.Array, *rpcerr.Error) {
	return (*method)(m).openArgs(codec.JSON, args)
}

func (m *rpcMethod) DecodeArgs(arr codec.Array) ([]reflect.Value, *rpcerr.Error) {
	return (*method)(m).decodeArray(&arr)
}

func (m *rpcMethod) Quick() bool { return m.cost.quick() }

func (m *rpcMethod) Observe(d time.Duration) { m.cost.observe(d) }

// rpcBudget is the memory budget as JSON-RPC sees it.
type rpcBudget memBudget

func (b *rpcBudget) Limit() int64         { return b.limit }
func (b *rpcBudget) InUse() int64         { return (*memBudget)(b).inUse() }
func (b *rpcBudget) TryTake(n int64) bool { return (*memBudget)(b).tryTake(n) }
func (b *rpcBudget) Take(n int64)         { (*memBudget)(b).take(n) }
func (b *rpcBudget) Give(n int64)         { (*memBudget)(b).give(n) }

// rpcGate is the parse gate as JSON-RPC sees it.
type rpcGate cpuGate

func (g *rpcGate) Enter(ctx context.Context) bool { return (*cpuGate)(g).enter(ctx) }
func (g *rpcGate) Leave()                         { (*cpuGate)(g).leave() }
