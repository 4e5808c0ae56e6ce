package frameio

import (
	"net"
	"sync"
)

// chunkSize is the size of the pooled chunks a queue copies frames into.
const chunkSize = 64 << 10

var chunkPool = sync.Pool{New: func() any { b := make([]byte, 0, chunkSize); return &b }}

// queue holds frames waiting to be written, copied into pooled chunks: a
// long queue grows without copying what it already holds, and a queue
// written out gives its chunks back, so an idle connection keeps none.
type queue struct {
	chunks []*[]byte // all full but the last
	n      int       // bytes queued
}

// push copies b to the end of the queue.
func (q *queue) push(b []byte) {
	q.n += len(b)
	for len(b) > 0 {
		var c *[]byte
		if k := len(q.chunks); k > 0 && len(*q.chunks[k-1]) < chunkSize {
			c = q.chunks[k-1]
		} else {
			c = chunkPool.Get().(*[]byte)
			q.chunks = append(q.chunks, c)
		}
		room := (*c)[len(*c):chunkSize]
		m := copy(room, b)
		*c = (*c)[:len(*c)+m]
		b = b[m:]
	}
}

// release gives the chunks back to the pool and empties the queue,
// keeping its slice of chunks for reuse. Frames queued by reference
// (shared.go), whose capacity is not a chunk's, go back to no pool.
func (q *queue) release() {
	for i, c := range q.chunks {
		if cap(*c) == chunkSize {
			*c = (*c)[:0]
			chunkPool.Put(c)
		}
		q.chunks[i] = nil
	}
	q.chunks, q.n = q.chunks[:0], 0
}

// buffers returns the queued bytes as buffers for one vectored write,
// reusing into's backing array.
func (q *queue) buffers(into net.Buffers) net.Buffers {
	into = into[:0]
	for _, c := range q.chunks {
		into = append(into, *c)
	}
	return into
}
