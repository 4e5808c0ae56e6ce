// Package jsonrpchttp serves JSON-RPC 2.0 over HTTP for a simplerpc
// server: it reads a request's body within the size limit and the memory
// budget (body.go, budget.go), parses it with the wire format of package
// jsonrpc, runs each request through the server's dispatcher as a native
// call is run (call.go), a batch's quick calls one after another and the
// others a few at a time (batch.go), and writes the responses (serve.go).
//
// It depends only on the codecs, the error type (rpcerr), the wire
// format (jsonrpc) and the interfaces it declares for what it needs of
// the server (handler.go): the dispatcher and its methods, the memory
// budget, the parse gate. The server lends it those, and the go-away
// flag (through Dispatcher.Admit), the log limiter and the metadata key,
// in a Config, once; the root package's ServeHTTP calls Handler.ServeHTTP.
package jsonrpchttp
