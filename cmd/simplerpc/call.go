package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/simplerpc/simplerpc"
)

const callSynopsis = "[flags] ADDR METHOD [ARG...]"

const callHelp = `
Call calls METHOD ("Service.Method", or a function's name) on the server
at ADDR (host:port) and prints its results as indented JSON: the result
itself when there is one, an array when there are several, nothing when
there are none.

Each ARG is a JSON value (3, 2.5, true, null, '"text"', '[1,2]',
'{"x":1}'); an ARG that is not valid JSON is sent as a string. For a
method whose only parameter is a struct, name=value pairs send the fields
by name (their JSON names): x=1 y=2 Label=p.

A failed call prints the error, with its code, on standard error and
exits with status 1. With -debug, the server-side traceback is printed
too (the server must run WithStackTraces(true)).

Examples:

	simplerpc call 127.0.0.1:4000 Calc.Add 1 2
	simplerpc call 127.0.0.1:4000 Calc.Describe x=1 y=2 Label=p
	simplerpc call -json 127.0.0.1:4000 greet ada
`

func runCall(e *env, args []string) int {
	fs := newFlagSet("call", callSynopsis, callHelp)
	asJSON := fs.Bool("json", false, "print the results as one JSON object, and errors as JSON on standard error")
	debug := fs.Bool("debug", false, "print the server-side traceback of a failed call")
	timeout := fs.Duration("timeout", 10*time.Second, "give up on the call after this `duration`")
	pos, code, ok := parse(fs, e, args)
	if !ok {
		return code
	}
	if len(pos) < 2 {
		return usageError(e, fs, "call needs ADDR and METHOD")
	}
	addr, method := pos[0], pos[1]
	callArgs, err := parseArgs(pos[2:])
	if err != nil {
		return usageError(e, fs, "%v", err)
	}
	ctx, cancel := context.WithTimeout(e.ctx, *timeout)
	defer cancel()
	c, err := dialServer(ctx, addr, *debug, e.stderr)
	if err != nil {
		printError(e.stderr, "call", err, *asJSON)
		return 1
	}
	defer c.Close()
	results, err := call(ctx, c, method, callArgs)
	if err != nil {
		printError(e.stderr, "call", err, *asJSON)
		return 1
	}
	if *asJSON {
		b, _ := json.Marshal(map[string]any{"method": method, "results": results})
		fmt.Fprintf(e.stdout, "%s\n", b)
		return 0
	}
	switch len(results) {
	case 0:
	case 1:
		fmt.Fprintln(e.stdout, indent(results[0]))
	default:
		b, _ := json.Marshal(results)
		fmt.Fprintln(e.stdout, indent(b))
	}
	return 0
}

// call calls method and returns its results as JSON. The server's
// description says how many results the method has; a server without
// introspection gets asked for one.
func call(ctx context.Context, c *simplerpc.Client, method string, args []any) ([]json.RawMessage, error) {
	n := 1
	d, err := c.Describe(ctx)
	switch {
	case err == nil:
		if m := d.Method(method); m != nil {
			n = len(m.Results)
		} else {
			n = 0 // the server will say what is wrong
		}
	case errors.Is(err, &simplerpc.Error{Code: simplerpc.CodeNotFound}):
	default:
		return nil, err
	}
	results := make([]json.RawMessage, n)
	ptrs := make([]any, n)
	for i := range results {
		ptrs[i] = &results[i]
	}
	if err := c.Call(ctx, method, args, ptrs...); err != nil {
		return nil, err
	}
	return results, nil
}
