package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// binary is the simplerpc command built for the tests.
var binary string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "simplerpc-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "simplerpc")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building simplerpc:", err)
		return 1
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines leaked:", err)
			return 1
		}
	}
	return code
}

// result is what a run of the binary produced.
type result struct {
	stdout, stderr string
	code           int
}

// cli runs the built binary with args and returns what it printed.
func cli(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("simplerpc %s did not finish in 60s", strings.Join(args, " "))
	}
	r := result{stdout: out.String(), stderr: errOut.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return r
}

// wantLines checks that text holds every one of want.
func wantLines(t *testing.T, what, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q; it is:\n%s", what, w, text)
		}
	}
}

func TestUsage(t *testing.T) {
	r := cli(t)
	if r.code != 2 || !strings.Contains(r.stderr, "Commands:") {
		t.Errorf("no arguments: exit %d, stderr %q", r.code, r.stderr)
	}
	r = cli(t, "-h")
	if r.code != 0 || !strings.Contains(r.stdout, "demo") {
		t.Errorf("-h: exit %d, stdout %q", r.code, r.stdout)
	}
	r = cli(t, "frobnicate")
	if r.code != 2 || !strings.Contains(r.stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, c := range commands {
		r := cli(t, c.name, "-h")
		if r.code != 0 || !strings.Contains(r.stdout, "usage: simplerpc "+c.name) || r.stderr != "" {
			t.Errorf("%s -h: exit %d, stdout %q, stderr %q", c.name, r.code, r.stdout, r.stderr)
		}
		r = cli(t, c.name, "-no-such-flag")
		if r.code != 2 || !strings.Contains(r.stderr, "no-such-flag") {
			t.Errorf("%s -no-such-flag: exit %d, stderr %q", c.name, r.code, r.stderr)
		}
	}
}

func TestDemo(t *testing.T) {
	start := time.Now()
	r := cli(t, "demo")
	if r.code != 0 {
		t.Fatalf("demo exited %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("demo took %s", d)
	}
	wantLines(t, "demo output", r.stdout,
		"calc.Add(2, 3)                  = 5",
		"calc.Sum(1, 2, 3, 4)            = 10",
		"calc.Area(Rect{W: 3, H: 4})     = 12",
		"(fields by position)",
		"(fields by name)",
		"errors.Is(err, ErrDivByZero) = true",
		"Server side traceback (Calc.Crash, internal: boom)",
		"main.DemoCalc.Crash",
		"deadline_exceeded",
		"errors.Is(err, context.DeadlineExceeded) = true",
		"closed (Server.Close)",
		"calc.Add(20, 22) = 42",
		"demo finished",
	)
	if r.stderr != "" {
		t.Errorf("demo wrote to stderr: %s", r.stderr)
	}
}
