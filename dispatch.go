package simplerpc

import (
	"log/slog"
	"sync"
	"sync/atomic"
)

// A dispatcher routes calls to what a server serves, whichever protocol
// brought them: the native connections (serverconn.go) and JSON-RPC over
// HTTP (internal/jsonrpchttp) go through it alike, and introspection
// (describe.go) reads its table. It holds
//
//   - the method table: registration, lookup, each service's method
//     names and the not-found message (dispatch_table.go);
//   - admission: the count of calls admitted and not yet released, the
//     limit of concurrent calls and the go-away check (dispatch_admit.go);
//   - execution: a call run through the interceptors, then the method,
//     its failures logged (dispatch_exec.go).
//
// It knows nothing of connections, sessions or HTTP: what it needs of the
// server that owns it — ending a detached session to free a slot — comes
// in its dispatchConfig, as a function. It starts no goroutines.
//
// Locks: mu guards services and serializes the writers of methods, which
// is replaced, never mutated, so calls read it without a lock. mu is a
// leaf: nothing else is locked while it is held, and nothing is called
// out of the dispatcher with it held.
type dispatcher struct {
	cfg dispatchConfig

	// methods maps "Service.Method" and bare function names to their
	// entries. Written under mu; read without it.
	methods atomic.Pointer[map[string]*method]

	// active counts calls admitted and not yet released.
	active atomic.Int64
	// waiting counts the calls under their share waiting for a slot at
	// the limit of concurrent calls (dispatch_admit.go).
	waiting atomic.Int32

	// chained is the interceptors wrapped around invokeMethod, built
	// once; nil without interceptors.
	chained Invoker

	mu       sync.Mutex
	services map[string][]string // guarded by mu: service name -> its method names, sorted
}

// dispatchConfig is what a dispatcher is told by the server that owns it.
type dispatchConfig struct {
	// logger logs the methods Register leaves out, and calls that panic
	// or return results that do not encode.
	logger *slog.Logger
	// interceptors wrap every call, the first outermost.
	interceptors []Interceptor
	// stackTraces sends the stack of a panicking call with its error.
	stackTraces bool
	// maxConcurrent bounds the calls admitted at once; 0 means no bound.
	maxConcurrent int
	// maxReply is the largest encoded result array a call may return.
	maxReply int
	// listMethods lets the not-found message name a service's methods
	// (introspection is on).
	listMethods bool
	// evict ends the session detached the longest of those whose calls
	// still run, for the reason why, and reports whether there was one;
	// admission calls it when the limit of concurrent calls is reached.
	// Nil means none to end.
	evict func(why string) bool
	// refused counts the calls admission refuses.
	refused *refusals
}

// newDispatcher returns a dispatcher with an empty method table.
func newDispatcher(cfg dispatchConfig) *dispatcher {
	if cfg.refused == nil {
		cfg.refused = new(refusals)
	}
	d := &dispatcher{cfg: cfg, services: make(map[string][]string)}
	if len(cfg.interceptors) > 0 {
		d.chained = chain(cfg.interceptors, invokeMethod)
	}
	d.methods.Store(&map[string]*method{})
	return d
}
