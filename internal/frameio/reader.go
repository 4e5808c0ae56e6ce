package frameio

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/simplerpc/simplerpc/internal/wire"
)

// Reader reads frames from a connection. It holds a large read buffer
// only while bytes wait in it, so that an idle connection costs a few
// hundred bytes rather than a buffer of kilobytes: on a connection with a
// file descriptor (see UseRaw) it waits for bytes without any buffer, and
// takes one from a pool only once they are there; on any other it reads
// into a small array between bursts, and borrows the large buffer when a
// read fills the array. Either way the large buffer goes back to the
// pool once everything read has been consumed.
type Reader struct {
	r       io.Reader
	maxBody int

	buf        []byte  // nil, small, or *big
	big        *[]byte // the pooled buffer buf is, or nil
	start, end int     // unread bytes are buf[start:end]
	body       *[]byte // pooled body of the last large frame, or nil
	bodySpare  bool    // body is one of spares', which goes back there
	large      []byte  // the body of the last large frame, read plain, until Release or Own
	small      []byte  // made on first use; nil with a raw connection

	raw rawReader // non-nil after UseRaw

	unzip     bool    // compressed frames are accepted (compress.go)
	unzipAcct Budget  // where the decoded body held is counted; may be nil
	plain     *[]byte // pooled decoded body of the last frame, or nil

	// Bodies handed over by Own and taken back (TakeBack), for this
	// Reader's later frames alone.
	spareMu sync.Mutex
	spares  [maxSpares][]byte
	nSpares int

	// Idle, if not nil, holds true while the Reader waits for bytes with
	// none unread: another goroutine may take it to mean that no frame is
	// on its way in.
	Idle *atomic.Bool
}

// rawReader reads a connection's descriptor into a Reader's buffer.
type rawReader interface {
	read(fr *Reader) (int, error)
	// readBody reads into b, with nothing unread buffered, and past it
	// into the buffer; it returns the bytes read into b.
	readBody(fr *Reader, b []byte) (int, error)
}

const (
	// smallSize is the array an idle Reader reads into.
	smallSize = 512
	// bigSize is the buffer a busy Reader borrows. A frame up to this
	// size is read into it and returned in place; a larger frame gets a
	// body buffer of its own.
	bigSize = 16 << 10
	// maxPooledBody is the largest body buffer returned to the pool.
	maxPooledBody = MaxPooledBody
)

// MaxPooledBody is the largest body the Reader reads into a buffer it
// reuses. A larger body is a buffer of its own, which the Reader never
// touches again: whoever gets it from Next may keep it, or slices of it,
// for good.
const MaxPooledBody = 1 << 20

var (
	bigPool  = sync.Pool{New: func() any { b := make([]byte, bigSize); return &b }}
	bodyPool sync.Pool // *[]byte with capacity in (bigSize, maxPooledBody]
)

// NewReader returns a Reader of r that refuses bodies over maxBody.
// prefix holds bytes already read from r (by a handshake, say) that come
// first; the Reader copies them.
func NewReader(r io.Reader, prefix []byte, maxBody int) *Reader {
	fr := &Reader{r: r, maxBody: maxBody}
	if len(prefix) > bigSize {
		fr.r = io.MultiReader(bytes.NewReader(bytes.Clone(prefix)), r)
		return fr
	}
	if len(prefix) > 0 {
		fr.grow(len(prefix))
		fr.end = copy(fr.buf, prefix)
	}
	return fr
}

// Next reads the next frame. The body is valid until the next call to
// Next or Release.
func (fr *Reader) Next() (wire.Header, []byte, error) {
	fr.Release()
	if err := fr.fill(wire.HeaderSize); err != nil {
		return wire.Header{}, nil, err
	}
	hb := fr.buf[fr.start : fr.start+wire.HeaderSize]
	if fr.unzip {
		return fr.nextCompressed(hb)
	}
	h, err := wire.ParseHeader(hb, fr.maxBody)
	if err != nil {
		return h, nil, err
	}
	fr.start += wire.HeaderSize
	return fr.readBody(h)
}

// readBody reads the body of the frame whose header h was just consumed.
func (fr *Reader) readBody(h wire.Header) (wire.Header, []byte, error) {
	n := int(h.Size)
	if n <= bigSize {
		if err := fr.fill(n); err != nil {
			return h, nil, bodyError(h, err)
		}
		body := fr.buf[fr.start : fr.start+n : fr.start+n]
		fr.start += n
		return h, body, nil
	}
	body := fr.largeBody(n)
	have := copy(body, fr.buf[fr.start:fr.end])
	fr.start += have
	var err error
	if fr.raw != nil && have < n {
		err = fr.readRawBody(body[have:])
	} else {
		_, err = io.ReadFull(fr.r, body[have:])
	}
	if err != nil {
		return h, nil, bodyError(h, err)
	}
	fr.large = body
	return h, body, nil
}

// readRawBody reads b, the rest of a large body, from the raw
// connection, along with what follows it as far as the read buffer has
// room (rawReader.readBody). Nothing unread is buffered on entry.
func (fr *Reader) readRawBody(b []byte) error {
	fr.start, fr.end = 0, 0
	for empty := 0; len(b) > 0; {
		n, err := fr.raw.readBody(fr, b)
		b = b[n:]
		if err != nil {
			if len(b) == 0 {
				return nil // the error comes back on the next read
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if n == 0 {
			if empty++; empty == maxEmptyReads {
				return io.ErrNoProgress
			}
		}
	}
	return nil
}

// ownSlack is how much larger than a body its buffer may be for Own to
// hand it over: a pooled buffer that a larger frame left would pin more
// than the body it holds.
const ownSlack = 8

// Own hands body, the last body Next returned, over to the caller for
// good when it is a buffer of its own — a frame larger than the Reader's
// read buffer, read plain, whose buffer is at most an eighth larger than
// it — and reports whether it did: the Reader then never reads into that
// buffer again, so the caller keeps it, or slices of it, without a copy.
// It reports false for a body in a buffer the Reader reuses, which the
// caller copies if it keeps it.
func (fr *Reader) Own(body []byte) bool {
	l := fr.large
	if len(l) == 0 || len(body) != len(l) || &body[0] != &l[0] || cap(l) > len(l)+len(l)/ownSlack {
		return false
	}
	fr.large = nil
	fr.body, fr.bodySpare = nil, false // not pooled again
	return true
}

func bodyError(h wire.Header, err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("reading %s frame body: %w", h.Kind, err)
}

// Buffered returns how many bytes have been read but not yet returned
// as frames.
func (fr *Reader) Buffered() int { return fr.end - fr.start }

// Release gives back the buffers the last frame's body used, when no
// unread bytes remain in them, ending that body's life early. A Reader
// about to wait for its peer holds only its small array.
func (fr *Reader) Release() {
	fr.releaseBody()
	if fr.plain != nil {
		fr.releasePlain()
	}
	if fr.start == fr.end {
		fr.start, fr.end = 0, 0
		fr.giveBack()
	}
}

// releaseBody gives back the pooled body of the last large frame.
func (fr *Reader) releaseBody() {
	fr.large = nil
	if fr.body != nil {
		switch {
		case fr.bodySpare:
			fr.TakeBack(*fr.body)
		case cap(*fr.body) <= maxPooledBody:
			bodyPool.Put(fr.body)
		}
		fr.body, fr.bodySpare = nil, false
	}
}

// giveBack returns the large buffer, which must be empty, to the pool.
func (fr *Reader) giveBack() {
	if fr.big != nil {
		bigPool.Put(fr.big)
		fr.big = nil
		fr.buf = fr.small
	}
}

// maxEmptyReads is how many reads in a row may return nothing, and no
// error, before the Reader gives up with io.ErrNoProgress.
const maxEmptyReads = 100

// fill reads until at least need (≤ bigSize) unread bytes are buffered.
func (fr *Reader) fill(need int) error {
	for empty := 0; fr.end-fr.start < need; {
		if fr.start > 0 {
			fr.end = copy(fr.buf, fr.buf[fr.start:fr.end])
			fr.start = 0
		}
		if need > len(fr.buf) {
			fr.grow(need)
		}
		idle := fr.Idle != nil && fr.start == fr.end
		if idle {
			fr.Idle.Store(true)
		}
		var n int
		var err error
		if fr.raw != nil {
			n, err = fr.raw.read(fr)
		} else {
			n, err = fr.r.Read(fr.buf[fr.end:])
		}
		fr.end += n
		if idle {
			fr.Idle.Store(false)
		}
		if n == 0 && err == nil {
			if empty++; empty == maxEmptyReads {
				return io.ErrNoProgress
			}
		}
		if fr.raw == nil && fr.big == nil && fr.end == len(fr.buf) {
			// The small array is full: more is probably waiting.
			fr.borrow()
		}
		if err != nil {
			if fr.end-fr.start >= need {
				return nil // the error comes back on the next read
			}
			if err == io.EOF && fr.end > fr.start {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// grow makes room for need (at most bigSize) unread bytes: the small
// array when they fit there and the Reader is not raw, else a large
// buffer.
func (fr *Reader) grow(need int) {
	if fr.big == nil && fr.raw == nil && need <= smallSize {
		if fr.small == nil {
			fr.small = make([]byte, smallSize)
		}
		fr.end = copy(fr.small, fr.buf[:fr.end])
		fr.buf = fr.small
		return
	}
	fr.borrow()
}

// borrow moves the unread bytes (which start at 0) into a large buffer
// from the pool, unless they are in one.
func (fr *Reader) borrow() {
	if fr.big != nil {
		return
	}
	fr.big = bigPool.Get().(*[]byte)
	fr.end = copy(*fr.big, fr.buf[:fr.end])
	fr.buf = *fr.big
}

// maxSpares is how many bodies taken back a Reader keeps.
const maxSpares = 4

// TakeBack keeps b, a body fr's Own handed over, once its receiver is
// done with it, to read a later frame of fr into — of fr alone, never of
// another Reader: a receiver that reads a body it gave back (breaking the
// borrowing rule it was given) sees only later bytes of its own
// connection, never another's. A Reader keeps at most maxSpares; more are
// left to the collector, as are those of a Reader no longer read.
func (fr *Reader) TakeBack(b []byte) {
	c := cap(b)
	if c <= bigSize || c > maxPooledBody {
		return
	}
	fr.spareMu.Lock()
	if fr.nSpares < maxSpares {
		fr.spares[fr.nSpares] = b[:c]
		fr.nSpares++
	}
	fr.spareMu.Unlock()
}

// DropSpares leaves the bodies taken back to the collector: a Reader
// about to wait for its peer with nothing unread, or whose borrowing
// receiver is done, holds none.
func (fr *Reader) DropSpares() {
	fr.spareMu.Lock()
	clear(fr.spares[:fr.nSpares])
	fr.nSpares = 0
	fr.spareMu.Unlock()
}

// spare returns a body taken back with room for n bytes, or nil.
func (fr *Reader) spare(n int) []byte {
	fr.spareMu.Lock()
	defer fr.spareMu.Unlock()
	for i := fr.nSpares - 1; i >= 0; i-- {
		if b := fr.spares[i]; cap(b) >= n {
			fr.nSpares--
			fr.spares[i] = fr.spares[fr.nSpares]
			fr.spares[fr.nSpares] = nil
			return b
		}
	}
	return nil
}

// Recycle gives back b, a body that Own handed over, once no one reads
// it any more, for any Reader to read a later frame into. Use it only
// where every reader of b is trusted code; TakeBack otherwise.
func Recycle(b []byte) {
	if c := cap(b); c > bigSize && c <= maxPooledBody {
		b = b[:c]
		bodyPool.Put(&b)
	}
}

// largeBody returns a buffer of n bytes for a body larger than bigSize,
// from the pool when one there is large enough.
func (fr *Reader) largeBody(n int) []byte {
	if n <= maxPooledBody {
		if b := fr.spare(n); b != nil {
			fr.body, fr.bodySpare = &b, true
			return b[:n]
		}
		if p, _ := bodyPool.Get().(*[]byte); p != nil && cap(*p) >= n {
			fr.body = p
			return (*p)[:n]
		}
		b := make([]byte, n)
		fr.body = &b
		return b
	}
	return make([]byte, n)
}
