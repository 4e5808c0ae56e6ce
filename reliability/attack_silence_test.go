package reliability_test

import (
	"fmt"
	"net"
	"regexp"
	"testing"
	"time"
)

// Attack 9: calls the server might drop without a word — an id at or
// below the last ack, id 0 in a new session, many calls sharing one id.
// Each must get a reply, or the connection must be closed with a line in
// the log: a client must never be left waiting in silence.

// silenceWait is how long a raw client waits for an answer.
const silenceWait = 3 * time.Second

// TestAttackCallsNeverSilent sends calls a server could ignore and
// expects each answered, or the connection closed and the close logged.
func TestAttackCallsNeverSilent(t *testing.T) {
	as := startAttackServer(t, attackSetup{})
	t.Run("id at or below the last ack", func(t *testing.T) {
		as.attack(t, "a call whose id is at or below the last ack", 20*time.Second, func(a *attackRun) string {
			nc, fr := sessionConn(a)
			if _, err := nc.Write(repeatFrames(10, func(i int) []byte { return addCall(uint64(i+1), 1, 2) })); err != nil {
				a.t.Fatal(err)
			}
			for range 10 {
				if _, err := fr.next(time.Now().Add(silenceWait)); err != nil {
					a.t.Fatalf("the first calls' replies: %v", err)
				}
			}
			if _, err := nc.Write(ackFrame(10, fr.frames)); err != nil {
				a.t.Fatal(err)
			}
			var outcomes []string
			for _, id := range []uint64{10, 5} {
				outcomes = append(outcomes, expectAnswers(a, nc, fr, addCall(id, 1, 2), id, 1))
			}
			return fmt.Sprint(outcomes)
		})
	})
	t.Run("id 0 in a new session", func(t *testing.T) {
		as.attack(t, "call id 0 in a new session", 20*time.Second, func(a *attackRun) string {
			nc, fr := sessionConn(a)
			return expectAnswers(a, nc, fr, addCall(0, 1, 2), 0, 1)
		})
	})
	t.Run("50 calls sharing one id", func(t *testing.T) {
		as.attack(t, "50 calls sharing one id, without a session", 20*time.Second, func(a *attackRun) string {
			nc, err := a.dialRaw(net.Dialer{}, "cbor")
			if err != nil {
				a.t.Fatal(err)
			}
			frames := repeatFrames(50, func(int) []byte { return callFrame(7, "Victim.Slow", 0, cborArray(cborUint(50))) })
			return expectAnswers(a, nc, &frameReader{nc: nc}, frames, 7, 50)
		})
	})
}

// sessionConn opens a connection with a new session.
func sessionConn(a *attackRun) (net.Conn, *frameReader) {
	nc, w, err := a.dialHello(net.Dialer{}, "cbor", helloSession, newSessionID())
	if err != nil || w.status != 0 {
		a.t.Fatalf("hello: %v, status %d", err, w.status)
	}
	return nc, &frameReader{nc: nc}
}

// expectAnswers sends frames and expects want replies with the given id,
// or the connection closed and the server logging about it.
func expectAnswers(a *attackRun, nc net.Conn, fr *frameReader, frames []byte, id uint64, want int) string {
	mark := a.as.logs.count()
	if _, err := nc.Write(frames); err != nil {
		a.t.Fatal(err)
	}
	got, errs := 0, 0
	for got < want {
		f, err := fr.next(time.Now().Add(silenceWait))
		switch {
		case isTimeout(err):
			a.t.Errorf("call id %d: %d of %d answered, then silence for %v", id, got, want, silenceWait)
			return fmt.Sprintf("id %d: %d of %d answered, then silence", id, got, want)
		case err != nil:
			time.Sleep(100 * time.Millisecond) // the server logs after it closes
			if a.as.logs.matching(mark, regexp.MustCompile(regexp.QuoteMeta(nc.LocalAddr().String()))) == 0 {
				a.t.Errorf("call id %d: the server closed the connection after %d of %d answers, and logged nothing about it", id, got, want)
			}
			return fmt.Sprintf("id %d: closed after %d of %d answers (%v)", id, got, want, err)
		case f.id != id:
			a.t.Errorf("a reply for id %d; only %d was sent", f.id, id)
		}
		got++
		if f.flags&flagError != 0 {
			errs++
		}
	}
	return fmt.Sprintf("id %d: %d answered, %d with an error", id, got, errs)
}
