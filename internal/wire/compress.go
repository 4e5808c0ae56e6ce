package wire

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Compression (PROTOCOL.md §14). A client that sets
// HelloCompress in its hello and a server that answers with
// WelcomeCompress may each send call, reply and item frames whose body is
// compressed: such a frame sets FlagCompressed, and its body is one zstd
// frame that declares its content size. Later kinds may allow the flag
// too; on every other kind it stays reserved.
const (
	// HelloCompress: the client decodes compressed frames and would
	// send them.
	HelloCompress uint8 = 1 << 4
	// WelcomeCompress: the server, which was asked with HelloCompress,
	// decodes compressed frames and may send them. Without it neither
	// side sends one, and a compressed frame is a protocol violation.
	WelcomeCompress uint8 = 1 << 3
	// FlagCompressed marks a frame whose body is compressed.
	FlagCompressed uint8 = 1 << 6
)

// Compressible reports whether frames of kind k may carry FlagCompressed.
func (k Kind) Compressible() bool {
	return k == KindCall || k == KindReply || k == KindItem
}

// ErrCompressed reports a compressed body that is malformed, does not say
// how large it is, or decodes to other than the size it declares.
var ErrCompressed = errors.New("wire: bad compressed body")

// ParseHeaderCompressed is ParseHeader for a connection where compression
// was negotiated: it also accepts FlagCompressed on the kinds that may
// carry it, reports it in compressed, and returns the header without it.
func ParseHeaderCompressed(b []byte, maxBody int) (h Header, compressed bool, err error) {
	if len(b) < HeaderSize {
		return Header{}, false, ErrShortHeader
	}
	if b[5]&FlagCompressed == 0 || !Kind(b[4]).Compressible() {
		h, err = ParseHeader(b, maxBody)
		return h, false, err
	}
	var c [HeaderSize]byte
	copy(c[:], b)
	c[5] &^= FlagCompressed
	h, err = ParseHeader(c[:], maxBody)
	return h, true, err
}

// The zstd coders, made on first use: a process that never compresses
// holds none. Each serves as many goroutines at once as there are
// processors (more wait for one), and keeps its state between uses.
var (
	encoder = sync.OnceValue(func() *zstd.Encoder {
		e, err := zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)),
			zstd.WithLowerEncoderMem(true),
			// One segment: the frame declares its content size, which
			// the receiver checks before it decodes anything.
			zstd.WithSingleSegment(true),
			zstd.WithEncoderCRC(false)) // frames travel over a checked transport
		if err != nil {
			panic(err) // only for invalid options, which these are not
		}
		return e
	})
	decoder = sync.OnceValue(func() *zstd.Decoder {
		d, err := zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(runtime.GOMAXPROCS(0)),
			zstd.WithDecodeAllCapLimit(true), // never past the room given
			// The window is the frame's content size, which the caller
			// has bounded, and DecodeAll decodes into the caller's
			// buffer, allocating no window of its own.
			zstd.WithDecoderMaxWindow(1<<32))
		if err != nil {
			panic(err)
		}
		return d
	})
)

// AppendCompressed appends body, compressed, to dst.
func AppendCompressed(dst, body []byte) []byte {
	return encoder().EncodeAll(body, dst)
}

// DecompressedSize returns the size a compressed body declares it
// decodes to, refusing one over maxBody before anything is decoded: a
// small frame that would expand past the message limit is refused on its
// header alone.
func DecompressedSize(body []byte, maxBody int) (int, error) {
	var zh zstd.Header
	if err := zh.Decode(body); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrCompressed, err)
	}
	if !zh.HasFCS {
		return 0, fmt.Errorf("%w: the zstd frame does not declare its content size", ErrCompressed)
	}
	if zh.FrameContentSize > uint64(maxBody) {
		return 0, fmt.Errorf("%w: %d bytes decompressed > %d bytes", ErrTooLarge, zh.FrameContentSize, maxBody)
	}
	return int(zh.FrameContentSize), nil
}

// Decompress decodes body, which DecompressedSize said decodes to size
// bytes, into dst[:size], which must have room for them; it decodes
// nothing past them, and refuses a body that decodes to other than size
// bytes.
func Decompress(dst []byte, body []byte, size int) ([]byte, error) {
	out, err := decoder().DecodeAll(body, dst[:0:size])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCompressed, err)
	}
	if len(out) != size {
		return nil, fmt.Errorf("%w: decodes to %d bytes, declares %d", ErrCompressed, len(out), size)
	}
	return out, nil
}

// A body of sampleFrom bytes or more is compressed only if sampleSize
// bytes from its middle shrink: random or already compressed data then
// costs a compression of the sample, not of the whole body.
const (
	sampleFrom = 128 << 10
	sampleSize = 16 << 10
)

// shrinks reports whether b compresses by at least a sixteenth.
func shrinks(b []byte) bool {
	p := samplePool.Get().(*[]byte)
	n := len(AppendCompressed((*p)[:0], b))
	samplePool.Put(p)
	return n < len(b)-len(b)/16
}

// samplePool holds the buffers shrinks compresses samples into.
var samplePool = sync.Pool{New: func() any { b := make([]byte, 0, sampleSize+1024); return &b }}

// AppendCompressedFrame appends frame, one whole frame, to dst with its
// body compressed and FlagCompressed set, and reports true; or, when the
// compressed body would not be smaller by at least a sixteenth —
// incompressible data, which zstd detects quickly — appends nothing and
// reports false, so that the receiver is spared decoding what saves
// nothing on the wire. The caller checks that frame's kind is
// Compressible.
func AppendCompressedFrame(dst, frame []byte) ([]byte, bool) {
	body := frame[HeaderSize:]
	if len(body) >= sampleFrom && !shrinks(body[len(body)/2:][:sampleSize]) {
		return dst, false
	}
	start := len(dst)
	dst = append(dst, frame[:HeaderSize]...)
	dst = AppendCompressed(dst, body)
	size := len(dst) - start - HeaderSize
	if size >= len(body)-len(body)/16 {
		return dst[:start], false
	}
	PutSize(dst[start:], size)
	dst[start+5] |= FlagCompressed
	return dst, true
}
