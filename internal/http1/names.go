package http1

import "bytes"

// commonNames are the header names interned by Parse: those JSON-RPC
// clients send, and those whose presence Parse checks (special).
var commonNames = []string{
	"Accept", "Accept-Encoding", "Accept-Language", "Authorization",
	"Cache-Control", "Connection", "Content-Encoding", "Content-Length",
	"Content-Type", "Cookie", "Expect", "Host", "Origin", "Pragma",
	"Referer", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
	"User-Agent", "X-Forwarded-For", "X-Request-Id", "Traceparent",
}

// special are the names Parse acts on; one of them spelled in an unusual
// case is still found (common folds case).
var special = []string{"Host", "Content-Length", "Transfer-Encoding", "Expect", "Upgrade", "Pragma", "Connection"}

// common returns the canonical form of name if it is one of commonNames
// in any case, else "".
func common(name []byte) string {
	if len(name) > 32 {
		return ""
	}
	var buf [32]byte
	c := canonical(buf[:0], name)
	for _, n := range commonNames {
		if string(c) == n {
			return n
		}
	}
	return ""
}

// isSpecial reports whether name is one of special in any case; common
// has already said it is not, so this is a guard only.
func isSpecial(name []byte) bool {
	for _, s := range special {
		if bytes.EqualFold(name, []byte(s)) {
			return true
		}
	}
	return false
}

// Canonical appends name in canonical form (net/http's: the first letter
// and any after a hyphen upper case, the rest lower) to dst. Every byte of
// name is a token byte (Parse has checked).
func Canonical(dst, name []byte) []byte { return canonical(dst, name) }

func canonical(dst, name []byte) []byte {
	upper := true
	for _, c := range name {
		switch {
		case upper && 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case !upper && 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		dst = append(dst, c)
		upper = c == '-'
	}
	return dst
}

// Byte classes.
var (
	// tokenByte: RFC 9110's tchar.
	tokenByte = class("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
	// targetByte: the bytes of an origin-form target Parse takes, without
	// "?" (which starts the query) and "%" (whose decoding it leaves to
	// net/http).
	targetByte = class("-._~!$&'()*+,;=:@/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
	// hostByte: a host name or address and port.
	hostByte = class("-._:[]0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
)

func class(s string) (t [256]bool) {
	for i := range len(s) {
		t[s[i]] = true
	}
	return t
}
