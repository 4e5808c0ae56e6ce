package simplerpc

import (
	"bytes"
	"encoding/binary"

	"github.com/simplerpc/simplerpc/internal/codec"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// Packing items (PROTOCOL.md §12, packed items). A server stream's items
// wait in its batch while the connection's writer is busy
// (serverStream.send); on a connection whose client takes packed frames,
// a small item that joins a batch ending in a small item's frame, or in a
// packed frame, is packed into that frame rather than given a header of
// its own. The first item of a batch always travels in a plain frame, and
// a packed frame only ever holds items that were waiting together for the
// writer: packing delays nothing. The client then reads one frame, and
// takes one lock, for many items.
//
// What a stream keeps for a resume is each item as its plain frame
// carries it, as before packing (keptItems): a resume sends them again
// one by one, in plain frames.

// packSmall is the largest item body that is packed: a number, a short
// string, a small struct. Larger items gain little from sharing a header,
// and packing moves an item's bytes once.
const packSmall = 256

// packItem packs the item frame that starts at start in b — the newest,
// a plain one, its header written — into the frame at packAt, if that
// may take more items (packAt ≥ 0) and both are small, and returns where
// the next item may be packed: the start of the packed frame, or of
// this one, or -1. ok says whether the connection takes packed frames.
func packItem(b *bytes.Buffer, packAt, start int, ok bool) int {
	n := b.Len() - start - wire.HeaderSize
	if !ok || n > packSmall || n == 0 {
		return -1
	}
	if packAt < 0 || packAt >= start {
		return start
	}
	buf := b.Bytes()
	if buf[packAt+5]&wire.FlagPacked == 0 {
		// The frame at packAt holds one item, plainly: its body gets a
		// length in front, which moves it, and the frame after it, on.
		m := start - packAt - wire.HeaderSize
		k := wire.PackedItemSize(m) - m
		b.Write(noHeader[:k])
		buf = b.Bytes()
		body := packAt + wire.HeaderSize
		copy(buf[body+k:], buf[body:start+wire.HeaderSize+n])
		binary.PutUvarint(buf[body:], uint64(m))
		buf[packAt+5] |= wire.FlagPacked
		start += k
	}
	// The new item's body moves back over its header, behind its length.
	body := start + wire.HeaderSize
	at := start + binary.PutUvarint(buf[start:], uint64(n))
	copy(buf[at:], buf[body:body+n])
	b.Truncate(at + n)
	binary.BigEndian.PutUint32(buf[packAt:], uint32(at+n-packAt-wire.HeaderSize))
	return packAt
}

// intFrame returns the plain item frame of v, appended to dst, if v is
// an integer that c encodes without its general encoder
// (codec.AppendInt).
func intFrame(dst []byte, c codec.Codec, v any, id uint64) ([]byte, bool) {
	frame, ok := codec.AppendInt(c, append(dst, noHeader[:]...), v)
	if !ok {
		return nil, false
	}
	wire.PutHeader(frame, wire.KindItem, 0, id)
	return frame, true
}

// packInt puts frame, the plain frame of a small item, onto the end of b
// as packItem would, and returns where the next item may be packed. An
// item that joins a packed frame is written there at once, behind its
// length, rather than written with its header and then moved back over
// it; frame's last header byte is overwritten meanwhile.
func packInt(b *bytes.Buffer, packAt int, frame []byte, ok bool) int {
	n := len(frame) - wire.HeaderSize
	if ok && packAt >= 0 && n > 0 && n < 0x80 && b.Bytes()[packAt+5]&wire.FlagPacked != 0 {
		frame[wire.HeaderSize-1] = byte(n) // its length, a one-byte uvarint
		b.Write(frame[wire.HeaderSize-1:])
		binary.BigEndian.PutUint32(b.Bytes()[packAt:], uint32(b.Len()-packAt-wire.HeaderSize))
		return packAt
	}
	start := b.Len()
	b.Write(frame)
	return packItem(b, packAt, start, ok)
}
