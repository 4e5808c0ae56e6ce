package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrMalformedAck reports an ack body that does not follow PROTOCOL.md.
var ErrMalformedAck = errors.New("wire: malformed ack body")

// AckBodySize is the size of an ack body: the number of frames the client
// has read on the connection, the ack's own connection, so far.
const AckBodySize = 8

// AppendAckBody appends an ack body saying the client has read frames
// frames on this connection.
func AppendAckBody(b []byte, frames uint64) []byte { return binary.BigEndian.AppendUint64(b, frames) }

// ParseAckBody parses an ack body: empty (ok false) or the number of
// frames the client has read on the connection.
func ParseAckBody(b []byte) (frames uint64, ok bool, err error) {
	switch len(b) {
	case 0:
		return 0, false, nil
	case AckBodySize:
		return binary.BigEndian.Uint64(b), true, nil
	}
	return 0, false, fmt.Errorf("%w: %d bytes, want 0 or %d", ErrMalformedAck, len(b), AckBodySize)
}
