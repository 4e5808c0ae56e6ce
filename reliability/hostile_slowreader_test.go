package reliability_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// Size of the never-reading client's flood: replyCalls replies of
// replySize bytes each, 8 MiB in all, more than the socket buffers hold
// with the client's receive buffer made small. The heap bound of the
// hostile tests checks that replies waiting for a client that does not
// read are not kept without limit. (All the calls run at once, each
// holding its result while it runs: with more of them the heap would
// measure that instead.)
const (
	replyCalls = 1024
	replySize  = 8 << 10
)

// neverReads asks for many large replies and never reads one. The server
// must close the connection after its write timeout.
func neverReads(h *hostileBench) (string, time.Duration, error) {
	return neverReadsN(h, replyCalls, replySize)
}

// neverReadsN asks for calls replies of size bytes and never reads. It
// notices the close when a write of its own fails with the connection
// reset.
func neverReadsN(h *hostileBench, calls, size int) (string, time.Duration, error) {
	nc, err := rawDialWith(net.Dialer{Control: smallReceiveBuffer}, h.addr, "cbor")
	if err != nil {
		return "handshake failed", 0, err
	}
	defer nc.Close()
	var frames bytes.Buffer
	for id := uint64(1); id <= uint64(calls); id++ {
		frames.Write(callFrame(id, "Work.Blob", 0, cborArray(cborUint(uint64(size)))))
	}
	start := time.Now()
	if _, err := nc.Write(frames.Bytes()); err != nil {
		return "write failed", time.Since(start), fmt.Errorf("sending the calls: %w", err)
	}
	if waitWriteFails(nc, frameHeader(0, kindPing, 0, 1), start.Add(10*time.Second)) {
		return fmt.Sprintf("closed after the %v write timeout", hostileWrite), time.Since(start), nil
	}
	return "still open", time.Since(start), errors.New("the server kept the connection of a client that never reads")
}

// smallReceiveBuffer shrinks a socket's receive buffer before it
// connects, so that what the client does not read backs up into the
// server sooner.
func smallReceiveBuffer(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<10)
	})
	if err != nil {
		return fmt.Errorf("setting SO_RCVBUF: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("setting SO_RCVBUF: %w", serr)
	}
	return nil
}

// waitWriteFails writes probe every few milliseconds until a write fails
// for another reason than a timeout (the server closed the connection) or
// until the deadline, and reports whether one did.
func waitWriteFails(nc net.Conn, probe []byte, deadline time.Time) bool {
	for time.Now().Before(deadline) {
		_ = nc.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
		_, err := nc.Write(probe)
		var ne net.Error
		switch {
		case err == nil:
			time.Sleep(20 * time.Millisecond)
		case errors.As(err, &ne) && ne.Timeout():
			// Our send buffer is full: the server stopped reading.
		default:
			return true
		}
	}
	return false
}
