package main

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/simplerpc/simplerpc/internal/gen"
)

const genSynopsis = "-type NAME [flags] [PACKAGE]"

const genHelp = `
Gen writes a typed client for a server type or an interface of the Go
package PACKAGE (default ".", the current directory's package). The client
type has the same methods, each with a leading context.Context and a
trailing error added where the original lacks them, and calls the server
through a *simplerpc.Client. When the input is an interface whose methods
already take a context and return an error, the generated code asserts
that the client satisfies it.

Use it from a go:generate line in the package:

	//go:generate go run github.com/simplerpc/simplerpc/cmd/simplerpc gen -type Calc -o calc_client.go

With -proxy, TYPE is an interface of callbacks, such as an observer a
server's method takes, and gen writes instead the adapter the server
registers for it: a struct with a func field per method, the methods
calling them, and an init that registers it (simplerpc.RegisterProxy).
-client names the adapter (default: the interface's name, lower-case
first, with "Proxy"); the file defaults to type_proxy.go:

	//go:generate go run github.com/simplerpc/simplerpc/cmd/simplerpc gen -proxy -type Observer
`

func runGen(e *env, args []string) int {
	fs := newFlagSet("gen", genSynopsis, genHelp)
	typ := fs.String("type", "", "the server `type` or interface to mirror (required)")
	service := fs.String("service", "", "the `name` the server registered the type under (default: the type's name)")
	client := fs.String("client", "", "the generated client type's `name` (default: TYPE+\"Client\")")
	pkg := fs.String("package", "", "the generated file's package `name` (default: the input package's)")
	proxy := fs.Bool("proxy", false, "write the server's adapter of interface TYPE, whose methods are callbacks, instead of a client")
	out := fs.String("o", "", "output `file`; \"-\" for standard output (default: type_client.go, the type's name in snake case)")
	pos, code, ok := parse(fs, e, args)
	if !ok {
		return code
	}
	if *typ == "" {
		return usageError(e, fs, "-type is required")
	}
	if len(pos) > 1 {
		return usageError(e, fs, "gen reads one package, got %d: %s", len(pos), strings.Join(pos, " "))
	}
	cfg := gen.Config{Type: *typ, Service: *service, Client: *client, Package: *pkg, Output: *out, Proxy: *proxy}
	if len(pos) == 1 {
		cfg.Pattern = pos[0]
	}
	if cfg.Output == "" {
		cfg.Output = snake(*typ) + "_client.go"
		if *proxy {
			cfg.Output = snake(*typ) + "_proxy.go"
		}
	}
	if cfg.Output == "-" {
		cfg.Output = ""
		src, err := gen.Generate(cfg)
		if err != nil {
			fmt.Fprintf(e.stderr, "simplerpc %v\n", err)
			return 1
		}
		_, _ = e.stdout.Write(src)
		return 0
	}
	if err := gen.WriteFile(cfg); err != nil {
		fmt.Fprintf(e.stderr, "simplerpc %v\n", err)
		return 1
	}
	return 0
}

// snake converts a Go name to snake case: "HTTPCalc" -> "http_calc".
func snake(name string) string {
	var b strings.Builder
	r := []rune(name)
	for i, c := range r {
		if unicode.IsUpper(c) {
			if i > 0 && (unicode.IsLower(r[i-1]) || i+1 < len(r) && unicode.IsLower(r[i+1])) {
				b.WriteByte('_')
			}
			c = unicode.ToLower(c)
		}
		b.WriteRune(c)
	}
	return b.String()
}
