package reliability_test

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Attack 10: making the server write its log without bound. What peers
// cause must be logged rate-limited — and still logged, at least once.

// What the server's log must say at least once during the attacks.
var (
	logSlowloris = regexp.MustCompile(`(?i)handshake|hello`)
	logEviction  = regexp.MustCompile(`(?i)evict|session.*(ended|dropped|forgotten|closed)`)
	logBudget    = regexp.MustCompile(`(?i)budget|memory`)
)

// logAllowance is how many lines a rate-limited log may write during an
// attack that lasted d: a few a second for each of a few kinds.
func logAllowance(d time.Duration) int { return 20 + int(10*d.Seconds()) }

// TestAttackLogFlood holds thousands of connections that send part of a
// hello and wait, then abandons sessions past the memory budget, and
// counts the server's log lines.
func TestAttackLogFlood(t *testing.T) {
	as := startAttackServer(t, attackSetup{budget: 16 << 20})
	t.Run("half-open connections", func(t *testing.T) {
		n := attackSize(1000, 5000)
		as.attack(t, fmt.Sprintf("%d connections sending half a hello", n), 60*time.Second, func(a *attackRun) string {
			mark, start := as.logs.count(), time.Now()
			opened := 0
			for range n {
				if a.stopped() {
					break
				}
				nc, err := a.dialTCP(net.Dialer{})
				if err != nil {
					a.t.Errorf("after %d connections: %v", opened, err)
					break
				}
				opened++
				_, _ = nc.Write([]byte("SRPC\x01"))
			}
			// The server's handshake timeout (1s) closes them all.
			time.Sleep(2 * time.Second)
			return checkLogVolume(a, mark, start, fmt.Sprintf("%d opened", opened), logSlowloris)
		})
	})
	t.Run("abandoned sessions", func(t *testing.T) {
		as.attack(t, "abandoned sessions past the budget, logged", 60*time.Second, func(a *attackRun) string {
			mark, start := as.logs.count(), time.Now()
			outcome := abandonSessions(a, 8, 60, false, func(id uint64) []byte { return callFrame(id, "Victim.Big", 0, cborArray()) })
			return checkLogVolume(a, mark, start, outcome, logEviction, logBudget)
		})
	})
}

// checkLogVolume checks that the server logged within logAllowance since
// mark, and logged a line matching each of musts.
func checkLogVolume(a *attackRun, mark int, start time.Time, outcome string, musts ...*regexp.Regexp) string {
	d := time.Since(start)
	lines := a.as.logs.count() - mark
	if allowed := logAllowance(d); lines > allowed {
		a.t.Errorf("the server logged %d lines in %v, more than %d", lines, d.Round(time.Millisecond), allowed)
	}
	for _, re := range musts {
		if a.as.logs.matching(mark, re) == 0 {
			a.t.Errorf("no log line matches %s; the first lines logged:\n%s", re, strings.Join(first(a.as.logs.since(mark), 10), "\n"))
		}
	}
	return fmt.Sprintf("%s; %d log lines in %v", outcome, lines, d.Round(time.Millisecond))
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }
