package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
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

A streaming method's items are printed as they arrive, one compact JSON
value per line (with -json, one JSON object per line: {"item": ...}),
then its results if it has any. A method that receives a stream reads its
items from standard input, one JSON value per line, until the end of the
input. -timeout bounds a stream only when it is given; interrupt ends one.

A failed call prints the error, with its code, on standard error and
exits with status 1. With -debug, the server-side traceback is printed
too (the server must run WithStackTraces(true)).

Examples:

	simplerpc call 127.0.0.1:4000 Calc.Add 1 2
	simplerpc call 127.0.0.1:4000 Calc.Describe x=1 y=2 Label=p
	simplerpc call -json 127.0.0.1:4000 greet ada
	simplerpc call 127.0.0.1:4000 Files.Lines 3
	printf '"a"\n"b"\n' | simplerpc call 127.0.0.1:4000 Files.Shout
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
	timed := false
	fs.Visit(func(f *flag.Flag) { timed = timed || f.Name == "timeout" })
	dctx, cancel := context.WithTimeout(e.ctx, *timeout)
	defer cancel()
	c, err := dialServer(dctx, addr, *debug, e.stderr)
	if err != nil {
		printError(e.stderr, "call", err, *asJSON)
		return 1
	}
	defer c.Close()
	m, err := describeMethod(dctx, c, method)
	if err != nil {
		printError(e.stderr, "call", err, *asJSON)
		return 1
	}
	if m != nil && m.Stream != nil {
		ctx := e.ctx
		if timed {
			ctx = dctx
		}
		return streamCall(ctx, e, c, m, callArgs, *asJSON)
	}
	results, err := call(dctx, c, method, m, callArgs)
	if err != nil {
		printError(e.stderr, "call", err, *asJSON)
		return 1
	}
	printResults(e, method, results, *asJSON)
	return 0
}

// describeMethod returns the server's description of method: nil when
// the server has no such method (the call will say what is wrong), or
// when it keeps its description to itself.
func describeMethod(ctx context.Context, c *simplerpc.Client, method string) (*simplerpc.MethodDescription, error) {
	d, err := c.Describe(ctx)
	switch {
	case err == nil:
		return d.Method(method), nil
	case errors.Is(err, &simplerpc.Error{Code: simplerpc.CodeNotFound}):
		return &simplerpc.MethodDescription{Name: method, Results: make([]simplerpc.TypeDescription, 1)}, nil
	}
	return nil, err
}

// call calls method, described by m, and returns its results as JSON.
// The description says how many results the method has; a server
// without introspection gets asked for one.
func call(ctx context.Context, c *simplerpc.Client, method string, m *simplerpc.MethodDescription, args []any) ([]json.RawMessage, error) {
	n := 0 // no such method: the server will say what is wrong
	if m != nil {
		n = len(m.Results)
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

// printResults prints a call's results: as one JSON object with -json,
// else the result itself, an array of several, or nothing for none.
func printResults(e *env, method string, results []json.RawMessage, asJSON bool) {
	if asJSON {
		b, _ := json.Marshal(map[string]any{"method": method, "results": results})
		fmt.Fprintf(e.stdout, "%s\n", b)
		return
	}
	switch len(results) {
	case 0:
	case 1:
		fmt.Fprintln(e.stdout, indent(results[0]))
	default:
		b, _ := json.Marshal(results)
		fmt.Fprintln(e.stdout, indent(b))
	}
}
