//go:build unix

package frameio

import (
	"io"
	"syscall"
)

// UseRaw makes the Reader read c's file descriptor itself, through
// syscall.RawConn, rather than through its io.Reader: it then waits for
// bytes holding no buffer at all and takes one from the pool only when
// a read will fill it. stamp, if not nil, is called after each read that
// returns bytes (the io.Reader, which may count them, is bypassed).
// Large bodies are still read through the io.Reader. UseRaw reports
// whether the connection allows it; call it before the first Next.
func (fr *Reader) UseRaw(c syscall.Conn, stamp func()) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	f := &fdReader{rc: rc, stamp: stamp}
	f.fn, f.fnv = f.try, f.tryBody
	fr.raw = f
	if fr.end > fr.start {
		fr.borrow() // bytes the Reader was given move to a large buffer
	} else {
		fr.buf = nil
	}
	fr.small = nil
	return true
}

// fdReader reads a Reader's connection with read(2) once the poller says
// it is readable.
type fdReader struct {
	rc    syscall.RawConn
	stamp func()
	fn    func(fd uintptr) bool // try, made once so that reads do not allocate
	fnv   func(fd uintptr) bool // tryBody, made once

	fr   *Reader // the Reader reading, during read and readBody
	body []byte  // what readBody reads into first
	n    int
	err  error
}

func (f *fdReader) read(fr *Reader) (int, error) { return f.run(fr, nil, f.fn) }

// run reads with fn (try or tryBody) through the poller, b being what
// tryBody reads into first, and stamps the connection's activity if
// anything came.
func (f *fdReader) run(fr *Reader, b []byte, fn func(fd uintptr) bool) (int, error) {
	f.fr, f.body, f.n, f.err = fr, b, 0, nil
	err := f.rc.Read(fn)
	f.fr, f.body = nil, nil
	if err != nil {
		return 0, err
	}
	if f.n > 0 && f.stamp != nil {
		f.stamp()
	}
	return f.n, f.err
}

// try reads what the descriptor has into a large buffer, borrowed for
// the moment; when nothing is there yet it gives an empty buffer back
// and reports false, so that the poller waits without it.
func (f *fdReader) try(fd uintptr) bool {
	fr := f.fr
	fr.borrow()
	for {
		n, err := syscall.Read(int(fd), fr.buf[fr.end:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			if fr.end == 0 {
				fr.giveBack()
				fr.DropSpares()
			}
			return false
		case err != nil:
			f.err = err
		case n == 0:
			f.err = io.EOF
		default:
			f.n = n
		}
		return true
	}
}

// readBody reads into b, the rest of a large frame's body, and in the
// same system call into the read buffer past it, where the frames after
// it start (readv(2) where there is one): a stream of large frames takes
// one read per frame rather than two, and no copy of a buffer's worth of
// each body. The unread bytes are none on entry; those read past b are
// left in the buffer. It returns the bytes read into b.
func (f *fdReader) readBody(fr *Reader, b []byte) (int, error) { return f.run(fr, b, f.fnv) }

// tryBody is try for readBody.
func (f *fdReader) tryBody(fd uintptr) bool {
	fr := f.fr
	fr.borrow()
	for {
		n, err := readv(int(fd), f.body, fr.buf[fr.end:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			if fr.end == 0 {
				fr.giveBack()
			}
			return false
		case err != nil:
			f.err = err
		case n == 0:
			f.err = io.EOF
		case n > len(f.body):
			fr.end += n - len(f.body)
			f.n = len(f.body)
		default:
			f.n = n
		}
		return true
	}
}
