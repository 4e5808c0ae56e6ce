package simplerpc

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/simplerpc/simplerpc/internal/codec"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// packItem, applied after each item frame is written to a batch as send
// does, leaves a batch whose frames hold the same items in the same
// order: small ones packed behind the first of each run, larger ones in
// plain frames; and it packs nothing for a client that did not ask.
func TestPackItem(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, ok := range []bool{true, false} {
		for round := range 200 {
			var b bytes.Buffer
			var want [][]byte
			packAt := -1
			for range r.IntN(40) + 1 {
				size := 1 + r.IntN(20)
				if r.IntN(5) == 0 {
					size = 1 + r.IntN(600) // some above packSmall
				}
				item := make([]byte, size)
				for i := range item {
					item[i] = byte(r.Uint32())
				}
				want = append(want, item)
				start := b.Len()
				b.Write(wire.AppendHeader(nil, wire.Header{Kind: wire.KindItem, ID: 9, Size: uint32(size)}))
				b.Write(item)
				packAt = packItem(&b, packAt, start, ok)
			}
			var got [][]byte
			packed := 0
			for rest := b.Bytes(); len(rest) > 0; {
				h, err := wire.ParseHeader(rest, wire.DefaultMaxBody)
				if err != nil || h.Kind != wire.KindItem || h.ID != 9 {
					t.Fatalf("round %d: frame %+v, %v", round, h, err)
				}
				body := rest[wire.HeaderSize : wire.HeaderSize+int(h.Size)]
				rest = rest[wire.HeaderSize+int(h.Size):]
				if h.Flags&wire.FlagPacked == 0 {
					got = append(got, body)
					continue
				}
				packed++
				sum, err := wire.CheckPacked(body)
				if err != nil || sum.Items < 2 {
					t.Fatalf("round %d: packed frame of %d items: %v", round, sum.Items, err)
				}
				for len(body) > 0 {
					var item []byte
					item, body = wire.NextPacked(body)
					if len(item) > packSmall {
						t.Fatalf("round %d: an item of %d bytes packed", round, len(item))
					}
					got = append(got, item)
				}
			}
			if !ok && packed > 0 {
				t.Fatalf("round %d: %d packed frames for a client that did not ask", round, packed)
			}
			if len(got) != len(want) {
				t.Fatalf("round %d: %d items, want %d", round, len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("round %d: item %d is %x, want %x", round, i, got[i], want[i])
				}
			}
		}
	}
}

// packInt leaves the batch, byte for byte, that writing each integer's
// frame and packing it with packItem leaves, among larger items sent the
// general way; and intFrame's frame is the one a general encoding gives.
func TestPackIntAsPackItem(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, ok := range []bool{true, false} {
		for range 200 {
			var fast, slow bytes.Buffer
			fastAt, slowAt := -1, -1
			for range r.IntN(40) + 1 {
				if r.IntN(6) == 0 { // an item sent the general way
					item := bytes.Repeat([]byte{byte(r.Uint32())}, 1+r.IntN(400))
					for _, p := range []struct {
						b  *bytes.Buffer
						at *int
					}{{&fast, &fastAt}, {&slow, &slowAt}} {
						start := p.b.Len()
						p.b.Write(wire.AppendHeader(nil, wire.Header{Kind: wire.KindItem, ID: 9, Size: uint32(len(item))}))
						p.b.Write(item)
						*p.at = packItem(p.b, *p.at, start, ok)
					}
					continue
				}
				v := int64(r.Uint64()) >> r.IntN(64)
				var small [wire.HeaderSize + codec.MaxInt]byte
				frame, isInt := intFrame(small[:0], codec.CBOR, v, 9)
				var body bytes.Buffer
				if err := codec.CBOR.Append(&body, v); err != nil || !isInt {
					t.Fatalf("%d: %v, %v", v, isInt, err)
				}
				if !bytes.Equal(frame[wire.HeaderSize:], body.Bytes()) {
					t.Fatalf("%d: intFrame's body % x, Append's % x", v, frame[wire.HeaderSize:], body.Bytes())
				}
				start := slow.Len()
				slow.Write(frame)
				slowAt = packItem(&slow, slowAt, start, ok)
				fastAt = packInt(&fast, fastAt, frame, ok)
			}
			if !bytes.Equal(fast.Bytes(), slow.Bytes()) || fastAt != slowAt {
				t.Fatalf("packInt's batch (next at %d):\n% x\npackItem's (next at %d):\n% x", fastAt, fast.Bytes(), slowAt, slow.Bytes())
			}
		}
	}
}
