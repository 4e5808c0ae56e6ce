package simplerpc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// debugLogger returns a logger option writing every record, Debug
// included, to w.
func debugLogger(w *syncBuffer) simplerpc.Option {
	return simplerpc.WithLogger(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})))
}

// closeUnused opens a TCP connection to addr and closes it without
// sending a byte, as an HTTP client does with a spare keep-alive
// connection it did not need.
func closeUnused(t *testing.T, addr string) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Close(); err != nil {
		t.Fatal(err)
	}
}

// waitForLog waits until the log holds want, failing the test after a
// few seconds.
func waitForLog(t *testing.T, logs *syncBuffer, want string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), want); {
		if time.Now().After(deadline) {
			t.Fatalf("log never held %q:\n%s", want, logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// noWarnings fails the test if the log holds a record above Info.
func noWarnings(t *testing.T, logs *syncBuffer) {
	t.Helper()
	for line := range strings.Lines(logs.String()) {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			t.Errorf("logged %s", strings.TrimSpace(line))
		}
	}
}

// TestUnusedConnNotWarned checks that a connection closed before its
// first byte is logged at Debug, not as a failed handshake.
func TestUnusedConnNotWarned(t *testing.T) {
	var logs syncBuffer
	ts := startServer(t, debugLogger(&logs))
	for range 3 {
		closeUnused(t, ts.addr)
	}
	waitForLog(t, &logs, "closed before its hello")
	// The server still serves, and a broken hello still warns.
	c := dial(t, ts.addr)
	var sum int
	if err := c.Call(context.Background(), "Calc.Add", []any{2, 3}, &sum); err != nil || sum != 5 {
		t.Fatalf("Add(2, 3) = %d, %v", sum, err)
	}
	noWarnings(t, &logs)
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Write([]byte("SRP")); err != nil { // a cut-off magic
		t.Fatal(err)
	}
	nc.Close()
	waitForLog(t, &logs, "level=WARN")
}

// TestUnusedTLSConnNotWarned is TestUnusedConnNotWarned on a TLS server.
func TestUnusedTLSConnNotWarned(t *testing.T) {
	serverTLS, clientTLS := testCerts(t)
	var logs syncBuffer
	ts := startServer(t, debugLogger(&logs), simplerpc.WithTLS(serverTLS))
	closeUnused(t, ts.addr)
	waitForLog(t, &logs, "closed before its first byte")
	c := dial(t, ts.addr, simplerpc.WithTLS(clientTLS))
	var sum int
	if err := c.Call(context.Background(), "Calc.Add", []any{2, 3}, &sum); err != nil || sum != 5 {
		t.Fatalf("Add(2, 3) = %d, %v", sum, err)
	}
	noWarnings(t, &logs)
}

// TestHTTPClientSpareConnsNotWarned runs many concurrent JSON-RPC calls
// through one Go http.Client, whose transport opens connections it may
// close unused, and checks that the server logs no warning.
func TestHTTPClientSpareConnsNotWarned(t *testing.T) {
	var logs syncBuffer
	srv := simplerpc.NewServer(debugLogger(&logs))
	if err := srv.Register("Calc", &Calc{}); err != nil {
		t.Fatal(err)
	}
	l := listen(t)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	addr := l.Addr().String()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for g := range 32 {
		wg.Go(func() {
			for i := range 10 {
				body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"Calc.Add","params":[%d,%d]}`, i, g, i)
				resp, err := hc.Post("http://"+addr+"/", "application/json", strings.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				out, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if want := fmt.Sprintf(`"result":%d`, g+i); err != nil || !strings.Contains(string(out), want) {
					errs <- fmt.Errorf("reply %q (%v), want %s", out, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	tr.CloseIdleConnections()
	// Shutdown returns once every connection has been dealt with, and
	// logged if it is to be.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Error(err)
	}
	if err := <-served; !errors.Is(err, simplerpc.ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
	t.Logf("%d connections closed before their first byte", strings.Count(logs.String(), "closed before its hello"))
	noWarnings(t, &logs)
}
