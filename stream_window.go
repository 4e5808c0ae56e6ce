package simplerpc

import (
	"bytes"

	"github.com/simplerpc/simplerpc/internal/wire"
)

// consumption is what the receiving half of a stream has consumed, and
// what of it the peer has been told in window frames (PROTOCOL.md §12):
// both sides keep one, under their stream's lock.
type consumption struct {
	w        wire.Window // items consumed and their cost, since the stream opened
	reported uint64      // w.Bytes in the last window frame sent
}

// add counts an item of the given cost consumed.
func (c *consumption) add(cost uint64) {
	c.w.Items++
	c.w.Bytes += cost
}

// due returns the window to report and whether one is due: after every
// quarter of a window consumed since the last.
func (c *consumption) due() (wire.Window, bool) {
	if c.w.Bytes-c.reported < wire.StreamWindow/4 {
		return c.w, false
	}
	c.reported = c.w.Bytes
	return c.w, true
}

// keptItems are the frames of the items a resumable stream has sent and
// not yet seen consumed, in pooled buffers, oldest first: what a resume
// sends again (stream_resume.go). Both sides keep one, under their
// stream's lock.
type keptItems struct {
	bufs  []*bytes.Buffer
	from  uint64 // the index of bufs[0] among the items sent
	bytes int64  // the bytes they hold
}

// add keeps a copy of frame and returns its size.
func (k *keptItems) add(frame []byte) int64 {
	b := getBuffer()
	b.Write(frame)
	k.bufs = append(k.bufs, b)
	k.bytes += int64(len(frame))
	return int64(len(frame))
}

// trim drops the items the peer has (those before index n) and returns
// the bytes they held.
func (k *keptItems) trim(n uint64) int64 {
	var freed int64
	for len(k.bufs) > 0 && k.from < n {
		freed += int64(k.bufs[0].Len())
		putBuffer(k.bufs[0])
		k.bufs[0] = nil
		k.bufs = k.bufs[1:]
		k.from++
	}
	k.bytes -= freed
	return freed
}

// copies returns copies of the kept frames, to write once the stream's
// lock is released: a window arriving meanwhile gives the buffers back.
func (k *keptItems) copies() [][]byte {
	frames := make([][]byte, len(k.bufs))
	for i, b := range k.bufs {
		frames[i] = bytes.Clone(b.Bytes())
	}
	return frames
}

// clear drops every kept item and returns the bytes they held.
func (k *keptItems) clear() int64 {
	for _, b := range k.bufs {
		putBuffer(b)
	}
	n := k.bytes
	k.bufs, k.bytes = nil, 0
	return n
}
