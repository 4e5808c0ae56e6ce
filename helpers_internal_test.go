package simplerpc

import (
	"log/slog"
	"net"
	"sync"
	"testing"
)

// serveService serves rcvr as service name on a loopback port until the
// test ends, logging nowhere, and returns the server and its address.
func serveService(t *testing.T, name string, rcvr any) (*Server, string) {
	t.Helper()
	srv := NewServer(WithLogger(slog.New(slog.DiscardHandler)))
	if err := srv.Register(name, rcvr); err != nil {
		t.Fatal(err)
	}
	return srv, serveInternal(t, srv)
}

// serveInternal serves srv on a loopback port until the test ends and
// returns its address.
func serveInternal(t *testing.T, srv *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		<-served
	})
	return ln.Addr().String()
}

// onlyKey returns the one key of m, read under mu; what names the keys
// in the failure.
func onlyKey[K comparable](t *testing.T, mu *sync.Mutex, m map[K]struct{}, what string) K {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if len(m) != 1 {
		t.Fatalf("%d %s, want 1", len(m), what)
	}
	var only K
	for k := range m {
		only = k
	}
	return only
}
