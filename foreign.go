package simplerpc

import (
	"bufio"
	"log/slog"
	"net"
)

// serveForeign handles a connection whose first bytes are not the
// simplerpc magic. No other protocol is served yet: the connection is
// closed with a logged reason.
func (s *Server) serveForeign(nc net.Conn, br *bufio.Reader, log *slog.Logger) {
	head, _ := br.Peek(min(br.Buffered(), 16))
	log.Warn("simplerpc: connection does not speak simplerpc; closed", slog.String("first_bytes", string(head)))
}
