package jsonrpc

import (
	"bufio"
	"compress/gzip"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// JSON-RPC over HTTP takes gzip-compressed request bodies
// (Content-Encoding: gzip) and compresses responses for clients that
// accept it (Accept-Encoding: gzip). The size limit and the memory budget
// apply to a body decompressed: it is read, and charged, as it
// decompresses, so a small body that decompresses to gigabytes is
// refused once past the limit.

// GzipMin is the smallest response compressed: below it, compressing
// saves too little to be worth the work.
const GzipMin = 1 << 10

// What a gzip reader and a gzip writer hold while in use, charged to
// the memory budget: a reader measured 45 KB, a writer at the default
// level 0.8 MB. Both are pooled, so these are held only while in use.
const (
	GzipReaderCost = 64 << 10
	GzipWriterCost = 1 << 20
)

var (
	gzipReaders sync.Pool // *gzip.Reader
	gzipWriters sync.Pool // *gzip.Writer
)

// RequestCoding reads the request's Content-Encoding: gz when the body
// is gzip-compressed, or the coding the server does not take (bad); no
// coding, or identity, is neither.
func RequestCoding(h http.Header) (gz bool, bad string) {
	for _, v := range h.Values("Content-Encoding") {
		for c := range strings.SplitSeq(v, ",") {
			switch c = strings.ToLower(strings.TrimSpace(c)); c {
			case "", "identity":
			case "gzip", "x-gzip":
				if gz {
					return false, "gzip applied twice"
				}
				gz = true
			default:
				return false, c
			}
		}
	}
	return gz, ""
}

// AcceptsGzip reports whether the request's Accept-Encoding takes gzip:
// named with a q-value above 0, or "*" above 0 without gzip named.
func AcceptsGzip(h http.Header) bool {
	named, star := false, false
	for _, v := range h.Values("Accept-Encoding") {
		for item := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(item, ";")
			q := 1.0
			if k, val, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				var err error
				if q, err = strconv.ParseFloat(strings.TrimSpace(val), 64); err != nil {
					q = 0
				}
			}
			switch strings.ToLower(strings.TrimSpace(coding)) {
			case "gzip", "x-gzip":
				if q > 0 {
					return true
				}
				named = true
			case "*":
				star = q > 0
			}
		}
	}
	return star && !named
}

// GzipError is the error of a gzip body that does not decompress.
type GzipError struct{ err error }

func (e *GzipError) Error() string {
	return "the gzip-compressed body does not decompress: " + e.err.Error()
}

func (e *GzipError) Unwrap() error { return e.err }

// GzipBody is a gzip-compressed request body being decompressed: Read
// gives the decompressed bytes; an error of the compressed stream itself
// (not of the connection under it) is a *GzipError.
type GzipBody struct {
	zr  *gzip.Reader
	raw *errReader
}

// errReader remembers whether its reader failed.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// OpenGzip starts decompressing body; the caller closes what it returns.
func OpenGzip(body io.Reader) (*GzipBody, error) {
	g := &GzipBody{raw: &errReader{r: body}}
	// The reader reads byte by byte at times: a buffer keeps that off the
	// connection.
	src := bufio.NewReaderSize(g.raw, 4<<10)
	var err error
	if zr, ok := gzipReaders.Get().(*gzip.Reader); ok {
		g.zr, err = zr, zr.Reset(src)
	} else {
		g.zr, err = gzip.NewReader(src)
	}
	if err != nil {
		g.Close()
		return nil, g.mark(err)
	}
	return g, nil
}

func (g *GzipBody) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	if err != nil && err != io.EOF {
		err = g.mark(err)
	}
	return n, err
}

// mark returns err as a *GzipError, unless the connection failed.
func (g *GzipBody) mark(err error) error {
	if g.raw.err != nil {
		return err
	}
	return &GzipError{err}
}

// Close returns the reader to the pool.
func (g *GzipBody) Close() {
	if g.zr != nil {
		gzipReaders.Put(g.zr)
		g.zr = nil
	}
}

// GzipWriter returns a pooled writer compressing to w; PutGzipWriter
// gives it back once closed.
func GzipWriter(w io.Writer) *gzip.Writer {
	if zw, ok := gzipWriters.Get().(*gzip.Writer); ok {
		zw.Reset(w)
		return zw
	}
	return gzip.NewWriter(w)
}

func PutGzipWriter(zw *gzip.Writer) {
	zw.Reset(io.Discard) // drops w
	gzipWriters.Put(zw)
}
