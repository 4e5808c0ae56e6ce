package frameio

import "context"

// A large frame queued behind other writes would be copied into the
// queue's chunks: for a 16 MiB reply, a pass over 16 MiB more than the
// system call's own copy. A caller that hands the frame over — it will
// neither change nor reuse its memory — lets the queue hold the frame
// itself until the send loop has written it.

// WriteSeqShared is WriteSeq for a frame the caller hands over: one
// larger than a queue chunk may be queued by reference rather than
// copied, so the caller must not change frame, nor reuse its memory,
// from now on. It is written as WriteSeq writes it, compressed where
// WriteSeq would compress it (into a copy of its own).
func (w *Writer) WriteSeqShared(ctx context.Context, frame []byte, solo bool) (uint64, error) {
	if w.zip > 0 {
		return w.write(ctx, frame, solo, true)
	}
	return w.put(ctx, frame, solo, true, true, nil)
}

// WriteSeqOwned is WriteSeqShared for a frame whose memory its caller
// will reuse: done is called once, from whichever goroutine finds it,
// when the Writer no longer holds frame — written, copied, refused, or
// dropped when the Writer stops. Until then the caller must neither
// change nor reuse frame's memory.
func (w *Writer) WriteSeqOwned(ctx context.Context, frame []byte, solo bool, done func()) (uint64, error) {
	if w.zip > 0 {
		seq, err := w.write(ctx, frame, solo, true) // compressed into a copy, or copied, or written
		done()
		return seq, err
	}
	return w.put(ctx, frame, solo, true, true, done)
}

// pushShared appends b itself to the queue, as a chunk of its own. b
// must be longer than chunkSize; its capacity is cut to its length, so
// that the queue neither appends to it nor gives it to the chunk pool.
func (q *queue) pushShared(b []byte) {
	b = b[:len(b):len(b)]
	q.n += len(b)
	q.chunks = append(q.chunks, &b)
}

// letGo calls each of owned: the owners of frames queued by reference
// that the Writer holds no more.
func letGo(owned []func()) {
	for _, done := range owned {
		done()
	}
}

// called calls done, if it is not nil.
func called(done func()) {
	if done != nil {
		done()
	}
}
