package simplerpc

import "github.com/simplerpc/simplerpc/internal/text"

// maxPeerText bounds what of a peer's input (a method name it called) a
// message the server builds quotes: a JSON-RPC method name may be
// megabytes long.
const maxPeerText = 256

// peerText returns s, a peer's input, fit to quote in a message: every
// byte that is not part of valid UTF-8 replaced with U+FFFD, since a
// strict decoder refuses a CBOR text string that is not UTF-8, and cut
// to at most maxPeerText bytes, ending with an ellipsis if cut.
func peerText(s string) string { return text.Cut(text.Valid(s), maxPeerText) }
