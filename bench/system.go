package main

import (
	"context"
	"net"
)

// Payload is the message echoed by the "struct" workload.
type Payload struct {
	Data []byte
	Name string
}

// AddArgs holds the operands of Add for systems whose methods take one
// argument struct.
type AddArgs struct {
	A, B int64
}

// AddReply holds the result of Add for systems whose methods fill a reply
// struct.
type AddReply struct {
	Sum int64
}

// Blob wraps a byte slice for systems that cannot send a bare []byte.
type Blob struct {
	Data []byte
}

// system is one RPC stack under test. A system serves on a listener and
// dials clients to it; the harness owns the listener's address.
type system interface {
	name() string
	// serve starts serving on ln and returns a function that stops the
	// server and every connection it accepted.
	serve(ln net.Listener) (stop func() error, err error)
	// dial returns one client connected to addr. Calls on it may be made
	// from many goroutines at once.
	dial(ctx context.Context, addr string) (client, error)
}

// client is the call surface every system provides for the three workloads.
type client interface {
	add(ctx context.Context, a, b int64) (int64, error)
	echo(ctx context.Context, p *Payload) (*Payload, error)
	echoBytes(ctx context.Context, b []byte) ([]byte, error)
	close() error
}

// allSystems lists every system in report order: the floors first, then
// simplerpc, then its peers.
func allSystems() []system {
	return []system{
		floorSystem{coalesce: true},
		floorSystem{coalesce: false},
		simplerpcSystem{codec: "cbor"},
		simplerpcSystem{codec: "json"},
		netrpcSystem{},
		grpcSystem{},
		arpcSystem{},
		drpcSystem{},
		rpcxSystem{},
	}
}
