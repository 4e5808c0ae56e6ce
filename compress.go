package simplerpc

import (
	"fmt"
	"time"

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
// frames, if compression was granted; what it decodes is taken from the
// server's memory budget before it is decoded, and counts there while it
// is held.
func (sc *serverConn) serveCompressed() {
	if sc.compress {
		sc.fr.Decompress(decodeBudget{sc})
	}
}

// decodeBudget takes the buffers a connection's reader decodes compressed
// bodies into from the server's memory budget. While the budget is spent
// (after evicting the sessions detached the longest), the reader waits:
// the client is slowed, through TCP, and many connections sending small
// frames that decode to the message limit hold at most the budget. What
// it takes counts as the connection's (serverConn.reserved), so that a
// connection holding a decoded body is not one that "holds nothing" and
// may run a call past the budget (reserve).
type decodeBudget struct{ sc *serverConn }

func (d decodeBudget) Take(n int64) error {
	s := d.sc.srv
	var t *time.Timer
	// Room for the body and for as much again, which decoding the
	// arguments it holds takes (reserve): a body decoded only for its
	// call to be refused for want of room is work, and garbage, for
	// nothing.
	for tries := 0; !s.budget.tryTake(2 * n); tries++ {
		if tries < 8 && s.evictOldest("the memory budget is spent") {
			continue
		}
		if t == nil {
			t = time.NewTimer(roomPoll)
			defer t.Stop()
		} else {
			t.Reset(roomPoll)
		}
		select {
		case <-t.C:
		case <-d.sc.ctx.Done():
			return fmt.Errorf("waiting for the memory budget: %w", d.sc.ctx.Err())
		}
	}
	s.budget.give(n)
	d.sc.reserved.Add(n)
	return nil
}

// Give returns a decoded body's buffer.
func (d decodeBudget) Give(n int64) { d.sc.unreserve(n) }
