package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/faultproxy"
)

// The slow link of the slowlink workload: 100 Mbit/s each way and a
// round trip of 10 ms, as between two regions.
const (
	slowRate  = 100e6 / 8 // bytes per second, each way
	slowDelay = 5 * time.Millisecond
	slowSize  = 1 << 20 // payload of each call
)

// slowPayload is one of the payloads echoed over the slow link.
type slowPayload struct {
	name string
	data []byte
}

var slowPayloads = []slowPayload{
	{"json", jsonLike(slowSize)},
	{"random", randomBytes(slowSize)},
}

// jsonLike returns n bytes of JSON-like text: an array of records with
// varying numbers and strings, which compresses as real JSON does.
func jsonLike(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 0, n+256)
	b = append(b, '[')
	for i := 0; len(b) < n; i++ {
		b = fmt.Appendf(b, `{"id":%d,"name":"user-%d","email":"user%d@example.com","active":%t,"score":%.4f,"region":"%s","tags":["t%d","t%d"]},`,
			i, r.IntN(100000), r.IntN(100000), r.IntN(2) == 0, r.Float64(), []string{"eu-west", "us-east", "ap-south"}[r.IntN(3)], r.IntN(50), r.IntN(50))
	}
	return b[:n]
}

// randomBytes returns n pseudo-random bytes, which no compressor shrinks.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{1})
	_, _ = r.Read(b)
	return b
}

func slowlinkScenario() scenario {
	return scenario{name: "slowlink", perSystem: slowlinkSystem, report: reportSlowlink}
}

// The compressed rows: simplerpc with zstd on both ends (WithCompression
// at its default threshold), measured right after simplerpc-cbor, and
// gRPC with gzip, after gRPC, for reference.
var (
	slowZstd = simplerpcSystem{codec: "cbor", compress: simplerpc.DefaultCompressionMinSize}
	slowGzip = grpcSystem{gzip: true}
)

// slowlinkSystem measures s on the slow link and, after simplerpc-cbor
// and gRPC, their compressed variants.
func slowlinkSystem(cfg config, s system, res *results) error {
	err := slowlinkOnce(cfg, s, res)
	switch s.name() {
	case refSimpleRPC:
		err = errors.Join(err, slowlinkOnce(cfg, slowZstd, res))
	case (grpcSystem{}).name():
		err = errors.Join(err, slowlinkOnce(cfg, slowGzip, res))
	}
	return err
}

// slowCalls is the fewest calls a slowlink measurement makes: a call
// takes about 180 ms, so -d alone would make only a handful.
func slowCalls(cfg config) int {
	if cfg.smoke {
		return 1
	}
	return 5
}

// slowlinkOnce serves s behind a fault proxy that paces both directions
// to slowRate with slowDelay each way, dials one client through it, and
// echoes each payload back to back from one caller for at least cfg.d and
// slowCalls calls.
func slowlinkOnce(cfg config, s system, res *results) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute+time.Duration(len(slowPayloads))*cfg.d)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	stop, err := s.serve(ln)
	if err != nil {
		ln.Close()
		return err
	}
	defer func() { err = errors.Join(err, stop()) }()
	p, err := faultproxy.New(ln.Addr().String())
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	defer func() { err = errors.Join(err, p.Close()) }()
	p.SetRate(faultproxy.Both, slowRate)
	p.SetDelay(faultproxy.Both, slowDelay)
	c, err := s.dial(ctx, p.Addr())
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.close()) }()
	for _, pl := range slowPayloads {
		call := func() error {
			out, err := c.echoBytes(ctx, pl.data)
			if err != nil {
				return fmt.Errorf("%s echo: %w", pl.name, err)
			}
			if !bytes.Equal(out, pl.data) {
				return fmt.Errorf("%s echo returned %d bytes, not the %d sent", pl.name, len(out), len(pl.data))
			}
			return nil
		}
		if cfg.warm > 0 {
			if err := call(); err != nil {
				return err
			}
		}
		var took []time.Duration
		start := time.Now()
		for time.Since(start) < cfg.d || len(took) < slowCalls(cfg) {
			t0 := time.Now()
			if err := call(); err != nil {
				return err
			}
			took = append(took, time.Since(t0))
		}
		elapsed := time.Since(start)
		slices.Sort(took)
		res.add(s.name(), metric{"slowlink-" + pl.name, kindTput, 1}, float64(len(took))/elapsed.Seconds())
		res.add(s.name(), metric{"slowlink-" + pl.name, kindP50, 1}, took[len(took)/2].Seconds())
	}
	return nil
}

// reportSlowlink writes the slowlink section.
func reportSlowlink(b *strings.Builder, cfg config, res *results) {
	fmt.Fprintf(b, "\n## Slow link: 1 MiB echo at 100 Mbit/s, 10 ms RTT\n\n")
	fmt.Fprintf(b, "One client, one caller, through the fault proxy (internal/faultproxy) pacing each direction to 100 Mbit/s with 5 ms of delay each way. "+
		"The payload is a 1 MiB []byte of JSON-like text (compressible) or of random bytes; every reply is compared with what was sent. "+
		"simplerpc-cbor-zstd, measured right after simplerpc-cbor, has WithCompression(DefaultCompressionMinSize) on server and client: zstd on every message of 1 KiB or more that shrinks; "+
		"grpc-gzip, measured after grpc, is gRPC with its gzip compressor on requests and replies, for reference. "+
		"Calls/s is calls ÷ time, over at least -d and %d calls; MB/s counts the payload once per call. "+
		"At this rate and delay an uncompressed echo needs at least %.0f ms.\n\n",
		slowCalls(cfg), (2*float64(slowSize)/slowRate+2*slowDelay.Seconds())*1e3)
	var cols []column
	for _, pl := range slowPayloads {
		k := "slowlink-" + pl.name
		cols = append(cols,
			medianCol(res, "calls/s "+pl.name, 2, metric{k, kindTput, 1}, 1),
			medianCol(res, "MB/s", 1, metric{k, kindTput, 1}, float64(slowSize)/1e6),
			medianCol(res, "p50 ms", 1, metric{k, kindP50, 1}, 1e3))
	}
	rows := slices.Clone(res.systems)
	for _, s := range []system{slowZstd, slowGzip} {
		if _, ok := res.median(s.name(), metric{"slowlink-json", kindTput, 1}); ok {
			rows = append(rows, s.name())
		}
	}
	writeRowTable(b, rows, cols)
	fmt.Fprintf(b, "\nRatios:\n\n")
	writeRowRatios(b, rows, cols, refFloor, refSimpleRPC)
}
