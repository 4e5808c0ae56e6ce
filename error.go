package simplerpc

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
}

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown or
// Close.
var ErrServerClosed = errors.New("simplerpc: server closed")

// ErrClientClosed is returned by calls on a closed Client.
var ErrClientClosed = errors.New("simplerpc: client closed")

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

// newError returns an Error with a local cause.
func newError(code Code, method string, cause error) *Error {
	return &Error{Code: code, Method: method, Message: cause.Error(), cause: cause}
}

// errorf returns an Error with a formatted message.
func errorf(code Code, method, format string, args ...any) *Error {
	return &Error{Code: code, Method: method, Message: fmt.Sprintf(format, args...)}
}

// contextError converts a context's error to the matching Error.
func contextError(method string, err error) *Error {
	code := CodeCanceled
	if errors.Is(err, context.DeadlineExceeded) {
		code = CodeDeadlineExceeded
	}
	return newError(code, method, err)
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
}

type namedType struct {
	name string
	typ  reflect.Type
}

// RegisterError registers a sentinel error under name. When a server-side
// error wraps the sentinel (errors.Is), the reply names it, and a client
// that registered the same name returns an *Error for which
// errors.Is(err, sentinel) holds. Register at init time, the same name on
// both sides. It panics if name is empty or taken, or err is nil.
func RegisterError(name string, err error) {
	if err == nil {
		panic("simplerpc: RegisterError of nil error")
	}
	register(name, err)
	errorRegistry.sentinels = append(errorRegistry.sentinels, namedError{name, err})
	errorRegistry.Unlock()
}

// RegisterErrorType registers the type of example under name, so that
// values of that type travel with their exported fields: when a
// server-side error has one in its chain (errors.As), the reply carries it
// encoded, and a client that registered the same name decodes it, so
// errors.As on the client's *Error finds it. It panics if name is empty or
// taken, or example is nil.
func RegisterErrorType(name string, example error) {
	if example == nil {
		panic("simplerpc: RegisterErrorType of nil error")
	}
	t := reflect.TypeOf(example)
	register(name, t)
	errorRegistry.types = append(errorRegistry.types, namedType{name, t})
	errorRegistry.Unlock()
}

// register claims name and leaves the registry locked.
func register(name string, v any) {
	if name == "" {
		panic("simplerpc: error registered with an empty name")
	}
	errorRegistry.Lock()
	if errorRegistry.byName == nil {
		errorRegistry.byName = make(map[string]any)
	}
	if _, dup := errorRegistry.byName[name]; dup {
		errorRegistry.Unlock()
		panic("simplerpc: error name registered twice: " + name)
	}
	errorRegistry.byName[name] = v
}

// matchRegistered finds the first registered type, then sentinel, in err's
// chain. For a type it also returns the matching value, to be encoded.
func matchRegistered(err error) (name string, detail any) {
	errorRegistry.RLock()
	defer errorRegistry.RUnlock()
	for _, nt := range errorRegistry.types {
		p := reflect.New(nt.typ)
		if errors.As(err, p.Interface()) {
			return nt.name, p.Elem().Interface()
		}
	}
	for _, ne := range errorRegistry.sentinels {
		if errors.Is(err, ne.err) {
			return ne.name, nil
		}
	}
	return "", nil
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
