package simplerpc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/simplerpc/simplerpc/internal/wire"
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
			all := q.copies(bytes.Clone)
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

// TestKeptItemsRunsTrimExactly keeps frames of random sizes — runs of
// small ones, and larger ones and an end among them — and trims them at random
// counts, the ring wrapping and growing meanwhile, and checks against a
// model that the frames kept are exactly those not trimmed, in order and
// whole, as a resume would send them again.
func TestKeptItemsRunsTrimExactly(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var k keptItems
	var model [][]byte
	sent := uint64(0)
	frame := func() []byte {
		size, flags := rng.IntN(40), uint8(0)
		switch rng.IntN(50) {
		case 0:
			size = ringSmall + rng.IntN(2<<10) // in a buffer of its own
		case 1:
			size = runBody + rng.IntN(ringSmall-runBody) // in the ring, not in a run
		case 2:
			flags = wire.FlagEnd // a header of its own
		}
		f := make([]byte, wire.HeaderSize+size)
		for i := range f {
			f[i] = byte(sent) + byte(i)
		}
		wire.PutHeader(f, wire.KindItem, flags, 7)
		sent++
		return f
	}
	for step := range 5000 {
		for range rng.IntN(200) {
			f := frame()
			k.add(f)
			model = append(model, f)
		}
		if rng.IntN(3) > 0 && len(model) > 0 {
			n := rng.IntN(len(model) + 1)
			k.trim(k.from + uint64(n))
			model = model[n:]
		}
		if k.from != sent-uint64(len(model)) {
			t.Fatalf("step %d: kept from item %d, want %d", step, k.from, sent-uint64(len(model)))
		}
		if step%100 == 0 || len(model) == 0 {
			all := k.copies()
			if len(all) != len(model) {
				t.Fatalf("step %d: %d frames kept, want %d", step, len(all), len(model))
			}
			for i := range all {
				if !bytes.Equal(all[i], model[i]) {
					t.Fatalf("step %d: kept frame %d differs", step, i)
				}
			}
		}
	}
	k.trim(sent)
	if k.frames.len() != 0 || k.frames.bytes() != 0 {
		t.Fatalf("all trimmed: %d entries of %d bytes held", k.frames.len(), k.frames.bytes())
	}
	fp := int64(k.frames.footprint())
	if k.counted != fp {
		t.Fatalf("the kept items are counted at %d bytes, and take %d", k.counted, fp)
	}
	if n := k.clear(); n != fp {
		t.Fatalf("clear gave back %d bytes of the %d counted", n, fp)
	}
}

// TestItemRingRefillsAtOnce checks that a ring that gave its buffer back
// as it emptied takes one of that size at its next item, rather than grow
// to it again through every size between.
func TestItemRingRefillsAtOnce(t *testing.T) {
	var q itemRing
	for range 1000 {
		q.push(make([]byte, 100))
	}
	size := len(q.buf)
	for q.len() > 0 {
		q.pop()
	}
	if q.buf != nil {
		t.Fatalf("an empty ring keeps %d bytes", len(q.buf))
	}
	q.push([]byte("one"))
	if len(q.buf) != size {
		t.Fatalf("the refilled ring has %d bytes, want %d at once", len(q.buf), size)
	}
}

// TestItemRingPackedSummary checks that what frontPacked tells of a
// packed body — counted as it was pushed when each item's length takes a
// byte, parsed again when not — is what wire.CheckPacked finds in it.
func TestItemRingPackedSummary(t *testing.T) {
	var q itemRing
	for _, sizes := range [][]int{{1}, {1, 2, 3}, {127, 1}, {128, 1}, {1, 300, 5}} {
		var body []byte
		for _, n := range sizes {
			body = binary.AppendUvarint(body, uint64(n))
			body = append(body, make([]byte, n)...)
		}
		want, err := wire.CheckPacked(body)
		if err != nil {
			t.Fatal(err)
		}
		q.pushPacked(body, want)
		b, _ := q.front()
		packed, got := q.frontPacked(b)
		if !packed || got.Items != want.Items || got.Cost != want.Cost {
			t.Fatalf("items of %v: frontPacked %v %+v, CheckPacked %+v", sizes, packed, got, want)
		}
		q.pop()
	}
	q.push([]byte("plain"))
	b, _ := q.front()
	if packed, _ := q.frontPacked(b); packed {
		t.Fatal("a plain item reported packed")
	}
}

// A large item kept by reference while its write runs is held out of the
// buffer pool: trimmed meanwhile (a window reporting it consumed before
// its write returned), it is left to the collector rather than pooled for
// another message while the write still reads it; kept past its write,
// it goes back to the pool once trimmed, as before.
func TestKeptItemHeldWhileWritten(t *testing.T) {
	frame := func() *bytes.Buffer {
		b := bytes.NewBuffer(make([]byte, 0, 8<<10))
		b.Write(wire.AppendHeader(nil, wire.Header{Kind: wire.KindItem, ID: 1, Size: 4 << 10}))
		b.Write(make([]byte, 4<<10))
		return b
	}
	newest := func(k *keptItems) ringItem { return k.frames.items[len(k.frames.items)-1] }

	var k keptItems
	own := frame()
	k.addHanded(own)
	k.holdNewest()
	if m := newest(&k).mark; m&markHeld == 0 || m&markHanded == 0 {
		t.Fatalf("held while written: mark %b", m)
	}
	if !k.letGo(own) {
		t.Fatal("letGo: an item still kept reported gone")
	}
	if m := newest(&k).mark; m&markHeld != 0 {
		t.Fatalf("after its write: mark %b, still held", m)
	}

	// Trimmed while held: not pooled, and letGo after it touches nothing.
	held := frame()
	k.addHanded(held)
	k.holdNewest()
	it := newest(&k)
	k.trim(2)
	if k.frames.len() != 0 {
		t.Fatalf("%d items kept after both were reported consumed", k.frames.len())
	}
	if k.letGo(held) {
		t.Fatal("letGo: an item trimmed while held reported still kept: its buffer would never be pooled")
	}
	if it.mark&markHeld == 0 {
		t.Fatal("the item trimmed during its write was not marked to stay out of the pool")
	}
	if held.Len() != wire.HeaderSize+4<<10 {
		t.Fatalf("the buffer trimmed during its write was reset (%d bytes): it went back to the pool", held.Len())
	}
}
