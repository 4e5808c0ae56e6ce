package jsonrpchttp

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/simplerpc/simplerpc/internal/codec"
	"github.com/simplerpc/simplerpc/internal/rpcerr"
)

// Dispatcher is what the handler needs of the server's dispatcher: the
// method table, the admission check and the execution of a call through
// the interceptors, as native calls are run.
type Dispatcher interface {
	// Lookup returns the method called name ("Service.Method", or a
	// function's name), or nil.
	Lookup(name string) Method
	// NotFound returns the error of a call of name, which Lookup did not
	// find.
	NotFound(name string) *rpcerr.Error
	// Admit admits a call of m against the concurrency limit and the
	// go-away flag, or returns why not; an admitted call must be
	// released. by is the request's: the calls of one request share one
	// wait for a slot at the limit, whose end Admit keeps in it (0 until
	// a call of the request first finds the server full).
	Admit(m Method, by *atomic.Int64) *rpcerr.Error
	// Release ends an admitted call.
	Release()
	// Execute runs m with args through the interceptors, for the client
	// at peer, and encodes its results with JSON into buf: an array of
	// them, as a native reply holds. It returns the call's error, if it
	// failed, and the registered error value to send with it.
	Execute(ctx context.Context, m Method, args []reflect.Value, buf *bytes.Buffer, peer string) (*rpcerr.Error, any)
}

// Method is what the handler needs of one method of the table.
type Method interface {
	// Name is "Service.Method", or a function's name.
	Name() string
	// StreamKind names how the method streams ("server", …), or is ""
	// for a method that does not.
	StreamKind() string
	// Callback returns the position (from 1) and the type of the
	// method's first callback parameter, or 0 for a method that takes
	// none.
	Callback() (param int, typ string)
	// Params returns the method's parameter types, and whether the last
	// is variadic.
	Params() (params []reflect.Type, variadic bool)
	// StructArg reports whether the method's only parameter is a plain
	// struct, which a native client may send by name.
	StructArg() bool
	// Arity describes the arguments the method accepts, for errors.
	Arity() string
	// Results is the number of the method's results, without the error.
	Results() int
	// OpenArgs checks the JSON array args against the decoders' limits
	// and the method's parameters, before anything is decoded; the
	// array's Cost estimates what decoding it takes.
	OpenArgs(args []byte) (codec.Array, *rpcerr.Error)
	// DecodeArgs decodes the opened array into the method's arguments.
	// It takes the array by value: a pointer passed through the
	// interface would move the caller's array to the heap.
	DecodeArgs(arr codec.Array) ([]reflect.Value, *rpcerr.Error)
	// Quick reports whether the method's calls are quick to run, by the
	// sample of them timed.
	Quick() bool
	// Observe records that a timed call took d.
	Observe(d time.Duration)
}

// Budget is the server's memory budget (WithMemoryBudget): one counter
// of everything held for clients, against a limit.
type Budget interface {
	// Limit is the budget, in bytes.
	Limit() int64
	// InUse is the part of it held now.
	InUse() int64
	// TryTake reserves n bytes if they fit, and reports whether it did.
	TryTake(n int64) bool
	// Take reserves n bytes already held, whether or not they fit.
	Take(n int64)
	// Give returns n bytes.
	Give(n int64)
}

// Gate bounds how many large bodies are parsed at once.
type Gate interface {
	// Enter waits for a turn, reporting false if ctx ends first; a
	// goroutine that entered must Leave.
	Enter(ctx context.Context) bool
	// Leave ends a turn.
	Leave()
}

// Config is what a server lends its Handler, by name, once.
type Config struct {
	// Dispatcher finds, admits and runs the calls.
	Dispatcher Dispatcher
	// Budget is the memory budget bodies, calls and responses are
	// charged to; Evict ends the session detached the longest when it
	// is spent, and reports whether there was one.
	Budget Budget
	Evict  func(why string) bool
	// Refused counts the requests and calls refused because the budget
	// was spent (the server's Stats).
	Refused *atomic.Int64
	// Log writes what a peer can make the server log, under the
	// server's rate limit; Logger is the log.
	Log    func(level slog.Level, msg string, args ...any)
	Logger *slog.Logger
	// Parsing is the gate large bodies are parsed through.
	Parsing Gate
	// MetadataKey is the context key of a call's incoming metadata, and
	// Metadata makes it from a request's headers (nil for none).
	MetadataKey any
	Metadata    func(http.Header) any
	// GetBuffer and PutBuffer lend the buffers results are encoded in.
	GetBuffer func() *bytes.Buffer
	PutBuffer func(*bytes.Buffer)
	// SampleEvery is how often calls are timed, one in SampleEvery, for
	// Method.Quick; SampleBatches turns the timing of batch calls off
	// when false (a test's hook).
	SampleEvery   uint32
	SampleBatches bool
	// MaxMessageSize bounds a body, decompressed, and the responses to
	// it.
	MaxMessageSize int
	// WriteTimeout bounds the body's arrival and the response's
	// departure; 0 means no bound.
	WriteTimeout time.Duration
}

// Handler answers JSON-RPC 2.0 calls over HTTP for a server. Its calls
// go through the server's dispatcher, as native calls do. It holds no
// pointer to the server: what it takes of it is lent in its Config.
//
// It has no lock and no state of its own but its Config, set once; the
// state of a request (its charge, its batch) belongs to the request. It
// starts no goroutines of its own but a batch's calls, which end before
// the request is answered (answerBatch).
type Handler struct {
	cfg      Config
	dispatch Dispatcher
	budget   Budget
	logger   *slog.Logger

	// maxMessageSize bounds a body, decompressed, and the responses to
	// it.
	maxMessageSize int
	// writeTimeout bounds the body's arrival and the response's
	// departure; 0 means no bound.
	writeTimeout time.Duration
}

// New returns the handler of a server that lends it cfg.
func New(cfg Config) *Handler {
	if cfg.SampleEvery == 0 {
		cfg.SampleEvery = 1
	}
	return &Handler{
		cfg:            cfg,
		dispatch:       cfg.Dispatcher,
		budget:         cfg.Budget,
		logger:         cfg.Logger,
		maxMessageSize: cfg.MaxMessageSize,
		writeTimeout:   cfg.WriteTimeout,
	}
}
