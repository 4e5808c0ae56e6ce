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

// WriteArray writes the non-nil parts, JSON values, as one array
// (or the one part, unless array) with status 200, without joining them
// in memory first.
func WriteArray(w http.ResponseWriter, array bool, parts [][]byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(PartsLen(array, parts)))
	w.WriteHeader(http.StatusOK)
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
