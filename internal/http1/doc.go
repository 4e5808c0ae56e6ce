// Package http1 parses the head of an HTTP/1.1 request for the fast path
// of a simplerpc server's HTTP front: a JSON-RPC call sent by POST with a
// Content-Length. It is pure (no I/O) and makes no allocation: a head is
// described by offsets into the bytes it was parsed from.
//
// The parser accepts only a strict subset of HTTP/1.1, and reports
// anything else as Other, for the caller to hand the connection to a full
// HTTP server (net/http) before the request, with nothing consumed. What
// it accepts, net/http parses to the same method, target, host, length and
// headers (FuzzParse checks it); where the two could disagree, it refuses:
// a request that is not POST, a target not in origin form or with a byte
// outside a conservative set (a percent sign included), a version other
// than HTTP/1.1, a line not ended by CRLF, a folded line, a header name
// that is not a token, a value with a control byte, a missing or repeated
// Host, a missing, repeated or malformed Content-Length, and any
// Transfer-Encoding, Expect, Upgrade, Pragma or Connection header but
// "close" and "keep-alive".
package http1
