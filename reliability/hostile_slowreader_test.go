package reliability_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"time"
)

// Size of the never-reading client's flood: replyCalls replies of
// replySize bytes each.
const (
	replyCalls = 64
	replySize  = 256 << 10
)

// neverReads asks for many large replies and never reads one. The server
// must close the connection after its write timeout. The client notices
// when a write of its own fails with the connection reset.
func neverReads(h *hostileBench) (string, time.Duration, error) {
	nc, err := rawDial(h.addr, "cbor")
	if err != nil {
		return "handshake failed", 0, err
	}
	defer nc.Close()
	var frames bytes.Buffer
	for id := uint64(1); id <= replyCalls; id++ {
		frames.Write(callFrame(id, "Work.Blob", 0, cborArray(cborUint(replySize))))
	}
	start := time.Now()
	if _, err := nc.Write(frames.Bytes()); err != nil {
		return "write failed", time.Since(start), fmt.Errorf("sending the calls: %w", err)
	}
	ping := frameHeader(0, kindPing, 0, 1)
	for time.Since(start) < 10*time.Second {
		_ = nc.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
		_, err := nc.Write(ping)
		var ne net.Error
		switch {
		case err == nil:
			time.Sleep(20 * time.Millisecond)
		case errors.As(err, &ne) && ne.Timeout():
			// Our send buffer is full: the server stopped reading.
		default:
			return fmt.Sprintf("closed after the %v write timeout", hostileWrite), time.Since(start), nil
		}
	}
	return "still open", time.Since(start), errors.New("the server kept the connection of a client that never reads")
}
