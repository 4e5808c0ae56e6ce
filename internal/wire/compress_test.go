package wire

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestCompressedFrameRoundTrip(t *testing.T) {
	body := []byte(strings.Repeat(`{"name":"user","score":1.5},`, 1000))
	frame := append(AppendHeader(nil, Header{Size: uint32(len(body)), Kind: KindReply, Flags: FlagError, ID: 9}), body...)
	z, ok := AppendCompressedFrame([]byte("prefix"), frame)
	if !ok || string(z[:6]) != "prefix" {
		t.Fatalf("compressed %v, %q", ok, z[:6])
	}
	z = z[6:]
	if len(z) > len(frame)/4 {
		t.Errorf("%d bytes compressed to %d", len(frame), len(z))
	}
	if _, err := ParseHeader(z, DefaultMaxBody); !errors.Is(err, ErrReserved) {
		t.Errorf("ParseHeader took a compressed frame: %v", err)
	}
	h, compressed, err := ParseHeaderCompressed(z, DefaultMaxBody)
	if err != nil || !compressed || h.Kind != KindReply || h.Flags != FlagError || h.ID != 9 || int(h.Size) != len(z)-HeaderSize {
		t.Fatalf("header %+v compressed %v: %v", h, compressed, err)
	}
	n, err := DecompressedSize(z[HeaderSize:], DefaultMaxBody)
	if err != nil || n != len(body) {
		t.Fatalf("DecompressedSize = %d, %v; want %d", n, err, len(body))
	}
	plain, err := Decompress(make([]byte, n), z[HeaderSize:], n)
	if err != nil || !bytes.Equal(plain, body) {
		t.Fatalf("Decompress: %v", err)
	}
	if _, err := DecompressedSize(z[HeaderSize:], len(body)-1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a body one byte past the limit: %v, want ErrTooLarge", err)
	}
}

func TestCompressedFrameSkipsIncompressible(t *testing.T) {
	random := make([]byte, 64<<10)
	r := rand.NewChaCha8([32]byte{5})
	_, _ = r.Read(random)
	frame := append(AppendHeader(nil, Header{Size: uint32(len(random)), Kind: KindCall}), random...)
	if out, ok := AppendCompressedFrame([]byte("x"), frame); ok || string(out) != "x" {
		t.Errorf("random bytes: compressed %v, %d bytes appended; want nothing", ok, len(out)-1)
	}
	big := make([]byte, 1<<20)
	_, _ = r.Read(big)
	frame = append(AppendHeader(nil, Header{Size: uint32(len(big)), Kind: KindReply}), big...)
	if _, ok := AppendCompressedFrame(nil, frame); ok {
		t.Error("compressed 1 MiB of random bytes")
	}
	// Text that shrinks, but by less than a sixteenth, is sent plain too.
	half := append([]byte(strings.Repeat("a", 2<<10)), random[:62<<10]...)
	frame = append(AppendHeader(nil, Header{Size: uint32(len(half)), Kind: KindCall}), half...)
	if _, ok := AppendCompressedFrame(nil, frame); ok {
		t.Error("compressed a body that shrinks by less than a sixteenth")
	}
}

func TestParseHeaderCompressedKinds(t *testing.T) {
	for k := KindCall; k <= KindWindow; k++ {
		size := uint32(1)
		if k == KindWindow {
			size = WindowBodySize
		}
		b := AppendHeader(nil, Header{Size: size, Kind: k, Flags: FlagCompressed})
		_, compressed, err := ParseHeaderCompressed(b, DefaultMaxBody)
		if k.Compressible() != (err == nil && compressed) {
			t.Errorf("%s frame with FlagCompressed: compressed %v, %v", k, compressed, err)
		}
	}
	b := AppendHeader(nil, Header{Size: 0, Kind: KindItem, Flags: FlagEnd | FlagCompressed})
	if _, _, err := ParseHeaderCompressed(b, DefaultMaxBody); err != nil {
		t.Errorf("end of stream with the flag and an empty body: %v", err) // refused when its body fails to decode
	}
	b = AppendHeader(nil, Header{Size: 5, Kind: KindItem, Flags: FlagEnd | FlagCompressed})
	if _, _, err := ParseHeaderCompressed(b, DefaultMaxBody); !errors.Is(err, ErrReserved) {
		t.Errorf("end of stream with a body: %v", err)
	}
}

// FuzzDecompress decodes arbitrary bodies as compressed ones, and
// compresses arbitrary bodies: a body decodes to at most the limit and to
// exactly the size it declares, and a compressed frame decodes to the
// frame it was.
func FuzzDecompress(f *testing.F) {
	text := []byte(strings.Repeat("abcabcabd", 100))
	f.Add(AppendCompressed(nil, text))
	f.Add(AppendCompressed(nil, make([]byte, 1<<20)))
	f.Add(append(AppendCompressed(nil, text[:10]), AppendCompressed(nil, text)...))
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		const limit = 64 << 10
		if n, err := DecompressedSize(b, limit); err == nil {
			if n > limit {
				t.Fatalf("declared %d bytes past the %d limit", n, limit)
			}
			out, err := Decompress(make([]byte, n), b, n)
			if err == nil && len(out) != n {
				t.Fatalf("decoded %d bytes, declared %d", len(out), n)
			}
		}
		if len(b) > limit {
			return
		}
		frame := append(AppendHeader(nil, Header{Size: uint32(len(b)), Kind: KindItem, ID: 3}), b...)
		z, ok := AppendCompressedFrame(nil, frame)
		if !ok {
			return
		}
		h, compressed, err := ParseHeaderCompressed(z, limit)
		if err != nil || !compressed || h.Kind != KindItem || h.ID != 3 {
			t.Fatalf("compressed header %+v, %v, %v", h, compressed, err)
		}
		n, err := DecompressedSize(z[HeaderSize:], limit)
		if err != nil || n != len(b) {
			t.Fatalf("size %d, %v; want %d", n, err, len(b))
		}
		out, err := Decompress(make([]byte, n), z[HeaderSize:], n)
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// BenchmarkAppendCompressedFrame measures compressing a 1 MiB frame of
// JSON-like text, and deciding not to compress one of random bytes.
func BenchmarkAppendCompressedFrame(b *testing.B) {
	text := []byte(strings.Repeat(`{"id":12345,"name":"user-678","active":true},`, (1<<20)/45))
	random := make([]byte, 1<<20)
	r := rand.NewChaCha8([32]byte{6})
	_, _ = r.Read(random)
	for _, tc := range []struct {
		name string
		body []byte
	}{{"text", text}, {"random", random}} {
		b.Run(tc.name, func(b *testing.B) {
			frame := append(AppendHeader(nil, Header{Size: uint32(len(tc.body)), Kind: KindReply}), tc.body...)
			dst := make([]byte, 0, len(frame))
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			for b.Loop() {
				dst, _ = AppendCompressedFrame(dst[:0], frame)
			}
		})
	}
}
