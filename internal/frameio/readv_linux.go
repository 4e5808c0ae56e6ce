package frameio

import (
	"syscall"
	"unsafe"
)

// readv reads from fd into a, then b, in one system call.
func readv(fd int, a, b []byte) (int, error) {
	if len(b) == 0 {
		return syscall.Read(fd, a)
	}
	iov := [2]syscall.Iovec{{Base: &a[0]}, {Base: &b[0]}}
	iov[0].SetLen(len(a))
	iov[1].SetLen(len(b))
	n, _, errno := syscall.Syscall(syscall.SYS_READV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), 2)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
