// Command cluster-example runs a small simplerpc cluster on this
// machine: an etcd, three server processes that register under the name
// "calc", and a client that dials "calc" and spreads its calls over them.
// Mid-run, one server leaves gracefully (SIGTERM: its registration is
// closed, then the server shuts down) and one crashes (SIGKILL: its key
// stays until its lease runs out). The client reports what it saw.
//
// Usage:
//
//	go run ./cmd/cluster-example                      # the whole demo (needs an etcd binary)
//	go run ./cmd/cluster-example server -endpoints 127.0.0.1:2379 -addr 127.0.0.1:9001
//	go run ./cmd/cluster-example client -endpoints 127.0.0.1:2379 -d 5s
//
// The demo looks for etcd on PATH (Debian: apt-get install etcd-server),
// or takes -etcd /path/to/etcd, or -endpoints of an etcd already running.
package main

import (
	"fmt"
	"os"
)

func main() {
	args := os.Args[1:]
	cmd := "demo"
	if len(args) > 0 && (args[0] == "server" || args[0] == "client" || args[0] == "demo") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "server":
		err = runServer(args)
	case "client":
		err = runClient(args)
	default:
		err = runDemo(args)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "cluster-example %s: %v\n", cmd, err)
		os.Exit(1)
	}
}
