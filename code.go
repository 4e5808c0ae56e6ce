package simplerpc

import "github.com/simplerpc/simplerpc/internal/rpcerr"

// Code classifies an Error. The numeric values are part of the wire
// protocol (PROTOCOL.md) and never change.
//
// String returns the code's name in snake case, as used on the wire by
// JSON-RPC and by the command-line tool ("not_found"), or "code(N)" for a
// value that is none of the codes below; ParseCode is its inverse.
type Code = rpcerr.Code

// The codes. The zero Code is not a valid code. (They are internal/rpcerr's,
// spelled out here for the documentation; a test checks they agree.)
const (
	// CodeApplication: the method ran and returned an error.
	CodeApplication Code = 1
	// CodeNotFound: no such service or method.
	CodeNotFound Code = 2
	// CodeInvalidArgument: the arguments do not decode into the method's
	// parameters, or their number is wrong.
	CodeInvalidArgument Code = 3
	// CodeInternal: the method panicked; the message holds the panic value.
	CodeInternal Code = 4
	// CodeUnavailable: the call was not executed (server busy, shutting
	// down, or the connection failed before the call was sent). It is always
	// safe to retry.
	CodeUnavailable Code = 5
	// CodeConnectionLost: the connection dropped while the call was in
	// flight; it may or may not have run.
	CodeConnectionLost Code = 6
	// CodeCanceled: the caller canceled the call. errors.Is(err,
	// context.Canceled) holds.
	CodeCanceled Code = 7
	// CodeDeadlineExceeded: the caller's deadline passed. errors.Is(err,
	// context.DeadlineExceeded) holds.
	CodeDeadlineExceeded Code = 8
	// CodeResourceExhausted: a message exceeded the size limit.
	CodeResourceExhausted Code = 9
	// CodeUnauthenticated: the caller did not prove who it is.
	CodeUnauthenticated Code = 10
	// CodePermissionDenied: the caller may not make this call.
	CodePermissionDenied Code = 11
)

// ParseCode returns the Code whose String is name.
func ParseCode(name string) (Code, bool) { return rpcerr.ParseCode(name) }

// JSONRPCCode returns the JSON-RPC 2.0 error code that stands for c in
// the error objects of JSON-RPC replies: -32601 not_found, -32602
// invalid_argument, -32603 internal, -32000 application, -32001
// unavailable, -32002 resource_exhausted, -32003 canceled, -32004
// deadline_exceeded, -32005 unauthenticated, -32006 permission_denied,
// -32007 connection_lost. Any other value maps to -32000.
func JSONRPCCode(c Code) int { return rpcerr.JSONRPCCode(c) }
