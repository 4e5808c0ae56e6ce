package simplerpc

import (
	"encoding/json"
	"fmt"
)

// JSON-RPC 2.0 error codes. The first five are the specification's; the
// others, in its "server error" range, stand for the simplerpc Codes that
// have no counterpart there (docs/jsonrpc.md).
const (
	rpcParseError        = -32700
	rpcInvalidRequest    = -32600
	rpcMethodNotFound    = -32601
	rpcInvalidParams     = -32602
	rpcInternalError     = -32603
	rpcApplicationError  = -32000
	rpcUnavailable       = -32001
	rpcResourceExhausted = -32002
	rpcCanceled          = -32003
	rpcDeadlineExceeded  = -32004
	rpcUnauthenticated   = -32005
	rpcPermissionDenied  = -32006
	rpcConnectionLost    = -32007
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
		return rpcMethodNotFound
	case CodeInvalidArgument:
		return rpcInvalidParams
	case CodeInternal:
		return rpcInternalError
	case CodeUnavailable:
		return rpcUnavailable
	case CodeResourceExhausted:
		return rpcResourceExhausted
	case CodeCanceled:
		return rpcCanceled
	case CodeDeadlineExceeded:
		return rpcDeadlineExceeded
	case CodeUnauthenticated:
		return rpcUnauthenticated
	case CodePermissionDenied:
		return rpcPermissionDenied
	case CodeConnectionLost:
		return rpcConnectionLost
	}
	return rpcApplicationError
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
func WithJSONRPCCode(code int) ErrorOption {
	if !validRPCCode(code) {
		panic(fmt.Sprintf("simplerpc: WithJSONRPCCode(%d): JSON-RPC 2.0 reserves -32768 to -32000; choose a code outside that range, or -32602 or -32603", code))
	}
	return errorOptionFunc(func(c *errorConfig) { c.rpcCode = code })
}

// validRPCCode reports whether an application may send code: any code
// outside the range the specification reserves, and of those in it the
// two that speak of a method's own findings.
func validRPCCode(code int) bool {
	return code < -32768 || code > -32000 || code == rpcInvalidParams || code == rpcInternalError
}

// rpcError is a JSON-RPC error object.
type rpcError struct {
	Code    int           `json:"code"`
	Message string        `json:"message"`
	Data    *rpcErrorData `json:"data,omitempty"`
}

// rpcErrorData is the "data" member of the error of a call that reached
// the method table: what a native *Error carries.
type rpcErrorData struct {
	Code   string `json:"code"`             // Code.String(), "not_found"
	Type   string `json:"type"`             // Go type of the server-side error or panic value
	Stack  string `json:"stack,omitempty"`  // server-side traceback, with WithStackTraces
	Method string `json:"method"`           // the called method
	Name   string `json:"name,omitempty"`   // registered error name (RegisterError)
	Detail any    `json:"detail,omitempty"` // the registered error type's fields (RegisterErrorType)
}

// protocolError is an error about the request itself (parse error,
// invalid request), which has no data member.
func protocolError(code int, msg string) *rpcError {
	return &rpcError{Code: code, Message: msg}
}

// rpcErrorOf converts a call's *Error, with the registered error value
// detail (or nil), into its JSON-RPC error object.
func rpcErrorOf(e *Error, detail any) *rpcError {
	code := e.rpcCode
	if code == 0 {
		code = JSONRPCCode(e.Code)
	}
	return &rpcError{
		Code:    code,
		Message: e.Message,
		Data: &rpcErrorData{
			Code:   e.Code.String(),
			Type:   e.RemoteType,
			Stack:  e.Stack,
			Method: e.Method,
			Name:   e.Name,
			Detail: detail,
		},
	}
}

// appendRPCError appends the response carrying re for the request id
// (raw JSON; nil means null).
func appendRPCError(dst []byte, id json.RawMessage, re *rpcError) []byte {
	b, err := json.Marshal(re)
	if err != nil && re.Data != nil && re.Data.Detail != nil {
		// The registered value does not encode: send the error without it.
		re.Data.Detail = nil
		b, err = json.Marshal(re)
	}
	if err != nil {
		b, _ = json.Marshal(protocolError(rpcInternalError, "encoding the error failed: "+err.Error()))
	}
	dst = append(dst, `{"jsonrpc":"2.0","error":`...)
	dst = append(dst, b...)
	return appendRPCID(dst, id)
}

// appendRPCResult appends the response carrying the encoded result for
// the request id.
func appendRPCResult(dst []byte, id, result json.RawMessage) []byte {
	dst = append(dst, rpcResultHead...)
	dst = append(dst, result...)
	return appendRPCID(dst, id)
}

// The fixed parts of a response object.
const (
	rpcResultHead = `{"jsonrpc":"2.0","result":`
	rpcIDHead     = `,"id":`
)

func appendRPCID(dst []byte, id json.RawMessage) []byte {
	dst = append(dst, rpcIDHead...)
	if id == nil {
		id = jsonNull
	}
	dst = append(dst, id...)
	return append(dst, '}')
}

var jsonNull = json.RawMessage("null")
