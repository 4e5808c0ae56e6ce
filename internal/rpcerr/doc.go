// Package rpcerr holds the error every failed call returns: the Error
// type, its Code, the registry of errors that travel by name
// (RegisterError, RegisterErrorType), and the two forms an Error takes on
// the wire — the native error reply's body (wire.go, PROTOCOL.md
// "Errors") and the JSON-RPC 2.0 error object (jsonrpc.go).
//
// The root package re-declares all of it, through type aliases, for its
// users: it is documented there. This package depends only on the codecs
// and the JSON-RPC wire format, so that every layer of the server and the
// client, and the JSON-RPC handler, can use one error type without
// depending on the root.
package rpcerr
