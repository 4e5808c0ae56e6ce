package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc/internal/interop"
)

// startInteropServer runs "simplerpc interop-server" on a free port and
// returns its address; it is interrupted when the test ends.
func startInteropServer(t *testing.T) string {
	t.Helper()
	cmd := exec.Command(binary, "interop-server", "-addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("interop-server exited: %v", err)
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Error("interop-server did not stop on interrupt")
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	m := regexp.MustCompile(`^interop server listening on (\S+) \(native and JSON-RPC\)\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("interop-server printed %q (%v), not its address", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return m[1]
}

// wantRun checks that a run printed a PASS line for every case of all but
// skip, a SKIP line for each of skip, and the closing line.
func wantRun(t *testing.T, what string, code int, out string, skip ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || len(lines) != len(interop.Cases)+1 {
		t.Fatalf("%s: exit %d, output:\n%s", what, code, out)
	}
	skipped := map[string]bool{}
	for _, s := range skip {
		skipped[s] = true
	}
	for i, c := range interop.Cases {
		want := "PASS " + c.Name
		if skipped[c.Name] {
			want = "SKIP " + c.Name + ": "
		}
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("%s: line %d is %q, want %q...", what, i+1, lines[i], want)
		}
	}
	want := fmt.Sprintf("%d passed, 0 failed", len(interop.Cases)-len(skip))
	if len(skip) > 0 {
		want += fmt.Sprintf(", %d skipped", len(skip))
	}
	if last := lines[len(lines)-1]; last != want {
		t.Errorf("%s: closing line %q, want %q", what, last, want)
	}
}

// TestInterop runs every case with the Go client natively (both codecs)
// and over JSON-RPC, against the interop-server command.
func TestInterop(t *testing.T) {
	addr := startInteropServer(t)
	for _, args := range [][]string{
		{"-transport", "native", "-codec", "cbor"},
		{"-transport", "native", "-codec", "json"},
		{"-transport", "jsonrpc"},
	} {
		r := cli(t, append([]string{"interop-client", "-addr", addr}, args...)...)
		var skip []string
		if args[1] == "jsonrpc" {
			skip = []string{"deadline_propagation"}
		}
		wantRun(t, strings.Join(args, " "), r.code, r.stdout, skip...)
	}
}

// TestInteropPython runs the Python suite (clients/python/tests/interop.py)
// natively and over JSON-RPC against the interop-server command.
func TestInteropPython(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is not installed: the Python runner holds the Go server to the interop cases (.ci/run installs it)")
	}
	addr := startInteropServer(t)
	for transport, skip := range map[string][]string{
		"native":  nil,
		"jsonrpc": {"deadline_propagation", "cancel_after_begin"},
	} {
		cmd := exec.Command(python, "../../clients/python/tests/interop.py", "--addr", addr, "--transport", transport)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		code := 0
		if err != nil {
			code = -1
			if exit, ok := err.(*exec.ExitError); ok {
				code = exit.ExitCode()
			}
			t.Logf("python %s: %v\n%s", transport, err, stderr.String())
		}
		wantRun(t, "python "+transport, code, string(out), skip...)
	}
}

func TestInteropClientUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"interop-client"}, "-addr is required"},
		{[]string{"interop-client", "-addr", "127.0.0.1:1", "-transport", "carrier-pigeon"}, "-transport must be native or jsonrpc"},
		{[]string{"interop-client", "-addr", "127.0.0.1:1", "-codec", "xml"}, "-codec must be cbor or json"},
		{[]string{"interop-client", "-addr", "127.0.0.1:1", "-case", "nope"}, `no interop case "nope"`},
		{[]string{"interop-server", "extra"}, "takes no arguments"},
	} {
		r := cli(t, c.args...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
}
