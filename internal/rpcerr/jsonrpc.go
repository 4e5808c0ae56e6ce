package rpcerr

import (
	"fmt"

	"github.com/simplerpc/simplerpc/internal/jsonrpc"
)

// JSONRPCCode returns the JSON-RPC 2.0 error code that stands for c in
// the error objects of JSON-RPC replies: -32601 not_found, -32602
// invalid_argument, -32603 internal, -32000 application, -32001
// unavailable, -32002 resource_exhausted, -32003 canceled, -32004
// deadline_exceeded, -32005 unauthenticated, -32006 permission_denied,
// -32007 connection_lost. Any other value maps to -32000.
func JSONRPCCode(c Code) int {
	switch c {
	case CodeNotFound:
		return jsonrpc.CodeMethodNotFound
	case CodeInvalidArgument:
		return jsonrpc.CodeInvalidParams
	case CodeInternal:
		return jsonrpc.CodeInternalError
	case CodeUnavailable:
		return jsonrpc.CodeUnavailable
	case CodeResourceExhausted:
		return jsonrpc.CodeResourceExhausted
	case CodeCanceled:
		return jsonrpc.CodeCanceled
	case CodeDeadlineExceeded:
		return jsonrpc.CodeDeadlineExceeded
	case CodeUnauthenticated:
		return jsonrpc.CodeUnauthenticated
	case CodePermissionDenied:
		return jsonrpc.CodePermissionDenied
	case CodeConnectionLost:
		return jsonrpc.CodeConnectionLost
	}
	return jsonrpc.CodeApplicationError
}

// A JSONRPCCoder is an error that chooses the code of the JSON-RPC error
// object it is sent as, in place of the mapping of its Code (JSONRPCCode):
// a method error with one in its chain (errors.As) is sent with that code,
// if it is one an application may use (see WithJSONRPCCode); otherwise,
// or for 0, the mapping holds. It says nothing to native clients, which see the
// Code.
type JSONRPCCoder interface {
	error
	JSONRPCCode() int
}

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
func WithJSONRPCCode(code int) Option {
	if !jsonrpc.ValidAppCode(code) {
		panic(fmt.Sprintf("simplerpc: WithJSONRPCCode(%d): JSON-RPC 2.0 reserves -32768 to -32000; choose a code outside that range, or -32602 or -32603", code))
	}
	return errorOptionFunc(func(c *errorConfig) { c.rpcCode = code })
}

// JSONRPCError converts a call's *Error, with the registered error value
// detail (or nil), into its JSON-RPC error object.
func JSONRPCError(e *Error, detail any) *jsonrpc.Error {
	code := e.rpcCode
	if code == 0 {
		code = JSONRPCCode(e.Code)
	}
	return &jsonrpc.Error{
		Code:    code,
		Message: e.Message,
		Data: &jsonrpc.ErrorData{
			Code:   e.Code.String(),
			Type:   e.RemoteType,
			Stack:  e.Stack,
			Method: e.Method,
			Name:   e.Name,
			Detail: detail,
		},
	}
}
