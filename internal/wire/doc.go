// Package wire holds the simplerpc wire format: the handshake, the frame
// header and the bodies of each frame kind. Every function here is pure: it
// appends to or parses from a byte slice and never performs I/O. PROTOCOL.md
// at the repository root is the normative description; this package is its
// implementation.
package wire
