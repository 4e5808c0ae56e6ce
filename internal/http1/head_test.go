package http1

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const good = "POST /rpc?x=1 HTTP/1.1\r\nHost: example.com:80\r\nContent-Type: application/json\r\nContent-Length: 12\r\nX-Trace:  a b \r\nconnection: keep-alive, Close\r\n\r\n"
	var h Head
	if r := Parse([]byte(good+"{body}"), &h); r != Fast {
		t.Fatalf("Parse = %v", r)
	}
	b := []byte(good)
	if h.Len != len(good) || string(h.Path.Of(b)) != "/rpc" || string(h.Query.Of(b)) != "x=1" || !h.HasQuery ||
		string(h.Host.Of(b)) != "example.com:80" || h.ContentLength != 12 || !h.Close || h.NFields != 4 {
		t.Fatalf("head %+v", h)
	}
	if f := h.Fields[2]; f.Canon != "" || string(f.Name.Of(b)) != "X-Trace" || string(f.Value.Of(b)) != "a b" {
		t.Errorf("field %+v", f)
	}
	for i := range len(good) - 1 {
		if r := Parse([]byte(good[:i]), &h); r != Incomplete {
			t.Errorf("prefix of %d bytes: %v", i, r)
		}
	}
}

func TestParseHandsOver(t *testing.T) {
	base := "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
	for _, head := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.0\r\nHost: x\r\nContent-Length: 2\r\n\r\n",
		"POST http://x/ HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n",
		"POST /%41 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n",
		"POST /a b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nHost: y\r\nContent-Length: 2\r\n\r\n",
		base + "Content-Length: 2\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +2\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2 2\r\n\r\n",
		base + "Transfer-Encoding: chunked\r\n\r\n",
		base + "transfer-encoding: identity\r\n\r\n",
		base + "Expect: 100-continue\r\n\r\n",
		base + "Upgrade: websocket\r\nConnection: upgrade\r\n\r\n",
		base + "Connection: te\r\n\r\n",
		base + "Pragma: no-cache\r\n\r\n",
		base + "X-A: 1\r\n folded\r\n\r\n",
		base + "X A: 1\r\n\r\n",
		base + "X-A : 1\r\n\r\n",
		base + "X-A: \x01\r\n\r\n",
		base + "X-A: 1\n\r\n\r\n",
		base + "X-A: 1\r\r\n\r\n",
		"POST / HTTP/1.1\nHost: x\r\n",
	} {
		var h Head
		if r := Parse([]byte(head), &h); r != Other {
			t.Errorf("%q: %v, want Other", head, r)
		}
	}
	many := base + strings.Repeat("X-A: 1\r\n", MaxFields) + "\r\n"
	var h Head
	if r := Parse([]byte(many), &h); r != Other {
		t.Errorf("%d fields: %v", MaxFields+1, r)
	}
}

func TestParseAllocs(t *testing.T) {
	b := []byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
	var h Head
	if n := testing.AllocsPerRun(100, func() { Parse(b, &h) }); n != 0 {
		t.Errorf("%v allocations per Parse", n)
	}
}

// FuzzParse checks that whatever Parse accepts, net/http's ReadRequest
// reads to the same request: method, target, host, length, close and
// headers.
func FuzzParse(f *testing.F) {
	f.Add([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"))
	f.Add([]byte("POST /a?b=c HTTP/1.1\r\nhost: x:1\r\ncontent-length: 0\r\nConnection: close\r\nX: a\r\nx: b\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Head
		if Parse(b, &h) != Fast {
			return
		}
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b[:h.Len])))
		if err != nil {
			t.Fatalf("accepted %q; net/http: %v", b[:h.Len], err)
		}
		if r.Method != http.MethodPost || r.RequestURI != string(h.Target.Of(b)) || r.URL.Path != string(h.Path.Of(b)) ||
			r.URL.RawQuery != string(h.Query.Of(b)) || r.Host != string(h.Host.Of(b)) || r.ContentLength != h.ContentLength ||
			r.Close != h.Close || r.ProtoMajor != 1 || r.ProtoMinor != 1 || len(r.TransferEncoding) != 0 {
			t.Fatalf("%q: net/http %s %q %q %q %d close=%v; Parse %+v", b[:h.Len], r.Method, r.RequestURI, r.URL.Path, r.Host, r.ContentLength, r.Close, h)
		}
		got := http.Header{}
		for _, fl := range h.Fields[:h.NFields] {
			k := fl.Canon
			if k == "" {
				k = string(Canonical(nil, fl.Name.Of(b)))
			}
			got[k] = append(got[k], string(fl.Value.Of(b)))
		}
		if len(got) != len(r.Header) {
			t.Fatalf("%q: headers %v, net/http %v", b[:h.Len], got, r.Header)
		}
		for k, v := range r.Header {
			if strings.Join(got[k], "\x00") != strings.Join(v, "\x00") {
				t.Fatalf("%q: header %s %q, net/http %q", b[:h.Len], k, got[k], v)
			}
		}
	})
}
