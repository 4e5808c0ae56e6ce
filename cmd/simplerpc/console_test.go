package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestConsole runs the console command against the demo server, calls a
// method through its API and stops it with an interrupt.
func TestConsole(t *testing.T) {
	addr := serve(t)
	cmd := exec.Command(binary, "console", "-H", "authorization: Bearer x", addr)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	var url string
	select {
	case line := <-lines:
		_, url, _ = strings.Cut(strings.TrimSpace(line), " on ")
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		t.Fatal("console printed no address")
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		_ = cmd.Process.Kill()
		<-exited
		t.Fatalf("console address %q; stderr %s", url, stderr.String())
	}
	resp, err := http.Post(url+"api/call", "application/json", strings.NewReader(`{"method":"Calc.Add","params":[20,22]}`))
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), `"pretty":"42"`) {
			t.Errorf("Calc.Add through the console: %s", b)
		}
	} else {
		t.Error(err)
	}
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("console exited with %v; stderr %s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		t.Error("console did not stop on interrupt")
	}
}
