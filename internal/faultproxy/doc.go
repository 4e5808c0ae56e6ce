// Package faultproxy is a TCP proxy for tests that injects network faults
// between a client and a server.
//
// A Proxy listens on a loopback port and forwards every connection it
// accepts to a target address. Faults are switched on and off while it
// runs, per Direction where that makes sense:
//
//   - drop: bytes are read and silently discarded;
//   - delay: every chunk is forwarded a fixed time after it was read;
//   - rate: bytes are forwarded no faster than a given bandwidth;
//   - stall: forwarding stops, without losing or reordering bytes, until
//     Resume;
//   - truncate: only the first n bytes of the next chunk are forwarded,
//     then the connection is closed;
//   - silence: the connections open now stop forwarding for good, both
//     ways, without telling the peers (half-open connections), while new
//     connections are forwarded;
//   - reset: every connection is closed abruptly, with a TCP RST;
//   - blackhole: new connections are accepted and held, and nothing is
//     forwarded for them.
//
// Every goroutine a Proxy starts belongs to it and has returned when Close
// returns.
package faultproxy
