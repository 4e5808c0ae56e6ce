// Command simplerpc is the command-line companion of the simplerpc
// library: it runs a demo, lists what a server exposes, calls and
// benchmarks its methods, checks its health, serves a web console for
// it, generates typed clients, and runs the interop suite.
//
// Usage:
//
//	simplerpc <command> [flags] [arguments]
//
// The commands are demo, list, call, bench, health, console, gen,
// interop-server and interop-client; "simplerpc <command> -h" describes
// each. See docs/cli.md in the repository for examples.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

// env is what a command runs with: its arguments and where it writes.
type env struct {
	ctx    context.Context // canceled on interrupt
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(e *env, args []string) int
}

// commands lists the subcommands, in the order usage shows them.
var commands = []command{
	{"demo", "run a server and a client on loopback and show what they do", runDemo},
	{"list", "list the services and methods a server exposes", runList},
	{"call", "call a method and print its results as JSON", runCall},
	{"bench", "call a method repeatedly and report throughput and latency", runBench},
	{"health", "ask a server for its health; exit 0 if serving (a probe)", runHealth},
	{"console", "serve a web page to browse and call a server's methods", runConsole},
	{"gen", "generate a typed client for a server type or interface", runGen},
	{"interop-server", "serve the interop test service (docs/interop.md)", runInteropServer},
	{"interop-client", "run the interop cases against a server and report each", runInteropClient},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(&env{ctx: ctx, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run dispatches to the subcommand args[0] and returns the exit status.
func run(e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(e.stdout)
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "simplerpc: unknown command %q\n\n", args[0])
	usage(e.stderr)
	return 2
}

func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("simplerpc is a tool for simplerpc servers.\n\nUsage:\n\n\tsimplerpc <command> [flags] [arguments]\n\nCommands:\n\n")
	width := 0
	for _, c := range commands {
		width = max(width, len(c.name))
	}
	for _, c := range commands {
		fmt.Fprintf(&b, "\t%-*s %s\n", width, c.name, c.summary)
	}
	b.WriteString("\nRun \"simplerpc <command> -h\" for a command's flags and arguments.\n")
	io.WriteString(w, b.String())
}
