package interop_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/interop"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serve starts a server of the interop service on loopback and returns
// its address; it is shut down when the test ends.
func serve(t *testing.T) string {
	t.Helper()
	srv := simplerpc.NewServer(simplerpc.WithLogger(slog.New(slog.DiscardHandler)))
	if err := interop.Register(srv); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-done
	})
	return l.Addr().String()
}

// targets returns a target of every transport and codec for addr.
func targets(t *testing.T, addr string) map[string]interop.Target {
	t.Helper()
	out := map[string]interop.Target{}
	for _, codec := range []string{"cbor", "json"} {
		n, err := interop.DialNative(context.Background(), addr, codec)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Client.Close() })
		out["native-"+codec] = n
	}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	out["jsonrpc"] = interop.NewJSONRPC(addr, &http.Client{Transport: tr})
	return out
}

// TestCases runs every case of "all" over every transport and codec:
// each must pass, or skip only where the transport cannot express it.
func TestCases(t *testing.T) {
	addr := serve(t)
	for name, tg := range targets(t, addr) {
		t.Run(name, func(t *testing.T) {
			for _, c := range interop.Cases {
				t.Run(c.Name, func(t *testing.T) {
					err := c.Run(context.Background(), tg)
					var skip *interop.SkipError
					switch {
					case err == nil:
					case asSkip(err, &skip) && tg.Transport() == interop.TransportJSONRPC && c.Name == "deadline_propagation":
						t.Log(skip.Reason)
					default:
						t.Error(err)
					}
				})
			}
		})
	}
}

func asSkip(err error, skip **interop.SkipError) bool {
	s, ok := err.(*interop.SkipError)
	*skip = s
	return ok
}

func TestRunOutput(t *testing.T) {
	addr := serve(t)
	tg := interop.NewJSONRPC(addr, nil)
	defer http.DefaultClient.CloseIdleConnections()
	cases := []interop.Case{
		{Name: "ok", Run: func(context.Context, interop.Target) error { return nil }},
		{Name: "bad", Run: func(context.Context, interop.Target) error { return errString("two\nlines") }},
		{Name: "skipped", Run: func(context.Context, interop.Target) error { return interop.Skip("why") }},
	}
	var out bytes.Buffer
	r := interop.Run(context.Background(), tg, cases, &out)
	want := "PASS ok\nFAIL bad: two\\nlines\nSKIP skipped: why\n1 passed, 1 failed, 1 skipped\n"
	if out.String() != want || r != (interop.Result{Passed: 1, Failed: 1, Skipped: 1}) {
		t.Errorf("output %q, result %+v; want %q", out.String(), r, want)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestSelect(t *testing.T) {
	all, err := interop.Select("all")
	if err != nil || len(all) != len(interop.Cases) {
		t.Errorf("all: %d cases, %v", len(all), err)
	}
	two, err := interop.Select("empty_unary,big_integers_any")
	if err != nil || len(two) != 2 || two[0].Name != "empty_unary" || two[1].Name != "big_integers_any" {
		t.Errorf("a list: %v, %v", two, err)
	}
	if _, err := interop.Select("nope"); err == nil || !strings.Contains(err.Error(), "large_unary") {
		t.Errorf("an unknown case: %v", err)
	}
	seen := map[string]bool{}
	for _, c := range interop.Cases {
		if seen[c.Name] || c.Description == "" || c.Run == nil {
			t.Errorf("case %q is duplicated or incomplete", c.Name)
		}
		seen[c.Name] = true
	}
}
