package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"iter"
	"strings"

	"github.com/simplerpc/simplerpc"
)

// DemoFiles is the demo's streaming service: files larger than one
// message travel as streams of chunks.
type DemoFiles struct{}

// chunkSize is the size of the chunks DemoFiles streams.
const chunkSize = 1 << 20

// Download streams size bytes of a made-up file, in chunks of 1 MiB.
func (DemoFiles) Download(ctx context.Context, size int) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		for off := 0; off < size; off += chunkSize {
			if !yield(fileChunk(off, min(chunkSize, size-off)), nil) {
				return
			}
		}
	}
}

// Upload receives a file's chunks and returns its size and SHA-256.
func (DemoFiles) Upload(ctx context.Context, chunks iter.Seq2[[]byte, error]) (int64, string, error) {
	h := sha256.New()
	var n int64
	for c, err := range chunks {
		if err != nil {
			return 0, "", err
		}
		h.Write(c)
		n += int64(len(c))
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// Lines streams n numbered lines.
func (DemoFiles) Lines(ctx context.Context, n int) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for i := 1; i <= n; i++ {
			if !yield(fmt.Sprintf("line %d", i), nil) {
				return
			}
		}
	}
}

// Shout receives words and streams each back in capitals.
func (DemoFiles) Shout(ctx context.Context, words iter.Seq2[string, error]) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for w, err := range words {
			if err != nil || !yield(strings.ToUpper(w), nil) {
				return
			}
		}
	}
}

// fileChunk returns n bytes of the made-up file at offset off.
func fileChunk(off, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((off + i) * 7 / 5)
	}
	return b
}

// demoFiles is the client's view of DemoFiles.
type demoFiles struct {
	Download func(ctx context.Context, size int) iter.Seq2[[]byte, error]
	Upload   func(ctx context.Context, chunks iter.Seq2[[]byte, error]) (int64, string, error)
}

// stepStreams streams a file of 40 MiB, more than the 16 MiB a message
// may hold, down and up again, and checks it.
func stepStreams(p *printer, c *simplerpc.Client, _ *demoStub) error {
	var files demoFiles
	if err := c.Bind("Files", &files); err != nil {
		return err
	}
	const size = 40 << 20
	ctx := context.Background()
	want := sha256.New()
	got := 0
	for chunk, err := range files.Download(ctx, size) {
		if err != nil {
			return fmt.Errorf("Download: %w", err)
		}
		want.Write(chunk)
		got += len(chunk)
	}
	if got != size {
		return fmt.Errorf("Download gave %d bytes, want %d", got, size)
	}
	p.say("   files.Download(ctx, 40 MiB)     = %d chunks of 1 MiB, ranged over as they arrive", size/chunkSize)
	n, digest, err := files.Upload(ctx, files.Download(ctx, size))
	if err != nil {
		return fmt.Errorf("Upload: %w", err)
	}
	if n != size || digest != hex.EncodeToString(want.Sum(nil)) {
		return fmt.Errorf("Upload = %d bytes, %s; want %d, %x", n, digest, size, want.Sum(nil))
	}
	p.say("   files.Upload(ctx, chunks)       = %d bytes, sha256 %s…  (the download piped back up: the same file)", n, digest[:12])
	return nil
}
