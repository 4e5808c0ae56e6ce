// Package frameio moves simplerpc frames over a connection: a Reader that
// reads one frame at a time within a size limit, and a Writer whose send
// loop coalesces every queued frame into one write. Where the handshake
// negotiated compression, the Writer compresses bodies and the Reader
// decodes them (compress.go).
package frameio
