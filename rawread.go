package simplerpc

import (
	"net"

	"github.com/simplerpc/simplerpc/internal/frameio"
)

// useRaw lets fr read nc's descriptor directly (so that an idle
// connection holds no read buffer) when nc is a plain TCP or Unix
// connection. A connection of any other type — TLS, or one a custom
// listener or dialer wraps, whose Read may do more — is read through its
// Read.
func useRaw(fr *frameio.Reader, nc net.Conn, act *activity) {
	switch c := nc.(type) {
	case *net.TCPConn:
		fr.UseRaw(c, act.stamp)
	case *net.UnixConn:
		fr.UseRaw(c, act.stamp)
	}
}
