package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/simplerpc/simplerpc/internal/interop"
)

const interopClientSynopsis = "-addr ADDR [-transport native|jsonrpc] [-codec cbor|json] [-case NAME|all]"

const interopClientHelp = `
Interop-client runs the interop cases (docs/interop.md) against the
interop server at ADDR — "simplerpc interop-server", or a server of the
interop service in any language — and prints one line per case:

	PASS name
	FAIL name: reason
	SKIP name: reason   (a case the transport cannot express)

then "N passed, M failed" (and ", K skipped"). It exits with status 1 if
any case failed.

-transport native speaks the native protocol with -codec; -transport
jsonrpc speaks JSON-RPC 2.0 over HTTP, always in JSON. -case takes "all"
(the cases every server must pass), a case's name, or names separated by
commas.

Example:

	simplerpc interop-server -addr 127.0.0.1:7070 &
	simplerpc interop-client -addr 127.0.0.1:7070 -transport jsonrpc
`

func runInteropClient(e *env, args []string) int {
	fs := newFlagSet("interop-client", interopClientSynopsis, interopClientHelp)
	addr := fs.String("addr", "", "the interop server's `addr` (host:port; required)")
	transport := fs.String("transport", interop.TransportNative, "`transport`: native or jsonrpc")
	codec := fs.String("codec", "cbor", "the native protocol's `codec`: cbor or json")
	which := fs.String("case", "all", "the `cases` to run: all, a name, or names separated by commas")
	pos, code, ok := parse(fs, e, args)
	if !ok {
		return code
	}
	switch {
	case len(pos) != 0:
		return usageError(e, fs, "interop-client takes no arguments, only flags")
	case *addr == "":
		return usageError(e, fs, "-addr is required")
	case *codec != "cbor" && *codec != "json":
		return usageError(e, fs, "-codec must be cbor or json, not %q", *codec)
	}
	cases, err := interop.Select(*which)
	if err != nil {
		return usageError(e, fs, "%v", err)
	}
	var target interop.Target
	switch *transport {
	case interop.TransportNative:
		ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
		n, err := interop.DialNative(ctx, *addr, *codec)
		cancel()
		if err != nil {
			fmt.Fprintf(e.stderr, "simplerpc interop-client: %v\n", err)
			return 1
		}
		defer n.Client.Close()
		target = n
	case interop.TransportJSONRPC:
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		target = interop.NewJSONRPC(*addr, &http.Client{Transport: tr})
	default:
		return usageError(e, fs, "-transport must be native or jsonrpc, not %q", *transport)
	}
	if r := interop.Run(e.ctx, target, cases, e.stdout); r.Failed > 0 {
		return 1
	}
	return 0
}
