package rpcerr

import "fmt"

// Code classifies an Error. The numeric values are part of the wire
// protocol (PROTOCOL.md) and never change.
type Code uint8

// The codes. The zero Code is not a valid code.
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

var codeNames = [...]string{
	CodeApplication:       "application",
	CodeNotFound:          "not_found",
	CodeInvalidArgument:   "invalid_argument",
	CodeInternal:          "internal",
	CodeUnavailable:       "unavailable",
	CodeConnectionLost:    "connection_lost",
	CodeCanceled:          "canceled",
	CodeDeadlineExceeded:  "deadline_exceeded",
	CodeResourceExhausted: "resource_exhausted",
	CodeUnauthenticated:   "unauthenticated",
	CodePermissionDenied:  "permission_denied",
}

// String returns the code's name in snake case, as used on the wire by
// JSON-RPC and by the command-line tool ("not_found").
func (c Code) String() string {
	if int(c) < len(codeNames) && codeNames[c] != "" {
		return codeNames[c]
	}
	return fmt.Sprintf("code(%d)", uint8(c))
}

// Known reports whether c is one of the codes above.
func Known(c Code) bool { return c != 0 && int(c) < len(codeNames) }

// ParseCode returns the Code whose String is name.
func ParseCode(name string) (Code, bool) {
	for c, n := range codeNames {
		if n != "" && n == name {
			return Code(c), true
		}
	}
	return 0, false
}
