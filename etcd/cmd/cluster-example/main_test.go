package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain doubles as the demo's server process: the demo starts its
// servers by running its own executable, here the test binary, with
// "server" arguments.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "server" {
		if err := runServer(os.Args[2:]); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// TestDemo runs the whole demo, short: a real etcd (as the etcd tests
// find it), three server processes and the client. The demo checks its
// own claims: no call lost when a server leaves gracefully, only
// connection_lost when one crashes, only the live server left at the end.
func TestDemo(t *testing.T) {
	args := []string{"-d", "400ms", "-ttl", "2s"}
	if bin := os.Getenv("SIMPLERPC_ETCD"); bin != "" {
		args = append(args, "-etcd", bin)
	}
	if err := runDemo(args); err != nil {
		t.Fatal(err)
	}
}
