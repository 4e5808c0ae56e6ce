package simplerpc

import (
	"bytes"
	"sync"
)

// bufferPool holds the buffers frames are built in, on both sides: a
// call's frame on the client, a reply's on the server.
var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer is the largest buffer returned to the pool: a large one
// kept would pin its memory for a small frame's use.
const maxPooledBuffer = 256 << 10

// getBuffer returns an empty buffer from the pool.
func getBuffer() *bytes.Buffer { return bufferPool.Get().(*bytes.Buffer) }

// putBuffer returns b to the pool, unless it is larger than
// maxPooledBuffer: then, if it is a large reply's lent buffer
// (replybuf.go), its holder lets go of it. b must not be used after.
func putBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBuffer {
		largeReplies.put(b)
		return
	}
	b.Reset()
	bufferPool.Put(b)
}
