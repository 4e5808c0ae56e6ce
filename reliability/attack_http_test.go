package reliability_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// Attack 11: JSON-RPC over HTTP — many large batches at once, a batch of
// large replies, a body over the limit.

// TestAttackHTTP sends the HTTP attacks and expects the heap bounded,
// every request answered, and a body over the limit answered 413.
func TestAttackHTTP(t *testing.T) {
	t.Run("parallel batches", func(t *testing.T) {
		n := attackSize(30, 300)
		as := startAttackServer(t, attackSetup{budget: attackBudget()})
		reqs := make([]string, 1000)
		for i := range reqs {
			reqs[i] = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"Victim.Add","params":[%d,1]}`, i, i)
		}
		req := httpRequest("["+strings.Join(reqs, ",")+"]", false)
		as.attack(t, fmt.Sprintf("HTTP: %d batches of 1,000 calls at once", n), 120*time.Second, func(a *attackRun) string {
			counts := make([]batchCount, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { counts[i] = httpBatch(a, req) })
			}
			wg.Wait()
			var sum batchCount
			for _, c := range counts {
				sum.add(c)
			}
			return sum.String()
		})
	})
	t.Run("batch of 1,000 calls to the 1 MiB method", func(t *testing.T) {
		as := startAttackServer(t, attackSetup{budget: attackBudget()})
		reqs := make([]string, 1000)
		for i := range reqs {
			reqs[i] = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"Victim.Big"}`, i)
		}
		req := httpRequest("["+strings.Join(reqs, ",")+"]", false)
		as.attack(t, "HTTP: a batch of 1,000 calls to the 1 MiB method", 120*time.Second, func(a *attackRun) string {
			return httpBatch(a, req).String()
		})
	})
	t.Run("body over the limit, sent whole", func(t *testing.T) {
		as := startAttackServer(t, attackSetup{budget: attackBudget()})
		body := `{"jsonrpc":"2.0","id":1,"method":"Victim.Echo","params":["` + strings.Repeat("x", 16<<20) + `"]}`
		req := httpRequest(body, false)
		as.attack(t, "HTTP: a body over the 16 MiB limit, sent whole before reading", 60*time.Second, func(a *attackRun) string {
			nc, err := a.dialTCP(net.Dialer{})
			if err != nil {
				a.t.Fatal(err)
			}
			start := time.Now()
			_ = nc.SetDeadline(start.Add(20 * time.Second))
			if _, err := nc.Write(req); err != nil {
				a.t.Errorf("sending the body: %v", err)
				return fmt.Sprintf("sending failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
			if err != nil {
				a.t.Errorf("no answer to a body over the limit: %v", err)
				return fmt.Sprintf("no answer: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				a.t.Errorf("status %d, want 413", resp.StatusCode)
			}
			return fmt.Sprintf("status %d after %v", resp.StatusCode, time.Since(start).Round(time.Millisecond))
		})
	})
	t.Run("slow heads and bodies", func(t *testing.T) {
		n := attackSize(200, 2000)
		as := startAttackServer(t, attackSetup{budget: attackBudget(), opts: []simplerpc.ServerOption{simplerpc.WithWriteTimeout(2 * time.Second)}})
		body := `{"jsonrpc":"2.0","id":1,"method":"Victim.Add","params":[1,2]}`
		full := string(httpRequest(body, false))
		partial := map[string]string{
			// A head that never ends: the header timeout (10 s) closes it.
			"head": full[:strings.Index(full, "Content-Length")],
			// A whole head, half its body: the I/O timeout closes it.
			"body": full[:len(full)-len(body)/2],
		}
		as.attack(t, fmt.Sprintf("HTTP: %d connections sending half a request each, then nothing", 2*n), 60*time.Second, func(a *attackRun) string {
			var wg sync.WaitGroup
			closed := make(map[string]*atomic.Int64)
			start := time.Now()
			for name, p := range partial {
				closed[name] = new(atomic.Int64)
				for range n {
					nc, err := a.dialTCP(net.Dialer{})
					if err != nil {
						a.t.Errorf("%s: %v", name, err)
						break
					}
					if _, err := nc.Write([]byte(p)); err != nil {
						a.t.Errorf("%s: %v", name, err)
					}
					wg.Go(func() {
						// The server must close it without answering.
						_ = nc.SetReadDeadline(start.Add(20 * time.Second))
						if n, err := nc.Read(make([]byte, 1)); n == 0 && !errors.Is(err, os.ErrDeadlineExceeded) {
							closed[name].Add(1)
						}
					})
				}
			}
			wg.Wait()
			for name := range partial {
				if got := closed[name].Load(); got != int64(n) {
					a.t.Errorf("%s: the server closed %d of %d connections sending half a request within 20 s", name, got, n)
				}
			}
			return fmt.Sprintf("closed by the server: %d of %d slow heads, %d of %d slow bodies, in %v", closed["head"].Load(), n, closed["body"].Load(), n, time.Since(start).Round(100*time.Millisecond))
		})
	})
}

// batchCount counts the answers to JSON-RPC batches.
type batchCount struct {
	requests, closed, statuses int // requests sent; without an answer; answered with a status other than 200
	results, errors            int
	codes                      map[int]int
}

func (c *batchCount) add(d batchCount) {
	c.requests += d.requests
	c.closed += d.closed
	c.statuses += d.statuses
	c.results += d.results
	c.errors += d.errors
	for k, n := range d.codes {
		if c.codes == nil {
			c.codes = make(map[int]int)
		}
		c.codes[k] += n
	}
}

func (c batchCount) String() string {
	return fmt.Sprintf("%d requests: %d closed unanswered, %d other statuses, %d results, %d errors %v", c.requests, c.closed, c.statuses, c.results, c.errors, c.codes)
}

// httpBatch sends one batch on a connection of its own and counts the
// answers.
func httpBatch(a *attackRun, req []byte) batchCount {
	c := batchCount{requests: 1, codes: make(map[int]int)}
	nc, err := a.dialTCP(net.Dialer{})
	if err != nil {
		a.t.Error(err)
		c.closed++
		return c
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	written := make(chan struct{})
	go func() {
		defer close(written)
		_, _ = nc.Write(req)
	}()
	defer func() { nc.Close(); <-written }()
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		if !a.stopped() {
			a.t.Errorf("a batch got no answer: %v", err)
		}
		c.closed++
		return c
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.statuses++
		return c
	}
	var answers []struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code int `json:"code"`
		} `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 32<<20)).Decode(&answers); err != nil {
		a.t.Errorf("a batch's answer: %v", err)
		c.closed++
		return c
	}
	for _, ans := range answers {
		if ans.Error != nil {
			c.errors++
			c.codes[ans.Error.Code]++
		} else {
			c.results++
		}
	}
	return c
}
