package http1

import "bytes"

// MaxFields is the most header fields a head the parser accepts may hold;
// a head with more is Other.
const MaxFields = 32

// Result is what Parse makes of the bytes it is given.
type Result int

const (
	// Incomplete: the bytes are a prefix of a head the parser may accept;
	// read more (or, if the buffer is full, hand the request over).
	Incomplete Result = iota
	// Fast: a complete head the parser accepts.
	Fast
	// Other: a request the fast path does not serve; hand it over.
	Other
)

// Span is a part of the parsed bytes, [Off, Off+Len).
type Span struct{ Off, Len int32 }

// Of returns the bytes of s within b.
func (s Span) Of(b []byte) []byte { return b[s.Off : s.Off+s.Len] }

// Field is one header field: its name in canonical form (an interned
// string for a common one, else empty, with the name in Name's bytes) and
// its value, without surrounding blanks.
type Field struct {
	Canon string // the canonical name, if a common one
	Name  Span   // the name as sent
	Value Span
}

// Head is a request head the parser accepted.
type Head struct {
	Len           int  // the head's length, final CRLF included
	Target        Span // the request target: "/path?query"
	Path          Span // its path
	Query         Span // its query, without "?"; Len 0 if none
	HasQuery      bool // whether the target has a "?"
	Host          Span
	ContentLength int64
	Close         bool // Connection: close
	NFields       int
	Fields        [MaxFields]Field // the fields, Host excluded
}

const (
	fTE = 1 << iota
	fExpect
	fUpgrade
	fPragma
)

// Parse parses the head of a request at the start of b into h.
func Parse(b []byte, h *Head) Result {
	*h = Head{ContentLength: -1}
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		if !prefixOK(b) {
			return Other
		}
		return Incomplete
	}
	h.Len = end + 4
	// The request line: "POST " target " HTTP/1.1" CRLF.
	line, rest, _ := bytes.Cut(b[:end+2], []byte("\r\n"))
	if !bytes.HasPrefix(line, []byte("POST /")) || !bytes.HasSuffix(line, []byte(" HTTP/1.1")) {
		return Other
	}
	t := line[len("POST ") : len(line)-len(" HTTP/1.1")]
	off := int32(len("POST "))
	h.Target = Span{off, int32(len(t))}
	h.Path = h.Target
	for i, c := range t {
		if c == '?' && !h.HasQuery {
			h.HasQuery = true
			h.Path = Span{off, int32(i)}
			h.Query = Span{off + int32(i) + 1, int32(len(t) - i - 1)}
			continue
		}
		if !targetByte[c] {
			return Other
		}
	}
	pos := int32(len(line) + 2)
	hosts, lengths := 0, 0
	var seen int
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		lineOff := pos
		pos += int32(len(line) + 2)
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return Other // no name; a folded line opens with a blank
		}
		name := line[:colon]
		for _, c := range name {
			if !tokenByte[c] {
				return Other
			}
		}
		v := line[colon+1:]
		for _, c := range v {
			if (c < ' ' && c != '\t') || c == 0x7f {
				return Other
			}
		}
		vs, ve := 0, len(v)
		for vs < ve && (v[vs] == ' ' || v[vs] == '\t') {
			vs++
		}
		for ve > vs && (v[ve-1] == ' ' || v[ve-1] == '\t') {
			ve--
		}
		value := Span{lineOff + int32(colon+1+vs), int32(ve - vs)}
		val := v[vs:ve]
		canon := common(name)
		switch canon {
		case "Host":
			hosts++
			for _, c := range val {
				if !hostByte[c] {
					return Other
				}
			}
			h.Host = value
			continue
		case "Content-Length":
			lengths++
			n, ok := parseLength(val)
			if !ok {
				return Other
			}
			h.ContentLength = n
		case "Transfer-Encoding":
			seen |= fTE
		case "Expect":
			seen |= fExpect
		case "Upgrade":
			seen |= fUpgrade
		case "Pragma":
			seen |= fPragma
		case "Connection":
			c, ok := connection(val)
			if !ok {
				return Other
			}
			h.Close = h.Close || c
		case "":
			if isSpecial(name) {
				return Other // a name these cases hold, spelled otherwise
			}
		}
		if h.NFields == MaxFields {
			return Other
		}
		h.Fields[h.NFields] = Field{Canon: canon, Name: Span{lineOff, int32(colon)}, Value: value}
		h.NFields++
	}
	if hosts != 1 || lengths != 1 || seen != 0 {
		return Other
	}
	return Fast
}

// prefixOK reports whether b, no head yet, may still become one Parse
// accepts: it opens as a POST request, and every line it ends is ended by
// CRLF.
func prefixOK(b []byte) bool {
	const want = "POST /"
	n := min(len(b), len(want))
	if string(b[:n]) != want[:n] {
		return false
	}
	for i, c := range b {
		switch {
		case c == '\n' && (i == 0 || b[i-1] != '\r'):
			return false
		case c == '\r' && i+1 < len(b) && b[i+1] != '\n':
			return false
		}
	}
	return true
}

// parseLength parses a Content-Length value: 1 to 18 decimal digits.
func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// connection parses a Connection value of the tokens "close" and
// "keep-alive", comma-separated, reporting whether it holds "close"; any
// other token is refused.
func connection(v []byte) (closing, ok bool) {
	for len(v) > 0 {
		var tok []byte
		tok, v, _ = bytes.Cut(v, []byte(","))
		tok = bytes.Trim(tok, " \t")
		switch {
		case bytes.EqualFold(tok, []byte("close")):
			closing = true
		case bytes.EqualFold(tok, []byte("keep-alive")):
		default:
			return false, false
		}
	}
	return closing, true
}
