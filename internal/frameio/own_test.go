package frameio

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/simplerpc/simplerpc/internal/wire"
)

// TestReaderOwn checks that Own hands over the body of a large plain frame
// — which the Reader then never reads into again, while the bodies of the
// frames after it arrive intact — and refuses every other body: a small
// frame's, in the Reader's read buffer; another slice than the last body;
// a body whose buffer is far larger than it; a decoded one.
func TestReaderOwn(t *testing.T) {
	large := 3 * bigSize
	var stream []byte
	for i, c := range "abcd" {
		stream = append(stream, frame(uint64(i), strings.Repeat(string(c), large))...)
	}
	stream = append(stream, frame(9, "small")...)
	r := NewReader(bytes.NewReader(stream), nil, 1<<20)

	var owned [][]byte
	for i, c := range "abcd" {
		_, body, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && r.Own(owned[len(owned)-1]) {
			t.Fatalf("frame %d: Own took a body an earlier Next returned", i)
		}
		if !r.Own(body) {
			t.Fatalf("frame %d: Own refused a large plain body", i)
		}
		if r.Own(body) {
			t.Fatalf("frame %d: Own handed the same body over twice", i)
		}
		owned = append(owned, body)
		for j, b := range owned {
			if want := bytes.Repeat([]byte{byte("abcd"[j])}, large); !bytes.Equal(b, want) {
				t.Fatalf("after frame %d (%c): the body of frame %d changed", i, c, j)
			}
		}
	}
	_, small, err := r.Next()
	if err != nil || string(small) != "small" {
		t.Fatalf("small frame: %q, %v", small, err)
	}
	if r.Own(small) {
		t.Fatal("Own took a small body, which is in the Reader's read buffer")
	}

	// A pooled buffer much larger than the body it holds stays pooled.
	r.large = make([]byte, large, 4*large)
	if r.Own(r.large) {
		t.Fatal("Own took a body whose buffer is four times its size")
	}
	r.large = nil
	for _, b := range owned {
		Recycle(b)
	}
}

// TestReaderOwnRefusesDecoded checks that Own refuses the decoded body of
// a compressed frame, however large: it is in a buffer the Reader reuses.
func TestReaderOwnRefusesDecoded(t *testing.T) {
	plain := make([]byte, 3*bigSize)
	rng := rand.NewChaCha8([32]byte{1})
	_, _ = rng.Read(plain) // incompressible: the compressed body is a large one too
	stream := compressedFrame(wire.KindCall, wire.AppendCompressed(nil, plain))
	r := NewReader(bytes.NewReader(stream), nil, 1<<20)
	r.Decompress(nil)
	_, body, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, plain) {
		t.Fatal("decoded body differs")
	}
	if r.Own(body) {
		t.Fatal("Own took a decoded body")
	}
	r.Release()
}

// TestReaderTakeBackStaysWithItsReader checks that a body given back with
// TakeBack is read into again by its own Reader, and never by another:
// a receiver that breaks the borrowing rule sees only its own
// connection's bytes.
func TestReaderTakeBackStaysWithItsReader(t *testing.T) {
	large := 3 * bigSize
	stream := func(c string) []byte {
		var s []byte
		for i := range 3 {
			s = append(s, frame(uint64(i), strings.Repeat(c, large))...)
		}
		return s
	}
	a := NewReader(bytes.NewReader(stream("a")), nil, 1<<20)
	b := NewReader(bytes.NewReader(stream("b")), nil, 1<<20)
	_, body, err := a.Next()
	if err != nil || !a.Own(body) {
		t.Fatalf("a's first frame: %v; or Own refused it", err)
	}
	given := &body[0]
	a.TakeBack(body)
	// b's frames are read, released and pooled: none into a's body.
	for i := range 3 {
		_, bb, err := b.Next()
		if err != nil {
			t.Fatal(err)
		}
		if &bb[0] == given {
			t.Fatalf("b's frame %d was read into the body a took back", i)
		}
		b.Release()
	}
	if body[0] != 'a' {
		t.Fatalf("the body a took back holds %q: another Reader wrote it", body[0])
	}
	// a's next frame is read into it, and it stays a's once released.
	_, next, err := a.Next()
	if err != nil || &next[0] != given {
		t.Fatalf("a's next frame: %v; read into the body taken back: %v", err, err == nil && &next[0] == given)
	}
	a.Release()
	if a.nSpares != 1 || &a.spares[0][0] != given {
		t.Fatalf("after Release a keeps %d spares; want its body back among them", a.nSpares)
	}
}
