//go:build unix && !linux

package frameio

import "syscall"

// readv reads from fd into a; b, which Linux's readv would fill next, is
// left alone here.
func readv(fd int, a, _ []byte) (int, error) { return syscall.Read(fd, a) }
