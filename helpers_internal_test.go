package simplerpc

import (
	"log/slog"
	"net"
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
