package reliability_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// Attacks 5 and 6: arguments small on the wire that are costly to decode.

// TestAttackBignum sends a CBOR bignum (tag 2) of 1 MiB as an int
// argument: it must be refused with a short error, not one that echoes
// the number back.
func TestAttackBignum(t *testing.T) {
	as := startAttackServer(t, attackSetup{budget: attackBudget()})
	n := attackSize(1<<20, 15<<20)
	as.attack(t, fmt.Sprintf("CBOR bignum of %s into an int", byteCount(int64(n))), 60*time.Second, func(a *attackRun) string {
		num := append([]byte{0xc2}, cborBytesHead(uint64(n))...)
		num = append(num, bytes.Repeat([]byte{0xff}, n)...)
		outcome, f, err := callOnce(a, "cbor", callFrame(1, "Victim.Add", 0, cborArray(num, cborUint(1))), 30*time.Second)
		switch {
		case err != nil:
			a.t.Error(err)
		case f.flags&flagError == 0:
			a.t.Errorf("a bignum of %d bytes into an int got a result", n)
		case len(f.body) > 4<<10:
			a.t.Errorf("the error reply to a bignum of %d bytes is %d bytes long: it must be short", n, len(f.body))
		}
		return outcome
	})
}

// TestAttackDecodeAmplification sends arguments whose decoded form is many
// times their size on the wire — empty maps or arrays, a million to a
// nested array — and expects them refused with the heap bounded.
func TestAttackDecodeAmplification(t *testing.T) {
	// The outer arrays hold 2^20 elements each, the most a decoder
	// accepts; 15 of them make a frame of about 15 MiB.
	outer := attackSize(4, 15)
	maxMsg := simplerpc.WithMaxMessageSize(16 << 20)
	t.Run("CBOR empty maps into any", func(t *testing.T) {
		as := startAttackServer(t, attackSetup{budget: attackBudget(), opts: []simplerpc.ServerOption{maxMsg}})
		frame := callFrame(1, "Victim.Any", 0, cborArray(nestedCBOR(outer, 1<<20, 0xa0)))
		as.attack(t, fmt.Sprintf("CBOR frame of %s: empty maps into any", byteCount(int64(len(frame)))), 120*time.Second, func(a *attackRun) string {
			return expectRefused(a, "cbor", frame)
		})
	})
	t.Run("CBOR empty arrays into []any", func(t *testing.T) {
		as := startAttackServer(t, attackSetup{budget: attackBudget(), opts: []simplerpc.ServerOption{maxMsg}})
		frame := callFrame(1, "Victim.List", 0, cborArray(nestedCBOR(outer, 1<<20, 0x80)))
		as.attack(t, fmt.Sprintf("CBOR frame of %s: empty arrays into []any", byteCount(int64(len(frame)))), 120*time.Second, func(a *attackRun) string {
			return expectRefused(a, "cbor", frame)
		})
	})
	t.Run("JSON array of more than 2^20 elements", func(t *testing.T) {
		as := startAttackServer(t, attackSetup{budget: attackBudget(), opts: []simplerpc.ServerOption{maxMsg}})
		args := "[[" + strings.Repeat("1,", 1<<20) + "1]]"
		frame := callFrame(1, "Victim.List", 0, []byte(args))
		as.attack(t, "JSON array of 2^20+1 elements into []any", 60*time.Second, func(a *attackRun) string {
			return expectRefused(a, "json", frame)
		})
	})
	t.Run("several connections at once", func(t *testing.T) {
		conns := attackSize(2, 4)
		as := startAttackServer(t, attackSetup{budget: attackBudget(), opts: []simplerpc.ServerOption{maxMsg}})
		frame := callFrame(1, "Victim.List", 0, cborArray(nestedCBOR(outer, 1<<20, 0x80)))
		as.attack(t, fmt.Sprintf("%d connections at once, each a CBOR frame of %s of empty arrays", conns, byteCount(int64(len(frame)))), 120*time.Second, func(a *attackRun) string {
			outcomes := make([]string, conns)
			var wg sync.WaitGroup
			for i := range conns {
				wg.Go(func() { outcomes[i] = expectRefused(a, "cbor", frame) })
			}
			wg.Wait()
			return strings.Join(outcomes, "; ")
		})
	})
	t.Run("HTTP bodies of empty arrays", func(t *testing.T) {
		bodies := attackSize(2, 4)
		as := startAttackServer(t, attackSetup{budget: attackBudget(), opts: []simplerpc.ServerOption{maxMsg}})
		req := httpRequest(`{"jsonrpc":"2.0","id":1,"method":"Victim.List","params":[`+nestedJSON(min(outer, 5), 1<<20, "[]")+`]}`, false)
		as.attack(t, fmt.Sprintf("HTTP: %d requests at once of %s of empty arrays", bodies, byteCount(int64(len(req)))), 120*time.Second, func(a *attackRun) string {
			outcomes := make([]string, bodies)
			var wg sync.WaitGroup
			for i := range bodies {
				wg.Go(func() { outcomes[i] = httpExpectRefused(a, req) })
			}
			wg.Wait()
			return strings.Join(outcomes, "; ")
		})
	})
}

// nestedCBOR is an array of outer arrays, each of inner copies of the
// one-byte item.
func nestedCBOR(outer, inner int, item byte) []byte {
	var b bytes.Buffer
	b.Write(cborHead(4, uint64(outer)))
	row := append(cborHead(4, uint64(inner)), bytes.Repeat([]byte{item}, inner)...)
	for range outer {
		b.Write(row)
	}
	return b.Bytes()
}

// nestedJSON is a JSON array of outer arrays, each of inner copies of
// item.
func nestedJSON(outer, inner int, item string) string {
	row := "[" + strings.Repeat(item+",", inner-1) + item + "]"
	return "[" + strings.Repeat(row+",", outer-1) + row + "]"
}

// callOnce sends one call frame on a new connection and reads its reply.
// A closed connection is an answer too (f is then empty); no answer
// within limit is an error.
func callOnce(a *attackRun, codec string, frame []byte, limit time.Duration) (string, rawFrame, error) {
	nc, err := a.dialRaw(net.Dialer{}, codec)
	if err != nil {
		return "dial failed", rawFrame{}, err
	}
	defer nc.Close()
	start := time.Now()
	_ = nc.SetWriteDeadline(start.Add(limit))
	werr := make(chan error, 1)
	go func() {
		_, err := nc.Write(frame)
		werr <- err
	}()
	fr := &frameReader{nc: nc}
	f, err := fr.next(start.Add(limit))
	took := time.Since(start).Round(time.Millisecond)
	nc.Close()
	<-werr
	switch {
	case isTimeout(err):
		return fmt.Sprintf("no answer within %v", limit), f, fmt.Errorf("no answer within %v and the connection still open", limit)
	case err != nil:
		return fmt.Sprintf("closed after %v", took), rawFrame{flags: flagError}, nil
	case f.flags&flagError != 0:
		code, _ := errorCode(f.body, codec)
		return fmt.Sprintf("error reply (code %d, %d bytes) after %v", code, len(f.body), took), f, nil
	}
	return fmt.Sprintf("a result after %v", took), f, nil
}

// expectRefused sends one call and expects an error reply or a close.
func expectRefused(a *attackRun, codec string, frame []byte) string {
	outcome, f, err := callOnce(a, codec, frame, 60*time.Second)
	switch {
	case err != nil:
		a.t.Error(err)
	case f.flags&flagError == 0:
		a.t.Errorf("the call got a result: % x", f.body[:min(len(f.body), 32)])
	}
	return outcome
}

// httpExpectRefused sends a raw HTTP request, writing it while it reads
// the answer, and expects a refusal: an error status, a JSON-RPC error, or
// the connection closed.
func httpExpectRefused(a *attackRun, req []byte) string {
	nc, err := a.dialTCP(net.Dialer{})
	if err != nil {
		a.t.Error(err)
		return "dial failed"
	}
	defer nc.Close()
	start := time.Now()
	_ = nc.SetDeadline(start.Add(60 * time.Second))
	written := make(chan struct{})
	go func() {
		defer close(written)
		_, _ = nc.Write(req)
	}()
	defer func() { nc.Close(); <-written }()
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		return fmt.Sprintf("closed after %v", took)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("status %d after %v", resp.StatusCode, took)
	}
	var answer struct {
		Error *struct {
			Code int `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &answer) != nil || answer.Error == nil {
		a.t.Errorf("the request got status 200 and no JSON-RPC error: %.100s", body)
		return fmt.Sprintf("a result after %v", took)
	}
	return fmt.Sprintf("JSON-RPC error %d after %v", answer.Error.Code, took)
}
