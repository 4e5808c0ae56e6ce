package simplerpc

import (
	"math/rand/v2"
	"testing"
)

// TestSessionCallsModel runs random steps on a sessionCalls and on a map
// beside it, as a session makes them (mostly new ids above the rest, ends
// in about the order of the calls, now and then an old id again, acks),
// and checks after each that both hold the same calls, the slice's in
// ascending id order, and that the window stays within its bound.
func TestSessionCallsModel(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 1))
		var s sessionCalls
		model := map[uint64]uint64{} // id -> seq, standing for the sessionCall
		next := uint64(0)
		for step := range 20000 {
			switch r := rng.IntN(100); {
			case r < 40: // a new call
				next++
				s.put(next, sessionCall{seq: next})
				model[next] = next
			case r < 55 && next > 0: // an id at or below the newest, new or held
				id := 1 + rng.Uint64N(next)
				s.put(id, sessionCall{seq: id + 1e9})
				model[id] = id + 1e9
			case r < 90 && next > 0: // a call ends: most often one of the newest
				id := next - min(next-1, uint64(rng.ExpFloat64()*3))
				s.del(id)
				delete(model, id)
			case r < 92: // an ack of every finished call up to id
				id := rng.Uint64N(next + 1)
				s.dropThrough(id, func(c sessionCall) bool { return c.seq%2 == 0 })
				for k, v := range model {
					if k <= id && v%2 == 0 {
						delete(model, k)
					}
				}
			case r < 93:
				s.reset()
				clear(model)
			}
			check(t, seed, step, &s, model)
		}
	}
}

func check(t *testing.T, seed uint64, step int, s *sessionCalls, model map[uint64]uint64) {
	t.Helper()
	if s.len() != len(model) {
		t.Fatalf("seed %d step %d: len %d, model %d", seed, step, s.len(), len(model))
	}
	for i := s.head + 1; i < len(s.ents); i++ {
		if s.ents[i].id <= s.ents[i-1].id {
			t.Fatalf("seed %d step %d: id %d after %d", seed, step, s.ents[i].id, s.ents[i-1].id)
		}
	}
	seen := map[uint64]bool{}
	s.each(func(id uint64, c sessionCall) bool {
		if v, ok := model[id]; !ok || v != c.seq || seen[id] {
			t.Fatalf("seed %d step %d: holds %d (seq %d, twice %v), model %d %v", seed, step, id, c.seq, seen[id], v, ok)
		}
		seen[id] = true
		return true
	})
	if len(seen) != len(model) {
		t.Fatalf("seed %d step %d: each saw %d of %d", seed, step, len(seen), len(model))
	}
	for id, v := range model {
		if c, ok := s.get(id); !ok || c.seq != v {
			t.Fatalf("seed %d step %d: get(%d) = %d %v, want %d", seed, step, id, c.seq, ok, v)
		}
	}
	if w := len(s.ents) - s.head; w > s.live+s.live/2+16 {
		t.Fatalf("seed %d step %d: window of %d for %d calls", seed, step, w, s.live)
	}
}

// TestSessionCallsLongCall checks that a call that never ends does not
// make the array grow with the calls that begin and end after it.
func TestSessionCallsLongCall(t *testing.T) {
	var s sessionCalls
	s.put(1, sessionCall{})
	for id := uint64(2); id < 100000; id++ {
		s.put(id, sessionCall{})
		s.del(id)
	}
	if s.len() != 1 || !s.has(1) {
		t.Fatalf("holds %d calls, has(1) %v; want the one call", s.len(), s.has(1))
	}
	if cap(s.ents) > 64 {
		t.Fatalf("array of %d entries for one call", cap(s.ents))
	}
}

// TestSessionCallsAllocs checks that the steps of a sequential caller's
// call — begun, kept, written, released — allocate nothing once the
// array has grown.
func TestSessionCallsAllocs(t *testing.T) {
	var s sessionCalls
	id := uint64(0)
	step := func() {
		id++
		s.put(id, sessionCall{})
		s.put(id, sessionCall{sending: true})
		s.put(id, sessionCall{seq: id})
		if id > 16 {
			s.del(id - 16) // released by a later ack or read count
		}
	}
	for range 100 {
		step()
	}
	if a := testing.AllocsPerRun(1000, step); a != 0 {
		t.Fatalf("%v allocations per call", a)
	}
}

// TestSessionCallsOutOfOrder checks that ids coming in descending order —
// a client's to choose — are held beside the slice, not inserted into it
// one by one (each insert would move every entry), and found and
// forgotten there.
func TestSessionCallsOutOfOrder(t *testing.T) {
	var s sessionCalls
	const n = maxSessionCalls
	for id := uint64(n); id >= 1; id-- {
		s.put(id, sessionCall{seq: id})
	}
	if len(s.ents) != 1 || s.len() != n {
		t.Fatalf("%d calls in the slice, %d in all; want 1 and %d", len(s.ents), s.len(), n)
	}
	for id := uint64(1); id <= n; id++ {
		if c, ok := s.get(id); !ok || c.seq != id {
			t.Fatalf("get(%d) = %d %v", id, c.seq, ok)
		}
	}
	s.dropThrough(n/2, func(sessionCall) bool { return true })
	if s.len() != n/2 || s.has(n/2) || !s.has(n/2+1) {
		t.Fatalf("after dropping up to %d: %d calls, has(%d) %v, has(%d) %v", n/2, s.len(), n/2, s.has(n/2), n/2+1, s.has(n/2+1))
	}
	for id := uint64(n/2 + 1); id <= n; id++ {
		s.del(id)
	}
	if s.len() != 0 || s.apart != nil || len(s.ents) != 0 {
		t.Fatalf("after every delete: %d calls, map %v, slice %d", s.len(), s.apart != nil, len(s.ents))
	}
}
