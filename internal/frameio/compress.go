package frameio

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/bits"
	"sync"

	"github.com/simplerpc/simplerpc/internal/wire"
)

// Compression, where the handshake negotiated it (PROTOCOL.md
// §14). A Writer compresses, in the goroutine that hands it a
// frame, each call, reply or item frame whose body is at least its
// threshold; a Reader decodes compressed frames into pooled buffers and
// returns them as if they had arrived plain. Off, each costs one test per
// frame.

// Compress makes the writer compress the body of every call, reply and
// item frame of at least minBody bytes (minBody ≥ 1) that it is given from
// now on. Call it before the first write.
func (w *Writer) Compress(minBody int) { w.zip = max(minBody, 1) }

// writeCompressed is write for a writer that compresses: frames holds one
// frame or several back to back, each of which is compressed if it
// qualifies.
func (w *Writer) writeCompressed(ctx context.Context, frames []byte, solo, wait bool) (uint64, error) {
	out := compressFrames(frames, w.zip)
	if out == nil {
		return w.put(ctx, frames, solo, wait, false, nil)
	}
	seq, err := w.put(ctx, *out, solo, wait, false, nil) // put copies the frames, or writes them before it returns
	putScratch(out)
	return seq, err
}

// compressFrames returns frames with every frame that qualifies
// compressed, in a pooled buffer, or nil if none gets smaller. Frames are
// copied only once one has been compressed.
func compressFrames(frames []byte, minBody int) *[]byte {
	var out *[]byte
	var b []byte
	done := 0 // frames[:done] are in b, compressed or not
	shrunk := false
	for off := 0; off+wire.HeaderSize <= len(frames); {
		n := int(binary.BigEndian.Uint32(frames[off:]))
		end := min(off+wire.HeaderSize+n, len(frames))
		if qualifies(frames[off:], n, minBody) {
			if out == nil {
				out = getScratch(len(frames))
				b = (*out)[:0]
			}
			b = append(b, frames[done:off]...)
			done = off
			var ok bool
			if b, ok = wire.AppendCompressedFrame(b, frames[off:end]); ok {
				done, shrunk = end, true
			}
		}
		off = end
	}
	if out == nil {
		return nil
	}
	*out = append(b, frames[done:]...)
	if !shrunk {
		putScratch(out)
		return nil
	}
	return out
}

// qualifies reports whether the frame at the start of b, whose body is n
// bytes, is to be compressed.
func qualifies(b []byte, n, minBody int) bool {
	return n >= minBody && len(b) >= wire.HeaderSize+n && wire.Kind(b[4]).Compressible() && b[5]&wire.FlagCompressed == 0
}

// maxScratch is the largest compression buffer kept for reuse.
const maxScratch = 4 << 20

var scratchPool sync.Pool // *[]byte

// getScratch returns an empty buffer with room for n bytes.
func getScratch(n int) *[]byte {
	if p, _ := scratchPool.Get().(*[]byte); p != nil && cap(*p) >= n {
		return p
	}
	b := make([]byte, 0, n)
	return &b
}

func putScratch(p *[]byte) {
	if cap(*p) <= maxScratch {
		*p = (*p)[:0]
		scratchPool.Put(p)
	}
}

// Budget is what a Reader counts the decoded bodies it holds against.
type Budget interface {
	// Take reserves n bytes for a body about to be decoded, waiting for
	// room if there is none; an error refuses the frame, and ends the
	// connection.
	Take(n int64) error
	// Give returns n bytes Take reserved.
	Give(n int64)
}

// Decompress makes the reader accept compressed frames, decoding each
// into a buffer that lives as long as an ordinary body (until the next
// Next or Release). A compressed body is bounded by the reader's limit
// after it is decoded: one that declares more, however small it is on
// the wire, is refused before anything is decoded, and ends the
// connection. If budget is not nil, the buffer of a decoded body is
// taken from it before the body is decoded, and given back when the
// buffer is: many connections sending small frames that decode to the
// limit hold at most the budget. Call it before the first Next.
func (fr *Reader) Decompress(budget Budget) {
	fr.unzip = true
	fr.unzipAcct = budget
}

// nextCompressed is Next for a reader that accepts compressed frames;
// hb is the frame's header, buffered.
func (fr *Reader) nextCompressed(hb []byte) (wire.Header, []byte, error) {
	h, compressed, err := wire.ParseHeaderCompressed(hb, fr.maxBody)
	if err != nil {
		return h, nil, err
	}
	fr.start += wire.HeaderSize
	_, body, err := fr.readBody(h)
	if err != nil || !compressed {
		return h, body, err
	}
	size, err := wire.DecompressedSize(body, fr.maxBody)
	if err != nil {
		return h, nil, fmt.Errorf("protocol violation: compressed %s frame (id %d) refused: %w", h.Kind, h.ID, err)
	}
	if fr.unzipAcct != nil {
		_, held := plainClass(size)
		if err := fr.unzipAcct.Take(int64(held)); err != nil {
			return h, nil, fmt.Errorf("compressed %s frame (id %d) not decoded: %w", h.Kind, h.ID, err)
		}
	}
	p := getPlain(size)
	plain, err := wire.Decompress(*p, body, size)
	if err != nil {
		if fr.unzipAcct != nil {
			fr.unzipAcct.Give(int64(cap(*p)))
		}
		putPlain(p)
		return h, nil, fmt.Errorf("protocol violation: compressed %s frame (id %d) refused: %w", h.Kind, h.ID, err)
	}
	fr.releaseBody() // the compressed bytes are done with
	fr.plain = p
	h.Size = uint32(len(plain))
	return h, plain, nil
}

// releasePlain gives back the buffer of the last decoded body.
func (fr *Reader) releasePlain() {
	if fr.unzipAcct != nil {
		fr.unzipAcct.Give(int64(cap(*fr.plain)))
	}
	putPlain(fr.plain)
	fr.plain = nil
}

// Decoded bodies go in buffers of a power-of-two size, pooled by size
// from minPlainShift up to maxPlainShift; a larger one is not kept. The
// largest pooled is MaxPooledBody, as for plain bodies: a body larger than
// that is its reader's own, which a caller may keep (the server's []byte
// arguments alias it), so its buffer must never be reused.
const (
	minPlainShift = 12 // 4 KiB
	maxPlainShift = 20 // 1 MiB, MaxPooledBody
)

var _ [0]struct{} = [1<<maxPlainShift - MaxPooledBody]struct{}{} // the two stay equal

var plainPools [maxPlainShift - minPlainShift + 1]sync.Pool // *[]byte

// plainClass returns the pool for buffers of at least n bytes, and the
// size of its buffers; -1 if n is too large for any.
func plainClass(n int) (int, int) {
	shift := max(minPlainShift, bits.Len(uint(max(n, 1)-1)))
	if shift > maxPlainShift {
		return -1, n
	}
	return shift - minPlainShift, 1 << shift
}

func getPlain(n int) *[]byte {
	c, size := plainClass(n)
	if c >= 0 {
		if p, _ := plainPools[c].Get().(*[]byte); p != nil {
			return p
		}
	}
	b := make([]byte, size)
	return &b
}

func putPlain(p *[]byte) {
	if c, size := plainClass(cap(*p)); c >= 0 && size == cap(*p) {
		plainPools[c].Put(p)
	}
}
