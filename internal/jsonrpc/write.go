package jsonrpc

import (
	"io"
	"net/http"
	"strconv"
)

// WriteJSON writes body, a JSON value, with status.
func WriteJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// PartsLen returns the length of the non-nil parts, JSON values, as
// one array if array, or of the one part.
func PartsLen(array bool, parts [][]byte) int {
	if !array {
		return len(parts[0])
	}
	n := 1 // "[", then each part and a comma or the "]"
	for _, p := range parts {
		if p != nil {
			n += len(p) + 1
		}
	}
	return n
}

// Header values set on every response, shared rather than made for each:
// net/http only reads them, and a handler adding a value to one (Add)
// gets a slice of its own, as these have no room.
var (
	jsonType       = []string{"application/json"}
	acceptEncoding = []string{"Accept-Encoding"}
)

// autoLength is the largest response net/http gives a Content-Length of
// its own: it buffers that much before it must choose, and a handler that
// returns meanwhile has written the whole body.
const autoLength = 2 << 10

// VaryEncoding says in h that the response depends on the request's
// Accept-Encoding.
func VaryEncoding(h http.Header) {
	if _, ok := h["Vary"]; ok {
		h.Add("Vary", "Accept-Encoding")
		return
	}
	h["Vary"] = acceptEncoding
}

// WriteArray writes the non-nil parts, JSON values, as one array
// (or the one part, unless array) with status 200, without joining them
// in memory first. It sets Content-Length for a response too large for
// net/http to, which sets it for smaller ones.
func WriteArray(w http.ResponseWriter, array bool, parts [][]byte) {
	h := w.Header()
	h["Content-Type"] = jsonType
	if n := PartsLen(array, parts); n > autoLength {
		h.Set("Content-Length", strconv.Itoa(n))
	}
	WriteParts(w, array, parts)
}

// WriteParts writes the non-nil parts as one array, or the one part
// unless array.
func WriteParts(w io.Writer, array bool, parts [][]byte) {
	if !array {
		_, _ = w.Write(parts[0])
		return
	}
	sep := "["
	for _, p := range parts {
		if p == nil {
			continue
		}
		_, _ = io.WriteString(w, sep)
		if _, err := w.Write(p); err != nil {
			return
		}
		sep = ","
	}
	_, _ = io.WriteString(w, "]")
}
