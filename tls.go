package simplerpc

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/simplerpc/simplerpc/internal/wire"
)

// tlsRecordHandshake is the first byte of a TLS connection.
const tlsRecordHandshake = 0x16

// acceptTLS performs the server side of the TLS handshake on a new
// connection, or refuses a plain simplerpc client with a welcome that says
// TLS is required. It returns the connection to serve and its reader, or
// ok false when the connection is done with.
func (s *Server) acceptTLS(nc net.Conn, act *activity, br *bufio.Reader) (net.Conn, bool) {
	first, err := br.Peek(1)
	if err != nil {
		// A clean close here is a spare connection a client opened and
		// did not use: nothing failed.
		level := slog.LevelWarn
		if errors.Is(err, io.EOF) {
			level = slog.LevelDebug
		}
		s.logs.log(s.connLogger(nc), level, "simplerpc: connection closed before its first byte", slog.Any("error", err))
		return nil, false
	}
	if first[0] != tlsRecordHandshake {
		if magic, err := br.Peek(len(wire.Magic)); err == nil && string(magic) == wire.Magic {
			_ = nc.SetWriteDeadline(time.Now().Add(s.cfg.handshakeTimeout))
			_, _ = nc.Write(wire.AppendWelcome(nil, wire.Welcome{Version: wire.Version, Status: wire.StatusTLSRequired}))
		}
		s.logs.log(s.connLogger(nc), slog.LevelWarn, "simplerpc: plain connection to a TLS server; closed")
		return nil, false
	}
	tc := tls.Server(&peekedConn{Conn: nc, r: br, rest: act}, s.cfg.tls)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.handshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		s.logs.log(s.connLogger(nc), slog.LevelWarn, "simplerpc: TLS handshake failed; connection closed", slog.Any("error", err))
		return nil, false
	}
	return tc, true
}

// peekedConn reads first what the bufio.Reader that peeked at a
// connection's first bytes holds, so none are lost, then from rest (the
// connection's own reader); the bufio.Reader is dropped once drained.
type peekedConn struct {
	net.Conn
	r    *bufio.Reader
	rest io.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) {
	if c.r != nil {
		if c.r.Buffered() > 0 {
			return c.r.Read(p)
		}
		c.r = nil
	}
	return c.rest.Read(p)
}

// dialTLS performs the client side of the TLS handshake.
func dialTLS(ctx context.Context, nc net.Conn, cfg *tls.Config, addr string) (net.Conn, error) {
	if cfg.ServerName == "" {
		cfg = cfg.Clone()
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg.ServerName = host
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("TLS handshake with %s failed (does the server use TLS?): %w", addr, err)
	}
	return tc, nil
}
