package faultproxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// chunkSize is the most bytes one read takes from a connection.
const chunkSize = 16 << 10

// queueDepth is how many chunks a direction reads ahead of its writer.
const queueDepth = 8

var chunkPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// chunk is what one read returned, or the end of the stream.
type chunk struct {
	buf *[]byte
	n   int
	at  time.Time // when it was read
	eof bool      // the source ended its side of the stream
}

// link is one proxied connection: the client's side conns[0], the
// target's side conns[1]. Direction i (0 upstream, 1 downstream) reads
// conns[i] and writes conns[1-i], with a reader and a writer goroutine
// joined by a queue.
type link struct {
	p     *Proxy
	conns [2]net.Conn
	queue [2]chan chunk
	done  chan struct{} // closed when the link shuts
	once  sync.Once
	open  atomic.Int32 // directions whose stream has not ended
	// silenced drops everything from now on, both ways, telling no one.
	silenced atomic.Bool
	// paceAt is, per direction, when the rate limit lets the next byte
	// go; only that direction's writer uses it.
	paceAt [2]time.Time
}

// paceSlack is how far behind its schedule a rate-limited direction may
// fall and still catch up: lateness up to it (a timer that fired late, a
// short read) is made up by sending sooner, while a direction idle for
// longer starts a new schedule rather than bursting.
const paceSlack = 2 * time.Millisecond

func newLink(p *Proxy, client, target net.Conn) *link {
	l := &link{p: p, conns: [2]net.Conn{client, target}, done: make(chan struct{})}
	for i := range l.queue {
		l.queue[i] = make(chan chunk, queueDepth)
	}
	l.open.Store(2)
	return l
}

// start runs the four goroutines of the link; the caller has added them
// to the Proxy's WaitGroup.
func (l *link) start() {
	for i := range 2 {
		go l.read(i)
		go l.write(i)
	}
}

// shut ends the link once: closes both connections (abruptly if rst) and
// releases its goroutines.
func (l *link) shut(rst bool) {
	l.once.Do(func() {
		for _, c := range l.conns {
			if rst {
				abort(c)
			} else {
				c.Close()
			}
		}
		close(l.done)
		l.p.forget(l)
	})
}

// read is direction i's reader: it queues what it reads from conns[i].
func (l *link) read(i int) {
	defer l.p.wg.Done()
	src := l.conns[i]
	for {
		bp := chunkPool.Get().(*[]byte)
		n, err := src.Read(*bp)
		if n > 0 {
			if !l.enqueue(i, chunk{buf: bp, n: n, at: time.Now()}) {
				return
			}
		} else {
			chunkPool.Put(bp)
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			l.enqueue(i, chunk{eof: true})
			return
		default:
			// A reset or a failed connection: pass it on as a reset.
			l.shut(true)
			return
		}
	}
}

func (l *link) enqueue(i int, c chunk) bool {
	select {
	case l.queue[i] <- c:
		return true
	case <-l.done:
		return false
	}
}

// write is direction i's writer: it forwards the queued chunks to
// conns[1-i], applying the direction's faults.
func (l *link) write(i int) {
	defer l.p.wg.Done()
	dst := l.conns[1-i]
	for {
		var c chunk
		select {
		case c = <-l.queue[i]:
		case <-l.done:
			return
		}
		if c.eof {
			l.endStream(dst)
			return
		}
		ok := l.forward(i, dst, c)
		chunkPool.Put(c.buf)
		if !ok {
			return
		}
	}
}

// endStream passes the end of one direction's stream on as a half-close,
// and shuts the link once both have ended.
func (l *link) endStream(dst net.Conn) {
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	if l.open.Add(-1) == 0 {
		l.shut(false)
	}
}

// forward writes one chunk after its delay, stalls and faults, reporting
// false if the link has shut.
func (l *link) forward(i int, dst net.Conn, c chunk) bool {
	if wait := time.Until(c.at.Add(l.p.delayOf(i))); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-l.done:
			t.Stop()
			return false
		}
	}
	if l.silenced.Load() {
		return true
	}
	for {
		pl := l.p.planChunk(i, c.n)
		if pl.stall != nil {
			select {
			case <-pl.stall:
				continue
			case <-l.done:
				return false
			}
		}
		switch {
		case pl.drop:
			return true
		case pl.cut >= 0:
			_, _ = dst.Write((*c.buf)[:pl.cut])
			l.shut(false)
			return false
		}
		if err := l.send(i, dst, (*c.buf)[:c.n]); err != nil {
			l.shut(true)
			return false
		}
		return true
	}
}

// send writes b to dst, paced by direction i's rate limit, if any. The
// pace follows a schedule (paceAt), so that the lateness of timers and
// writes does not add up: a busy machine still gets the rate it asked
// for.
func (l *link) send(i int, dst net.Conn, b []byte) error {
	for len(b) > 0 {
		rate := l.p.rateOf(i)
		if rate <= 0 {
			_, err := dst.Write(b)
			return err
		}
		// Slices of a hundredth of a second's worth.
		n := min(len(b), max(rate/100, 1))
		if floor := time.Now().Add(-paceSlack); l.paceAt[i].Before(floor) {
			l.paceAt[i] = floor
		}
		if _, err := dst.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
		l.paceAt[i] = l.paceAt[i].Add(time.Duration(n) * time.Second / time.Duration(rate))
		if wait := time.Until(l.paceAt[i]); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-l.done:
				t.Stop()
				return net.ErrClosed
			}
		}
	}
	return nil
}
