package reliability_test

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/simplerpc/simplerpc"
)

// tally is the verdict on a set of calls.
type tally struct {
	Calls        int // calls made
	RightResults int // succeeded with the right result, run once
	RightCodes   int // failed with a code that is allowed and true
	Wrong        int // anything else that returned
	Lost         int // never returned
	RunTwice     int // executed more than once on the server
	Phantom      int // executed on the server but never called
	Outcomes     map[string]int
	Problems     []string // the first few wrong, lost or repeated calls
}

// ok reports whether every call was accounted for correctly.
func (t *tally) ok() bool {
	return t.Wrong == 0 && t.Lost == 0 && t.RunTwice == 0 && t.Phantom == 0
}

func (t *tally) problem(format string, args ...any) {
	if len(t.Problems) < 8 {
		t.Problems = append(t.Problems, fmt.Sprintf(format, args...))
	}
}

// add merges u into t.
func (t *tally) add(u tally) {
	t.Calls += u.Calls
	t.RightResults += u.RightResults
	t.RightCodes += u.RightCodes
	t.Wrong += u.Wrong
	t.Lost += u.Lost
	t.RunTwice += u.RunTwice
	t.Phantom += u.Phantom
	if t.Outcomes == nil {
		t.Outcomes = make(map[string]int)
	}
	for k, n := range u.Outcomes {
		t.Outcomes[k] += n
	}
	for _, p := range u.Problems {
		t.problem("%s", p)
	}
}

// outcomeList renders the outcomes as "ok 950, connection_lost 3".
func (t *tally) outcomeList() string {
	keys := make([]string, 0, len(t.Outcomes))
	for k := range t.Outcomes {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if (keys[i] == "ok") != (keys[j] == "ok") {
			return keys[i] == "ok"
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, t.Outcomes[k])
	}
	return strings.Join(parts, ", ")
}

// codes is a set of error codes a failed call may end with.
type codes []simplerpc.Code

func (cs codes) has(c simplerpc.Code) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

// judge checks every call against the server's executions. A call that
// succeeded must have the right result and have run once. A failed call
// must carry an allowed code that is true: CodeUnavailable only if it
// never ran, CodeDeadlineExceeded only once its deadline had passed,
// CodeConnectionLost (it may or may not have run) at most one execution.
// No call may run twice, and nothing may run that was not called.
func judge(calls map[string]callRecord, execs map[string]int, allowed codes) tally {
	t := tally{Calls: len(calls), Outcomes: make(map[string]int)}
	for tok, n := range execs {
		if _, ok := calls[tok]; !ok {
			t.Phantom++
			t.problem("%s ran %d time(s) but was never called", tok, n)
		}
	}
	for tok, r := range calls {
		runs := execs[tok]
		if runs > 1 {
			t.RunTwice++
			t.problem("%s ran %d times", tok, runs)
		}
		switch {
		case r.returns == 0:
			t.Lost++
			t.Outcomes["lost"]++
			t.problem("%s never returned", tok)
			continue
		case r.returns > 1:
			t.Wrong++
			t.problem("%s returned %d times", tok, r.returns)
			continue
		}
		if r.err == nil {
			t.Outcomes["ok"]++
			if r.result == wantResult(tok) && runs == 1 {
				t.RightResults++
			} else {
				t.Wrong++
				t.problem("%s succeeded with %q after %d execution(s)", tok, r.result, runs)
			}
			continue
		}
		var e *simplerpc.Error
		if !errors.As(r.err, &e) {
			t.Wrong++
			t.Outcomes["not a *simplerpc.Error"]++
			t.problem("%s failed with %T: %v", tok, r.err, r.err)
			continue
		}
		t.Outcomes[e.Code.String()]++
		if why := wrongCode(e.Code, allowed, r, runs); why != "" {
			t.Wrong++
			t.problem("%s: %v: %s", tok, r.err, why)
			continue
		}
		t.RightCodes++
	}
	return t
}

// wrongCode says why code is not a true answer for the call, or "".
func wrongCode(code simplerpc.Code, allowed codes, r callRecord, runs int) string {
	if !allowed.has(code) {
		return "code not expected under this fault"
	}
	switch code {
	case simplerpc.CodeUnavailable:
		if runs != 0 {
			return fmt.Sprintf("reported not run, but ran %d time(s)", runs)
		}
	case simplerpc.CodeDeadlineExceeded:
		if r.elapsed < r.timeout {
			return fmt.Sprintf("deadline exceeded after %v of a %v deadline", r.elapsed.Round(time.Millisecond), r.timeout)
		}
	case simplerpc.CodeConnectionLost:
		// It may or may not have run; twice is caught above.
	default:
		return "no rule for this code"
	}
	return ""
}
