// Package interop holds the interop test service and the cases every
// simplerpc client and server are held to, whatever their language, as
// gRPC's interop suite holds gRPC implementations: docs/interop.md
// describes each case as it looks on the wire.
//
// Service is the service a server registers (Register does it, under
// ServiceName). Cases lists the cases that must pass.
// Run runs cases against a Target: Native reaches a server by the native
// protocol through a simplerpc.Client, JSONRPC by JSON-RPC 2.0 over HTTP
// with a small client of its own (the library has no Go JSON-RPC client).
//
// The "simplerpc interop-server" and "simplerpc interop-client" commands
// are built on this package; clients/python/tests/interop.py is the same
// suite written again in Python.
package interop
