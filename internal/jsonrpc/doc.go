// Package jsonrpc holds the JSON-RPC 2.0 wire format as a simplerpc
// server speaks it over HTTP: a request body parsed into its requests
// without decoding their values (request.go, split.go), responses and
// error objects appended to a buffer (response.go, errorobject.go), and
// the HTTP content codings of bodies (gzip.go, write.go).
//
// It knows nothing of methods, calls or budgets: the server's handler
// (package jsonrpchttp) runs each parsed request through the
// dispatcher and answers with what this package encodes. Nothing here
// does I/O but what an http.ResponseWriter or a request body is given.
package jsonrpc
