package jsonrpc

import (
	"bytes"
	"encoding/json"
)

// Null is the JSON null, the id of a response to a request whose id
// could not be read.
var Null = json.RawMessage("null")

// The fixed parts of a response object.
const (
	resultHead = `{"jsonrpc":"2.0","result":`
	idHead     = `,"id":`
)

// ResultSize returns the length of the response AppendResult appends
// for result and id.
func ResultSize(id, result json.RawMessage) int {
	if id == nil {
		id = Null
	}
	return len(resultHead) + len(result) + len(idHead) + len(id) + 1
}

// AppendResult appends the response carrying the encoded result for
// the request id (raw JSON; nil means null).
func AppendResult(dst []byte, id, result json.RawMessage) []byte {
	dst = append(dst, resultHead...)
	dst = append(dst, result...)
	return appendID(dst, id)
}

// AppendError appends the response carrying e for the request id (raw
// JSON; nil means null). An error whose detail does not encode is sent
// without it; one that does not encode at all, as an internal error
// saying why.
func AppendError(dst []byte, id json.RawMessage, e *Error) []byte {
	b, err := json.Marshal(e)
	if err != nil && e.Data != nil && e.Data.Detail != nil {
		e.Data.Detail = nil
		b, err = json.Marshal(e)
	}
	if err != nil {
		b, _ = json.Marshal(Invalid(CodeInternalError, "encoding the error failed: "+err.Error()))
	}
	dst = append(dst, `{"jsonrpc":"2.0","error":`...)
	dst = append(dst, b...)
	return appendID(dst, id)
}

func appendID(dst []byte, id json.RawMessage) []byte {
	dst = append(dst, idHead...)
	if id == nil {
		id = Null
	}
	dst = append(dst, id...)
	return append(dst, '}')
}

// Result shapes the encoded result array of a method with n results
// into the JSON-RPC result: null for none, the value for one, the array
// for several.
func Result(n int, array []byte) json.RawMessage {
	switch n {
	case 0:
		return Null
	case 1:
		array = bytes.TrimSpace(array)
		return bytes.TrimSpace(array[1 : len(array)-1])
	}
	return array
}
