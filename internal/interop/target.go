package interop

import (
	"context"
	"fmt"
	"time"

	"github.com/simplerpc/simplerpc"
)

// The transports a Target speaks.
const (
	TransportNative  = "native"
	TransportJSONRPC = "jsonrpc"
)

// Target is what the cases call: a server reached by one transport.
// Errors of calls that reached the server are, or wrap, a
// *simplerpc.Error (errors.As finds it) with the code, message, method
// and registered name the server sent.
type Target interface {
	// Call calls method with args by position and decodes its results
	// into results, which are pointers.
	Call(ctx context.Context, method string, args []any, results ...any) error
	// CallNamed calls method, whose only parameter is a struct, with
	// that struct's fields by name.
	CallNamed(ctx context.Context, method string, args map[string]any, results ...any) error
	// Transport returns TransportNative or TransportJSONRPC.
	Transport() string
}

// Native is a Target reached by the native protocol, through a
// simplerpc.Client. Metadata in a call's context (simplerpc.AppendMetadata)
// travels with the call; the context's deadline travels as the call's
// timeout, and canceling it sends a cancel frame.
type Native struct {
	Client *simplerpc.Client
}

// Call calls method through the client.
func (n Native) Call(ctx context.Context, method string, args []any, results ...any) error {
	return n.Client.Call(ctx, method, args, results...)
}

// CallNamed sends args as the one map a struct parameter takes by name.
func (n Native) CallNamed(ctx context.Context, method string, args map[string]any, results ...any) error {
	return n.Client.Call(ctx, method, []any{args}, results...)
}

// Transport returns TransportNative.
func (Native) Transport() string { return TransportNative }

// DialNative dials addr with codec ("cbor" or "json") and returns the
// Target and the client, which the caller closes.
func DialNative(ctx context.Context, addr, codec string) (Native, error) {
	c, err := simplerpc.Dial(ctx, addr, simplerpc.WithCodec(codec),
		// A case that fails must fail soon: no minutes of retries against
		// a server that is not there.
		simplerpc.WithRetry(simplerpc.RetryPolicy{MaxAttempts: 3, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}))
	if err != nil {
		return Native{}, fmt.Errorf("interop: dialing %s: %w", addr, err)
	}
	return Native{Client: c}, nil
}
