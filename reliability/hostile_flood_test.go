package reliability_test

import (
	"bytes"
	"fmt"
	"sync"
	"time"
)

// floodCalls is how many calls one raw connection sends at once.
const floodCalls = 5000

// flood sends floodCalls calls in one write, each holding 20 ms on the
// server, and expects every one answered exactly once, run exactly once.
// While it reads the replies it pings the server now and then, as the
// server's keepalive needs frames from it: the server's own pings queue
// behind the replies and may come back too late (see knownBugCases).
func flood(h *hostileBench) (string, time.Duration, error) {
	nc, err := rawDial(h.addr, "cbor")
	if err != nil {
		return "handshake failed", 0, err
	}
	defer nc.Close()
	var frames bytes.Buffer
	for id := uint64(1); id <= floodCalls; id++ {
		args := cborArray(cborText(fmt.Sprintf("h/%d", id)), cborUint(20))
		frames.Write(callFrame(id, "Work.Do", 0, args))
	}
	start := time.Now()
	_ = nc.SetDeadline(start.Add(60 * time.Second))
	writeErr := make(chan error, 1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer nc.Close()
	defer close(done)
	wg.Go(func() {
		_, err := nc.Write(frames.Bytes())
		writeErr <- err
		tick := time.NewTicker(hostileKeepalive / 4)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if _, err := nc.Write(frameHeader(0, kindPing, 0, 0)); err != nil {
					return
				}
			}
		}
	})
	answered := make(map[uint64]int, floodCalls)
	var failed int
	for len(answered) < floodCalls {
		f, err := nextReply(nc)
		if err != nil {
			nc.Close()
			<-writeErr
			return fmt.Sprintf("%d of %d answered", len(answered), floodCalls), time.Since(start), fmt.Errorf("reading replies: %w", err)
		}
		answered[f.id]++
		if f.flags&flagError != 0 {
			failed++
		}
	}
	took := time.Since(start)
	if err := <-writeErr; err != nil {
		return "write failed", took, fmt.Errorf("sending the calls: %w", err)
	}
	execs := h.ledger.take("h/")
	var twice int
	for id := uint64(1); id <= floodCalls; id++ {
		if answered[id] != 1 || execs[fmt.Sprintf("h/%d", id)] != 1 {
			twice++
		}
	}
	outcome := fmt.Sprintf("all %d answered, %d with an error", floodCalls, failed)
	if failed > 0 || twice > 0 || len(execs) != floodCalls {
		return outcome, took, fmt.Errorf("%d calls not answered or run exactly once; %d executions recorded", twice, len(execs))
	}
	return outcome, took, nil
}
