//go:build !unix

package frameio

import "syscall"

// UseRaw would make the Reader wait on c's descriptor without a buffer;
// on this platform it does nothing and reports false.
func (fr *Reader) UseRaw(c syscall.Conn, stamp func()) bool { return false }
