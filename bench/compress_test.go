package main

import (
	"fmt"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// BenchmarkSlowlinkCompressors compresses and decompresses the slowlink
// payloads with the candidates for simplerpc's compression: zstd at three
// levels, configured as simplerpc configures it (one segment, no checksum),
// and S2 at two. Each reports the compressed size (bytes) and the ratio.
func BenchmarkSlowlinkCompressors(b *testing.B) {
	type coder struct {
		name   string
		encode func(dst, src []byte) []byte
		decode func(dst, src []byte) ([]byte, error)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		b.Fatal(err)
	}
	defer dec.Close()
	var coders []coder
	for _, lvl := range []zstd.EncoderLevel{zstd.SpeedFastest, zstd.SpeedDefault, zstd.SpeedBetterCompression} {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(lvl), zstd.WithEncoderConcurrency(1),
			zstd.WithLowerEncoderMem(true), zstd.WithSingleSegment(true), zstd.WithEncoderCRC(false))
		if err != nil {
			b.Fatal(err)
		}
		defer enc.Close()
		coders = append(coders, coder{"zstd-" + lvl.String(), func(dst, src []byte) []byte { return enc.EncodeAll(src, dst[:0]) },
			func(dst, src []byte) ([]byte, error) { return dec.DecodeAll(src, dst[:0]) }})
	}
	s2dec := func(dst, src []byte) ([]byte, error) { return s2.Decode(dst[:cap(dst)], src) }
	coders = append(coders,
		coder{"s2", func(dst, src []byte) []byte { return s2.Encode(dst[:cap(dst)], src) }, s2dec},
		coder{"s2-better", func(dst, src []byte) []byte { return s2.EncodeBetter(dst[:cap(dst)], src) }, s2dec})
	for _, pl := range slowPayloads {
		for _, c := range coders {
			z := c.encode(make([]byte, 0, s2.MaxEncodedLen(len(pl.data))), pl.data)
			report := func(b *testing.B) {
				b.SetBytes(int64(len(pl.data)))
				b.ReportMetric(float64(len(z)), "bytes")
				b.ReportMetric(float64(len(pl.data))/float64(len(z)), "ratio")
			}
			b.Run(fmt.Sprintf("%s/%s/encode", pl.name, c.name), func(b *testing.B) {
				dst := make([]byte, 0, s2.MaxEncodedLen(len(pl.data)))
				for b.Loop() {
					dst = c.encode(dst, pl.data)
				}
				report(b)
			})
			b.Run(fmt.Sprintf("%s/%s/decode", pl.name, c.name), func(b *testing.B) {
				dst := make([]byte, 0, len(pl.data))
				for b.Loop() {
					if dst, err = c.decode(dst, z); err != nil || len(dst) != len(pl.data) {
						b.Fatalf("decoded %d bytes: %v", len(dst), err)
					}
				}
				report(b)
			})
		}
	}
}
