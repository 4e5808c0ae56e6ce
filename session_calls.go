package simplerpc

import "slices"

// sessionCalls is a session's calls by id: those running and those whose
// replies it keeps. A client numbers its calls in order, so nearly every
// call it is given is above all it holds, and its calls end in about the
// order they began; this keeps them in a slice in ascending id order,
// where the common steps — a new call at the end, the newest call found,
// the oldest dropped — touch one entry and allocate nothing, and any
// other is a binary search. With one caller per connection the hash map
// it replaces was the largest part of the session's cost per call: an
// insert, three lookups and a delete in a table cold in the cache,
// rehashed now and then for the tombstones its deletes leave.
//
// A call below the newest that the slice does not hold (one sent again
// after it was forgotten, or a client numbering out of order) goes into a
// map beside it, so that no order of ids makes a step cost more than a
// map's: inserted into the slice, each would move up to every entry.
//
// The zero value is empty and ready. It is guarded by its session's mu.
type sessionCalls struct {
	ents  []callEntry            // ents[head:] is in ascending id order; dead entries are holes
	head  int                    // entries before it are dead and cleared
	live  int                    // entries alive
	apart map[uint64]sessionCall // calls below the newest of ents when they came, not in it; nil while none
}

// callEntry is one slot of sessionCalls: call id, alive or a hole left by
// a call that ended while calls on either side of it had not.
type callEntry struct {
	id   uint64
	live bool
	c    sessionCall
}

// len returns the calls held.
func (s *sessionCalls) len() int { return s.live + len(s.apart) }

// find returns the index of call id in ents, or -1.
func (s *sessionCalls) find(id uint64) int {
	if i, ok := s.locate(id); ok && s.ents[i].live {
		return i
	}
	return -1
}

// locate returns the index in ents of the entry of id, alive or a hole,
// and whether there is one; if not, the index where it would go. The
// newest and the oldest entries, which a session looks up most, are
// found without a search.
func (s *sessionCalls) locate(id uint64) (int, bool) {
	n := len(s.ents)
	switch {
	case n == s.head:
		return n, false
	case s.ents[n-1].id <= id:
		return n - 1 + b2i(s.ents[n-1].id < id), s.ents[n-1].id == id
	case s.ents[s.head].id >= id:
		return s.head, s.ents[s.head].id == id
	}
	i, ok := slices.BinarySearchFunc(s.ents[s.head:], id, func(e callEntry, id uint64) int {
		switch {
		case e.id < id:
			return -1
		case e.id > id:
			return 1
		}
		return 0
	})
	return s.head + i, ok
}

// b2i is 1 for true, 0 for false.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// get returns call id, if held.
func (s *sessionCalls) get(id uint64) (sessionCall, bool) {
	if i := s.find(id); i >= 0 {
		return s.ents[i].c, true
	}
	if len(s.apart) > 0 {
		c, ok := s.apart[id]
		return c, ok
	}
	return sessionCall{}, false
}

// has reports whether call id is held.
func (s *sessionCalls) has(id uint64) bool {
	_, ok := s.get(id)
	return ok
}

// put holds c as call id, replacing what was held under it.
func (s *sessionCalls) put(id uint64, c sessionCall) {
	i, found := s.locate(id)
	switch {
	case found:
		e := &s.ents[i]
		if !e.live {
			e.live = true
			s.live++
		}
		e.c = c
	case len(s.apart) > 0 && s.hasApart(id):
		s.apart[id] = c
	case i == len(s.ents):
		s.appendEntry(callEntry{id: id, live: true, c: c})
	default:
		if s.apart == nil {
			s.apart = make(map[uint64]sessionCall)
		}
		s.apart[id] = c
	}
}

// hasApart reports whether call id is in the map beside the slice.
func (s *sessionCalls) hasApart(id uint64) bool {
	_, ok := s.apart[id]
	return ok
}

// appendEntry adds e, whose id is above every other in ents, at the end, first
// moving the window to the front of the array when the array is full and
// has room there.
func (s *sessionCalls) appendEntry(e callEntry) {
	if len(s.ents) == cap(s.ents) && s.head > 0 {
		s.compact()
	}
	s.ents = append(s.ents, e)
	s.live++
}

// del forgets call id, if held.
func (s *sessionCalls) del(id uint64) {
	if i := s.find(id); i >= 0 {
		s.kill(i)
		s.trim()
		return
	}
	if len(s.apart) > 0 {
		delete(s.apart, id)
		if len(s.apart) == 0 {
			s.apart = nil // the map's memory goes with its last call
		}
	}
}

// kill makes entry i a hole. trim must follow before the next put.
func (s *sessionCalls) kill(i int) {
	s.ents[i] = callEntry{id: s.ents[i].id}
	s.live--
}

// trim drops the holes at both ends of the window, and squeezes the
// holes out of it once they are more than half the calls held (plus a
// few), so that a call that never ends does not make the window grow
// with every call after it: a squeeze moves at most twice as many
// entries as deletes made holes since the last.
func (s *sessionCalls) trim() {
	for s.head < len(s.ents) && !s.ents[s.head].live {
		s.ents[s.head] = callEntry{}
		s.head++
	}
	for n := len(s.ents); n > s.head && !s.ents[n-1].live; n-- {
		s.ents[n-1] = callEntry{}
		s.ents = s.ents[:n-1]
	}
	if s.head == len(s.ents) {
		s.ents, s.head = s.ents[:0], 0
		return
	}
	if len(s.ents)-s.head > s.live+s.live/2+16 {
		s.compact()
	}
}

// compact moves the live entries, in order, to the front of the array.
func (s *sessionCalls) compact() {
	n := 0
	for i := s.head; i < len(s.ents); i++ {
		if s.ents[i].live {
			s.ents[n] = s.ents[i]
			n++
		}
	}
	clear(s.ents[n:])
	s.ents, s.head = s.ents[:n], 0
}

// each calls fn with every call held — those of the slice in ascending
// id order, then those beside it in no order — while fn returns true. fn
// may not change s.
func (s *sessionCalls) each(fn func(id uint64, c sessionCall) bool) {
	for i := s.head; i < len(s.ents); i++ {
		if e := &s.ents[i]; e.live && !fn(e.id, e.c) {
			return
		}
	}
	for id, c := range s.apart {
		if !fn(id, c) {
			return
		}
	}
}

// dropThrough calls fn with every call held with an id up to id, and
// forgets those for which it returns true.
func (s *sessionCalls) dropThrough(id uint64, fn func(c sessionCall) bool) {
	for i := s.head; i < len(s.ents) && s.ents[i].id <= id; i++ {
		if s.ents[i].live && fn(s.ents[i].c) {
			s.kill(i)
		}
	}
	s.trim()
	for cid, c := range s.apart {
		if cid <= id && fn(c) {
			delete(s.apart, cid)
		}
	}
	if len(s.apart) == 0 {
		s.apart = nil
	}
}

// reset forgets every call and gives the array back.
func (s *sessionCalls) reset() { *s = sessionCalls{} }
