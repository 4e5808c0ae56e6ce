package frameio

// A Source holds frames of its own for a Writer to take when it next
// writes: a producer of many small frames (the items of a stream) appends
// them to a buffer of its own and schedules itself on the Writer once,
// rather than queueing each frame, and the send loop takes everything the
// source holds by then in one piece.
type Source interface {
	// TakeFrames passes the frames the source holds for w to push, in
	// order, and forgets them; push copies them. The send loop calls it
	// with the Writer's lock held, so it must not call the Writer.
	TakeFrames(w *Writer, push func([]byte))
}

// Schedule makes the send loop take src's frames on its next turn, after
// the frames already queued. A source schedules itself when it goes from
// holding nothing to holding a frame; one that frames are added to while
// it is scheduled needs no second call, and a second call costs only an
// empty take. After the writer stops, Schedule does nothing.
func (w *Writer) Schedule(src Source) {
	w.mu.Lock()
	if w.err == nil {
		w.sources = append(w.sources, src)
		w.startLoopLocked()
	}
	w.mu.Unlock()
}

// takeSourcesLocked moves the frames of the scheduled sources to the
// queue. w.mu must be held.
func (w *Writer) takeSourcesLocked() {
	if len(w.sources) == 0 {
		return
	}
	if w.push == nil {
		w.push = func(b []byte) {
			if w.zip > 0 {
				// A source's frames are compressed as the frames given
				// to Write are: a stream's items batched while the send
				// loop was busy must not go out plain for it.
				if out := compressFrames(b, w.zip); out != nil {
					b = *out
					defer putScratch(out)
				}
			}
			w.q.push(b)
			w.account(int64(len(b)))
		}
	}
	for i, src := range w.sources {
		src.TakeFrames(w, w.push)
		w.sources[i] = nil
	}
	w.sources = w.sources[:0]
	w.queued.Store(int64(w.q.n))
}
