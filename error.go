package simplerpc

import (
	"bytes"
	"errors"

	"github.com/simplerpc/simplerpc/internal/codec"
	"github.com/simplerpc/simplerpc/internal/rpcerr"
)

// Error is the error every failed call returns. It carries the failure's
// Code and, for errors that happened on the server, what the server said
// about them. errors.Is and errors.As work through it: a CodeCanceled or
// CodeDeadlineExceeded error is context.Canceled or
// context.DeadlineExceeded, and an error registered with RegisterError or
// RegisterErrorType on both sides comes back as itself.
//
// Its fields:
//
//	Code       Code   // classifies the failure
//	Message    string // describes it: the remote error's text, or the panic value
//	Method     string // the called method, "Service.Method" or a function name
//	RemoteType string // the Go type of the server-side error or panic value
//	Stack      string // the server-side traceback, when the server sends them (WithStackTraces)
//	Name       string // the registered name of the server-side error, if it matched
//	                  // one registered with RegisterError or RegisterErrorType
//
// Its methods:
//
//   - Error returns "simplerpc: Method: code: message".
//   - Unwrap returns the underlying error: the registered server-side error
//     rebuilt on the client, or the local cause of a client-side failure.
//   - Is reports whether e matches target: the context errors for
//     CodeCanceled and CodeDeadlineExceeded, and any *Error with the same
//     Code and either the same or an empty Message.
type Error = rpcerr.Error

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown or
// Close.
var ErrServerClosed = errors.New("simplerpc: server closed")

// ErrClientClosed is returned by calls on a closed Client.
var ErrClientClosed = errors.New("simplerpc: client closed")

// An ErrorOption configures an error registered with RegisterError or
// RegisterErrorType.
type ErrorOption = rpcerr.Option

// RegisterError registers a sentinel error under name. When a server-side
// error wraps the sentinel (errors.Is), the reply names it, and a client
// that registered the same name returns an *Error for which
// errors.Is(err, sentinel) holds. Register at init time, the same name on
// both sides. Options apply to the server side (WithJSONRPCCode). It
// panics if name is empty or taken, or err is nil.
func RegisterError(name string, err error, opts ...ErrorOption) {
	rpcerr.RegisterError(name, err, opts...)
}

// RegisterErrorType registers the type of example under name, so that
// values of that type travel with their exported fields: when a
// server-side error has one in its chain (errors.As), the reply carries it
// encoded, and a client that registered the same name decodes it, so
// errors.As on the client's *Error finds it. Options apply to the server
// side (WithJSONRPCCode). It panics if name is empty or taken, or example
// is nil.
func RegisterErrorType(name string, example error, opts ...ErrorOption) {
	rpcerr.RegisterErrorType(name, example, opts...)
}

// A JSONRPCCoder is an error that chooses the code of the JSON-RPC error
// object it is sent as, in place of the mapping of its Code (JSONRPCCode):
// a method error with one in its chain (errors.As) is sent with that code,
// if it is one an application may use (see WithJSONRPCCode); otherwise,
// or for 0, the mapping holds. It says nothing to native clients, which see the
// Code. It is the interface:
//
//	interface {
//		error
//		JSONRPCCode() int
//	}
type JSONRPCCoder = rpcerr.JSONRPCCoder

// WithJSONRPCCode gives an error registered with RegisterError or
// RegisterErrorType its own JSON-RPC error code: a method error that
// matches it is sent to JSON-RPC clients with code, rather than the
// -32000 of application errors. The data member is the same.
//
// JSON-RPC 2.0 reserves -32768 to -32000 for the specification and the
// server (docs/jsonrpc.md lists what simplerpc sends there), and some
// clients treat codes of that range as the server's own (one drops the
// data member of -32000 to -32099); choose code outside it, or -32602
// (invalid params) or -32603 (internal error), which the specification
// defines for what a method may itself find. It panics on any other code
// in the range.
func WithJSONRPCCode(code int) ErrorOption { return rpcerr.WithJSONRPCCode(code) }

// ---- The error package's helpers, under the names the root's files use ----

// newError returns an Error with a local cause.
func newError(code Code, method string, cause error) *Error { return rpcerr.New(code, method, cause) }

// errorf returns an Error with a formatted message.
func errorf(code Code, method, format string, args ...any) *Error {
	return rpcerr.Errorf(code, method, format, args...)
}

// contextError converts a context's error to the matching Error.
func contextError(method string, err error) *Error { return rpcerr.FromContext(method, err) }

// appendErrorBody encodes e, with the registered error value detail (or
// nil), into buf as an error reply's body (rpcerr.AppendBody).
func appendErrorBody(buf *bytes.Buffer, c codec.Codec, e *Error, detail any) error {
	return rpcerr.AppendBody(buf, c, e, detail)
}

// decodeErrorBody decodes an error reply for a call of method
// (rpcerr.DecodeBody).
func decodeErrorBody(c codec.Codec, body []byte, method string) *Error {
	return rpcerr.DecodeBody(c, body, method)
}

// remoteError converts an error returned by a method into the Error sent
// to the caller, with the registered value (if any) to send as detail
// (rpcerr.Remote).
func remoteError(method string, err error, stacks bool) (*Error, any) {
	return rpcerr.Remote(method, err, stacks)
}

// matchRegistered finds the first registered error type, then sentinel,
// in err's chain and returns its name and its JSON-RPC code (0 for the
// mapping of its Code), and for a type the matching value.
func matchRegistered(err error) (name string, detail any, rpcCode int) {
	return rpcerr.MatchRegistered(err)
}

// withCause sets e's local cause, the error Unwrap returns, and returns e.
func withCause(e *Error, cause error) *Error { return rpcerr.WithCause(e, cause) }
