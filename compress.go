package simplerpc

import (
	"github.com/simplerpc/simplerpc/internal/frameio"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// DefaultCompressionMinSize is a threshold for WithCompression that suits
// most slow links: messages under 1 KiB gain little from compression and
// are sent as they are.
const DefaultCompressionMinSize = 1 << 10

// WithCompression makes a Server or Client compress, with zstd, every
// call, reply and stream item whose body is at least minSize bytes, on
// each connection where the other side turned compression on as well
// (the client asks in its hello, the server grants it in its welcome;
// PROTOCOL.md §14). A message that would not get smaller by at
// least a sixteenth, such as already compressed or random data, is sent
// as it is. minSize ≤ 0, the default, turns compression off: nothing is
// asked, granted or compressed, and the connection costs what it did
// without it.
//
// Compression pays where the link is slower than zstd — a few hundred
// MB/s per core — such as between regions; on a loopback or a fast LAN it
// spends CPU time for nothing. Whatever is compressed, the message limit
// (WithMaxMessageSize) and a server's memory budget count a message at
// its decompressed size: a frame that would decompress past the limit is
// refused as a protocol violation, unread, and ends its connection.
func WithCompression(minSize int) Option {
	minSize = max(minSize, 0)
	return bothOption{
		server: func(c *serverConfig) { c.compressMin = minSize },
		client: func(c *clientConfig) { c.compressMin = minSize },
	}
}

// askCompression sets the hello's compression flag if the client
// compresses.
func askCompression(hello *wire.Hello, minSize int) {
	if minSize > 0 {
		hello.Flags |= wire.HelloCompress
	}
}

// startCompression turns compression on for a client connection whose
// server granted it.
func (cc *clientConn) startCompression(minSize int, welcome wire.Welcome, fr *frameio.Reader) {
	if minSize > 0 && welcome.Flags&wire.WelcomeCompress != 0 {
		cc.w.Compress(minSize)
		fr.Decompress(nil)
	}
}

// grantCompression answers a hello that asks for compression, when the
// server compresses: the welcome grants it and the connection's writer
// compresses from its first frame. Its reader decodes compressed frames
// from the start of serve (serveCompressed).
func (sc *serverConn) grantCompression(hello wire.Hello, welcome *wire.Welcome) {
	if n := sc.srv.cfg.compressMin; n > 0 && hello.Flags&wire.HelloCompress != 0 {
		sc.compress = true
		welcome.Flags |= wire.WelcomeCompress
		sc.w.Compress(n)
	}
}

// serveCompressed makes the connection's frame reader accept compressed
// frames, if compression was granted; what it decodes counts against the
// server's memory budget while it is held.
func (sc *serverConn) serveCompressed() {
	if sc.compress {
		sc.fr.Decompress(&sc.srv.budget.used)
	}
}
