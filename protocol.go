package simplerpc

import (
	"errors"
	"time"
)

// What both sides of a native connection share.

// errProtocol marks a peer that broke the protocol: its connection is
// closed, with the reason logged.
var errProtocol = errors.New("protocol violation")

// lingerTimeout bounds how long a side that closes a connection
// gracefully waits for its peer to hang up, so that the peer reads the
// last frames rather than a reset.
const lingerTimeout = time.Second
