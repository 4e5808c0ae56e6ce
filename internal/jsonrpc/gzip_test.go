package jsonrpc

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"
)

func TestRequestCoding(t *testing.T) {
	for _, tc := range []struct {
		values []string
		gz     bool
		bad    string
	}{
		{nil, false, ""},
		{[]string{"identity"}, false, ""},
		{[]string{"GZIP"}, true, ""},
		{[]string{"x-gzip, identity"}, true, ""},
		{[]string{"gzip", "gzip"}, false, "gzip applied twice"},
		{[]string{"br"}, false, "br"},
	} {
		h := http.Header{"Content-Encoding": tc.values}
		if gz, bad := RequestCoding(h); gz != tc.gz || bad != tc.bad {
			t.Errorf("RequestCoding(%q) = %v, %q; want %v, %q", tc.values, gz, bad, tc.gz, tc.bad)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for v, want := range map[string]bool{
		"":                    false,
		"gzip":                true,
		"deflate, gzip;q=0.5": true,
		"gzip;q=0":            false,
		"*":                   true,
		"*, gzip;q=0":         false,
		"br":                  false,
	} {
		if got := AcceptsGzip(http.Header{"Accept-Encoding": {v}}); got != want {
			t.Errorf("AcceptsGzip(%q) = %v", v, got)
		}
	}
}

func TestGzipBody(t *testing.T) {
	var zipped bytes.Buffer
	zw := GzipWriter(&zipped)
	_, _ = zw.Write([]byte("hello, body"))
	_ = zw.Close()
	PutGzipWriter(zw)
	g, err := OpenGzip(bytes.NewReader(zipped.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(g)
	g.Close()
	if err != nil || string(got) != "hello, body" {
		t.Fatalf("read %q, %v", got, err)
	}
	// A stream that is not gzip is a *GzipError; a failing connection is not.
	if _, err := OpenGzip(bytes.NewReader([]byte("not gzip at all"))); !errors.As(err, new(*GzipError)) {
		t.Fatalf("OpenGzip of plain text: %v, want a *GzipError", err)
	}
	cut := io.MultiReader(bytes.NewReader(zipped.Bytes()[:12]), failing{})
	g, err = OpenGzip(cut)
	if err == nil {
		_, err = io.ReadAll(g)
		g.Close()
	}
	if err == nil || errors.As(err, new(*GzipError)) {
		t.Fatalf("a connection failing mid-body: %v, want its own error", err)
	}
}

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("connection reset") }
