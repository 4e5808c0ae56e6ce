package rpcerr

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
)

// Error is the error every failed call returns. It carries the failure's
// Code and, for errors that happened on the server, what the server said
// about them. errors.Is and errors.As work through it: a CodeCanceled or
// CodeDeadlineExceeded error is context.Canceled or
// context.DeadlineExceeded, and an error registered with RegisterError or
// RegisterErrorType on both sides comes back as itself.
type Error struct {
	// Code classifies the failure.
	Code Code
	// Message describes it: the remote error's text, or the panic value.
	Message string
	// Method is the called method, "Service.Method" or a function name.
	Method string
	// RemoteType is the Go type of the server-side error or panic value.
	RemoteType string
	// Stack is the server-side traceback, when the server sends them
	// (WithStackTraces).
	Stack string
	// Name is the registered name of the server-side error, if it matched
	// one registered with RegisterError or RegisterErrorType.
	Name string

	cause error
	// rpcCode is the JSON-RPC error code the server-side error chose
	// (JSONRPCCoder, WithJSONRPCCode), or 0 for the mapping of Code.
	rpcCode int
}

// Error returns "simplerpc: Method: code: message".
func (e *Error) Error() string {
	if e.Method == "" {
		return fmt.Sprintf("simplerpc: %s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("simplerpc: %s: %s: %s", e.Method, e.Code, e.Message)
}

// Unwrap returns the underlying error: the registered server-side error
// rebuilt on the client, or the local cause of a client-side failure.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether e matches target: the context errors for
// CodeCanceled and CodeDeadlineExceeded, and any *Error with the same Code
// and either the same or an empty Message.
func (e *Error) Is(target error) bool {
	switch target {
	case context.Canceled:
		return e.Code == CodeCanceled
	case context.DeadlineExceeded:
		return e.Code == CodeDeadlineExceeded
	}
	if t, ok := target.(*Error); ok {
		return t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
	}
	return false
}

// New returns an Error with a local cause.
func New(code Code, method string, cause error) *Error {
	return &Error{Code: code, Method: method, Message: cause.Error(), cause: cause}
}

// Errorf returns an Error with a formatted message.
func Errorf(code Code, method, format string, args ...any) *Error {
	return &Error{Code: code, Method: method, Message: fmt.Sprintf(format, args...)}
}

// FromContext converts a context's error to the matching Error.
func FromContext(method string, err error) *Error {
	code := CodeCanceled
	if errors.Is(err, context.DeadlineExceeded) {
		code = CodeDeadlineExceeded
	}
	return New(code, method, err)
}

// ---- Error registry --------------------------------------------------------

// errorRegistry maps names to sentinel errors and error types, so errors
// registered under the same name on server and client survive the wire.
var errorRegistry struct {
	sync.RWMutex
	sentinels []namedError
	types     []namedType
	byName    map[string]any // error (sentinel) or reflect.Type
}

type namedError struct {
	name string
	err  error
	cfg  errorConfig
}

type namedType struct {
	name string
	typ  reflect.Type
	cfg  errorConfig
}

// An Option configures an error registered with RegisterError or
// RegisterErrorType.
type Option interface{ applyError(*errorConfig) }

// errorConfig is what ErrorOptions set for a registered error.
type errorConfig struct {
	rpcCode int // WithJSONRPCCode; 0 for the mapping of the error's Code
}

type errorOptionFunc func(*errorConfig)

func (f errorOptionFunc) applyError(c *errorConfig) { f(c) }

func newErrorConfig(opts []Option) errorConfig {
	var c errorConfig
	for _, o := range opts {
		o.applyError(&c)
	}
	return c
}

// RegisterError registers a sentinel error under name. When a server-side
// error wraps the sentinel (errors.Is), the reply names it, and a client
// that registered the same name returns an *Error for which
// errors.Is(err, sentinel) holds. Register at init time, the same name on
// both sides. Options apply to the server side (WithJSONRPCCode). It
// panics if name is empty or taken, or err is nil.
func RegisterError(name string, err error, opts ...Option) {
	if err == nil {
		panic("simplerpc: RegisterError of nil error")
	}
	cfg := newErrorConfig(opts)
	register(name, err, func() {
		errorRegistry.sentinels = append(errorRegistry.sentinels, namedError{name, err, cfg})
	})
}

// RegisterErrorType registers the type of example under name, so that
// values of that type travel with their exported fields: when a
// server-side error has one in its chain (errors.As), the reply carries it
// encoded, and a client that registered the same name decodes it, so
// errors.As on the client's *Error finds it. Options apply to the server
// side (WithJSONRPCCode). It panics if name is empty or taken, or example
// is nil.
func RegisterErrorType(name string, example error, opts ...Option) {
	if example == nil {
		panic("simplerpc: RegisterErrorType of nil error")
	}
	cfg := newErrorConfig(opts)
	t := reflect.TypeOf(example)
	register(name, t, func() {
		errorRegistry.types = append(errorRegistry.types, namedType{name, t, cfg})
	})
}

// register claims name for v and runs add, which records v in the
// registry's lists, under the registry's lock; it panics if name is
// empty or taken.
func register(name string, v any, add func()) {
	if name == "" {
		panic("simplerpc: error registered with an empty name")
	}
	errorRegistry.Lock()
	defer errorRegistry.Unlock()
	if errorRegistry.byName == nil {
		errorRegistry.byName = make(map[string]any)
	}
	if _, dup := errorRegistry.byName[name]; dup {
		panic("simplerpc: error name registered twice: " + name)
	}
	errorRegistry.byName[name] = v
	add()
}

// MatchRegistered finds the first registered type, then sentinel, in
// err's chain, and returns its name and the JSON-RPC code it was
// registered with (WithJSONRPCCode; 0 for none). For a type it also
// returns the matching value, to be encoded.
func MatchRegistered(err error) (name string, detail any, rpcCode int) {
	name, detail, cfg := matchRegistered(err)
	return name, detail, cfg.rpcCode
}

// matchRegistered is MatchRegistered, with the registered options.
func matchRegistered(err error) (name string, detail any, cfg errorConfig) {
	errorRegistry.RLock()
	defer errorRegistry.RUnlock()
	for _, nt := range errorRegistry.types {
		p := reflect.New(nt.typ)
		if errors.As(err, p.Interface()) {
			return nt.name, p.Elem().Interface(), nt.cfg
		}
	}
	for _, ne := range errorRegistry.sentinels {
		if errors.Is(err, ne.err) {
			return ne.name, nil, ne.cfg
		}
	}
	return "", nil, errorConfig{}
}

// lookupRegistered returns the sentinel registered under name, or a new
// pointer to a value of the registered type (to decode into), or neither.
func lookupRegistered(name string) (typ reflect.Type, sentinel error) {
	errorRegistry.RLock()
	defer errorRegistry.RUnlock()
	switch v := errorRegistry.byName[name].(type) {
	case error:
		return nil, v
	case reflect.Type:
		return v, nil
	}
	return nil, nil
}

// WithCause sets e's local cause, the error Unwrap returns, and returns e.
func WithCause(e *Error, cause error) *Error {
	e.cause = cause
	return e
}
