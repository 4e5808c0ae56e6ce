package frameio

import (
	"bufio"
	"fmt"
	"io"

	"github.com/simplerpc/simplerpc/internal/wire"
)

// Reader reads frames from a buffered connection.
type Reader struct {
	r       *bufio.Reader
	maxBody int
	hdr     [wire.HeaderSize]byte
	body    []byte
}

// maxKeptBody is the largest body buffer a Reader keeps between frames.
const maxKeptBody = 64 << 10

// NewReader returns a Reader that refuses bodies over maxBody.
func NewReader(r *bufio.Reader, maxBody int) *Reader {
	return &Reader{r: r, maxBody: maxBody}
}

// Next reads the next frame. The body is valid until the next call to Next.
func (fr *Reader) Next() (wire.Header, []byte, error) {
	if _, err := io.ReadFull(fr.r, fr.hdr[:]); err != nil {
		return wire.Header{}, nil, err
	}
	h, err := wire.ParseHeader(fr.hdr[:], fr.maxBody)
	if err != nil {
		return h, nil, err
	}
	n := int(h.Size)
	if cap(fr.body) < n || cap(fr.body) > maxKeptBody && n <= maxKeptBody {
		fr.body = make([]byte, n)
	}
	body := fr.body[:n]
	if _, err := io.ReadFull(fr.r, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return h, nil, fmt.Errorf("reading %s frame body: %w", h.Kind, err)
	}
	return h, body, nil
}
