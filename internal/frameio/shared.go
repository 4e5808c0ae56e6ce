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
	return w.put(ctx, frame, solo, true, true)
}

// pushShared appends b itself to the queue, as a chunk of its own. b
// must be longer than chunkSize; its capacity is cut to its length, so
// that the queue neither appends to it nor gives it to the chunk pool.
func (q *queue) pushShared(b []byte) {
	b = b[:len(b):len(b)]
	q.n += len(b)
	q.chunks = append(q.chunks, &b)
}
