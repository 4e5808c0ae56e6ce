package simplerpc

import (
	"strings"
	"unicode/utf8"
)

// maxPeerText bounds what of a peer's input (a method name it called) a
// message the server builds quotes: a JSON-RPC method name may be
// megabytes long.
const maxPeerText = 256

// peerText returns s, a peer's input, fit to quote in a message: every
// byte that is not part of valid UTF-8 replaced with U+FFFD, since a
// strict decoder refuses a CBOR text string that is not UTF-8, and cut
// to at most maxPeerText bytes, ending with an ellipsis if cut.
func peerText(s string) string {
	s = validUTF8(s)
	if len(s) <= maxPeerText {
		return s
	}
	const ellipsis = "…"
	cut := maxPeerText - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

// validUTF8 returns s with every byte that is not part of valid UTF-8
// replaced with U+FFFD; s itself, without copying, when it is valid.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
