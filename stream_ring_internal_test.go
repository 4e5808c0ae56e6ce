package simplerpc

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestItemRingKeepsOrderAndLentItems pushes and pops items of random
// sizes, wrapping the ring and growing it while an item is lent, and
// checks every item against a model: the items come out in order and
// whole, a lent item stays intact while later ones are pushed, and copies
// lists what is held.
func TestItemRingKeepsOrderAndLentItems(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var q itemRing
	var model [][]byte
	next := 0
	item := func() []byte {
		size := rng.IntN(300)
		if rng.IntN(20) == 0 {
			size = rng.IntN(20 << 10)
		}
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(next + i)
		}
		next++
		return b
	}
	for step := range 20000 {
		if rng.IntN(2) == 0 || len(model) == 0 {
			b := item()
			q.push(b)
			model = append(model, b)
		} else {
			lent, ok := q.front()
			if !ok || !bytes.Equal(lent, model[0]) {
				t.Fatalf("step %d: front %d bytes, ok %v; want %d bytes", step, len(lent), ok, len(model[0]))
			}
			keep := bytes.Clone(lent)
			for range rng.IntN(4) { // pushed while it is lent
				b := item()
				q.push(b)
				model = append(model, b)
			}
			if !bytes.Equal(lent, keep) {
				t.Fatalf("step %d: a lent item changed while later ones were pushed", step)
			}
			if got := q.pop(); got != len(keep) {
				t.Fatalf("step %d: pop %d bytes, want %d", step, got, len(keep))
			}
			model = model[1:]
		}
		if q.len() != len(model) {
			t.Fatalf("step %d: %d items, want %d", step, q.len(), len(model))
		}
		if step%1000 == 0 {
			all := q.copies()
			if len(all) != len(model) {
				t.Fatalf("step %d: %d copies, want %d", step, len(all), len(model))
			}
			for i := range all {
				if !bytes.Equal(all[i], model[i]) {
					t.Fatalf("step %d: copy %d differs", step, i)
				}
			}
		}
	}
	total := 0
	for _, b := range model {
		total += len(b)
	}
	if q.bytes() != total {
		t.Fatalf("%d bytes held, want %d", q.bytes(), total)
	}
}

// TestItemRingEmptyGivesBufferBack checks that an emptied ring keeps at
// most ringKeep bytes: what an idle stream costs.
func TestItemRingEmptyGivesBufferBack(t *testing.T) {
	for _, size := range []int{10, ringKeep, 64 << 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			var q itemRing
			for range 8 {
				q.push(make([]byte, size))
			}
			for q.len() > 0 {
				q.pop()
			}
			if len(q.buf) > ringKeep {
				t.Fatalf("an empty ring keeps %d bytes, want at most %d", len(q.buf), ringKeep)
			}
		})
	}
}

func TestRingBufferSizes(t *testing.T) {
	for _, size := range []int{1, ringKeep, ringKeep + 1, 3 * ringKeep, 64 << 10, 64<<10 + 17, 1 << 20, 4 << 20} {
		b := getRingBuffer(size)
		if len(b) < size {
			t.Fatalf("getRingBuffer(%d) has %d bytes", size, len(b))
		}
		putRingBuffer(b)
	}
}

// TestItemRingPushRead checks that a body a frame reader handed over is
// held as it is, in order among copied items, counted at its buffer's
// capacity until it is popped, and that clear lets go of one still held.
func TestItemRingPushRead(t *testing.T) {
	var q itemRing
	read := bytes.Repeat([]byte{7}, 40<<10)
	q.push([]byte("before"))
	q.pushRead(read)
	q.push([]byte("after"))
	if q.len() != 3 || q.bytes() != len("before")+len(read)+len("after") {
		t.Fatalf("%d items of %d bytes held", q.len(), q.bytes())
	}
	if q.owned != cap(read) {
		t.Fatalf("large items' buffers counted at %d, want %d", q.owned, cap(read))
	}
	for i, want := range [][]byte{[]byte("before"), read, []byte("after")} {
		b, ok := q.front()
		if !ok || !bytes.Equal(b, want) {
			t.Fatalf("item %d: %d bytes, ok %v; want %d bytes", i, len(b), ok, len(want))
		}
		if i == 1 && &b[0] != &read[0] {
			t.Fatal("the handed-over body was copied")
		}
		q.pop()
	}
	if q.owned != 0 || q.large != 0 || q.len() != 0 {
		t.Fatalf("after the pops: %d items, %d large bytes in buffers of %d", q.len(), q.large, q.owned)
	}
	q.pushRead(bytes.Repeat([]byte{8}, 40<<10))
	q.clear()
	if q.len() != 0 || q.owned != 0 {
		t.Fatalf("after clear: %d items, buffers of %d", q.len(), q.owned)
	}
}
