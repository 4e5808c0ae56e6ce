package jsonrpc

// JSON-RPC 2.0 error codes. The first five are the specification's; the
// others, in its "server error" range, stand for the simplerpc Codes that
// have no counterpart there (docs/jsonrpc.md).
const (
	CodeParseError        = -32700
	CodeInvalidRequest    = -32600
	CodeMethodNotFound    = -32601
	CodeInvalidParams     = -32602
	CodeInternalError     = -32603
	CodeApplicationError  = -32000
	CodeUnavailable       = -32001
	CodeResourceExhausted = -32002
	CodeCanceled          = -32003
	CodeDeadlineExceeded  = -32004
	CodeUnauthenticated   = -32005
	CodePermissionDenied  = -32006
	CodeConnectionLost    = -32007
)

// ValidAppCode reports whether an application may send code: any code
// outside the range the specification reserves (-32768 to -32000), and
// of those in it the two that speak of a method's own findings.
func ValidAppCode(code int) bool {
	return code < -32768 || code > -32000 || code == CodeInvalidParams || code == CodeInternalError
}

// An Error is a JSON-RPC error object.
type Error struct {
	Code    int        `json:"code"`
	Message string     `json:"message"`
	Data    *ErrorData `json:"data,omitempty"`
}

// ErrorData is the "data" member of the error of a call that reached
// the method table: what a native simplerpc error carries.
type ErrorData struct {
	Code   string `json:"code"`             // the simplerpc Code's name, "not_found"
	Type   string `json:"type"`             // Go type of the server-side error or panic value
	Stack  string `json:"stack,omitempty"`  // server-side traceback, when the server sends them
	Method string `json:"method"`           // the called method
	Name   string `json:"name,omitempty"`   // registered error name
	Detail any    `json:"detail,omitempty"` // the registered error type's fields
}

// Invalid returns an error about the request itself (parse error,
// invalid request), which has no data member.
func Invalid(code int, msg string) *Error {
	return &Error{Code: code, Message: msg}
}
