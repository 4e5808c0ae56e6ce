package reliability_test

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// results collects what the tests measured, for -report.
var results report

// report is the measured content of RELIABILITY.md.
type report struct {
	mu      sync.Mutex
	load    []loadRow
	faults  []faultRow
	hostile []hostileRow
	memory  []memoryRow
	attacks []attackRow
	soak    []string // soak samples, one line each
}

type loadRow struct {
	clients  int
	duration time.Duration
	calls    tally
}

type faultRow struct {
	fault    string
	deadline time.Duration
	calls    tally
}

type hostileRow struct {
	input     string
	outcome   string
	took      time.Duration // from the input's end to the answer or the close
	goodCalls int           // a well-behaved client's calls meanwhile
	goodFails int
	peak      uint64 // the highest heap in use sampled meanwhile
}

type memoryRow struct {
	test                    string
	baseline, peak, settled uint64 // peak 0: not sampled
}

func (r *report) addLoad(row loadRow) { r.mu.Lock(); r.load = append(r.load, row); r.mu.Unlock() }

func (r *report) addFault(row faultRow) { r.mu.Lock(); r.faults = append(r.faults, row); r.mu.Unlock() }

func (r *report) addHostile(row hostileRow) {
	r.mu.Lock()
	r.hostile = append(r.hostile, row)
	r.mu.Unlock()
}

func (r *report) addMemory(row memoryRow) {
	r.mu.Lock()
	r.memory = append(r.memory, row)
	r.mu.Unlock()
}

func (r *report) addAttack(row attackRow) {
	r.mu.Lock()
	r.attacks = append(r.attacks, row)
	r.mu.Unlock()
}

func (r *report) addSoak(line string) { r.mu.Lock(); r.soak = append(r.soak, line); r.mu.Unlock() }

// reproduce is the command that writes RELIABILITY.md; doc.go and the
// file itself show it.
const reproduce = "go test -race -count=1 ./reliability -args -report ../RELIABILITY.md"

// write renders the report as markdown into path.
func (r *report) write(path string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	race := "off"
	if raceEnabled {
		race = "on"
	}
	fmt.Fprintf(&b, "# Reliability\n\n")
	fmt.Fprintf(&b, "What simplerpc withstands, as measured by the tests in [reliability/](reliability/): a load of many clients, network faults injected by [internal/faultproxy](internal/faultproxy/) between clients and servers, server crashes, and hostile input. Every number below comes from one run of\n\n")
	fmt.Fprintf(&b, "```sh\n%s\n```\n\n", reproduce)
	fmt.Fprintf(&b, "run from the repository root, which rewrites this file (the tests must pass for it to be written). This run: %s %s/%s, %d CPUs, race detector %s, %s.\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), race, time.Now().UTC().Format("2006-01-02"))

	var all tally
	for _, l := range r.load {
		all.add(l.calls)
	}
	for _, f := range r.faults {
		all.add(f.calls)
	}
	b.WriteString("## Summary\n\n| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| calls made (load and faults) | %d |\n| calls lost (never returned) | %d |\n| calls run twice | %d |\n| wrong results or codes | %d |\n", all.Calls, all.Lost, all.RunTwice, all.Wrong+all.Phantom)
	fmt.Fprintf(&b, "| hostile inputs tried | %d |\n\n", len(r.hostile))

	b.WriteString("## Load held\n\nEvery client has its own connection; each calls without pause for the whole duration.\n\n")
	b.WriteString("| clients | duration | calls made | failures | calls/s | lost | run twice |\n|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, l := range r.load {
		fails := l.calls.Calls - l.calls.RightResults
		rate := float64(l.calls.Calls) / l.duration.Seconds()
		fmt.Fprintf(&b, "| %d | %v | %d | %d | %s | %d | %d |\n", l.clients, l.duration, l.calls.Calls, fails, formatFloat(rate, 0), l.calls.Lost, l.calls.RunTwice)
	}

	b.WriteString("\n## Faults survived\n\n")
	b.WriteString("Each row is a load of 32 callers (4 clients × 8) running while the fault is injected. *Right results*: succeeded with the right value, run exactly once. *Right codes*: failed with a code allowed under the fault and true to what happened — `unavailable` only for a call that never ran, `deadline_exceeded` only after the deadline passed, `connection_lost` (may or may not have run) with at most one execution. *Lost*: never returned. *Run twice*: executed more than once on the server. With resumable sessions (the default) a network blip fails no call: the client reconnects and re-sends its calls in flight, and the server answers each from memory or runs it if it never got it. Calls fail only when their deadline passes during the fault, when sessions are off, or when the server itself restarted.\n\n")
	b.WriteString("| fault | call deadline | calls | right results | right codes | lost | run twice | outcomes |\n|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, f := range r.faults {
		c := f.calls
		fmt.Fprintf(&b, "| %s | %v | %d | %d | %d | %d | %d | %s |\n", f.fault, f.deadline, c.Calls, c.RightResults, c.RightCodes, c.Lost, c.RunTwice, c.outcomeList())
	}

	b.WriteString("\n## Hostile inputs tried\n\n")
	b.WriteString("Sent to a live server (1 MiB message limit, 1 s handshake timeout, 1 s write timeout, keepalive: ping after 500 ms of silence, close after 500 ms more) while a well-behaved client keeps calling it on its own connection. *Time* runs from the start of the input to the answer or the close.\n\n")
	b.WriteString("| input | outcome | time | well-behaved calls meanwhile (failed) | peak heap in use |\n|---|---|---:|---:|---:|\n")
	for _, h := range r.hostile {
		fmt.Fprintf(&b, "| %s | %s | %s | %d (%d) | %s |\n", h.input, h.outcome, h.took.Round(100*time.Microsecond), h.goodCalls, h.goodFails, mib(h.peak))
	}

	r.writeAttacks(&b)

	if bugs := knownBugs(); len(bugs) == 0 {
		b.WriteString("\n### Not withstood yet\n\nNone: every hostile input and attack above is withstood.\n")
	} else {
		b.WriteString("\n### Not withstood yet\n\nThese fail today (see *How to reproduce*):\n\n")
		for _, name := range bugs {
			fmt.Fprintf(&b, "- %s\n", name)
		}
	}

	b.WriteString("\n## Memory\n\nHeap in use (after full collections) before each test and after it ended, and the highest sampled while it ran.\n\n")
	b.WriteString("| test | before | peak | after |\n|---|---:|---:|---:|\n")
	for _, m := range r.memory {
		peak := "—"
		if m.peak > 0 {
			peak = mib(m.peak)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", m.test, mib(m.baseline), peak, mib(m.settled))
	}

	b.WriteString("\n## Soak\n\n")
	if len(r.soak) == 0 {
		b.WriteString("Not part of this run (see below).\n")
	} else {
		b.WriteString("```\n" + strings.Join(r.soak, "\n") + "\n```\n")
	}

	b.WriteString("\n## How to reproduce\n\nFrom the repository root:\n\n")
	b.WriteString("| what | command |\n|---|---|\n")
	fmt.Fprintf(&b, "| this file (every table above; about a minute on two cores) | `%s` |\n", reproduce)
	b.WriteString("| the same tests, without writing the file | `go test -race ./reliability` |\n")
	b.WriteString("| a heavier load (without the race detector, which allows at most 8128 goroutines) | `go test ./reliability -run TestLoad -v -args -load.clients=3000 -load.duration=10s` |\n")
	b.WriteString("| the soak: the fault load for five minutes, a blip every 10 s, heap and goroutines printed every 5 s | `go test -race -timeout 20m ./reliability -run TestSoak -v -args -soak=5m` |\n")
	b.WriteString("| the attacks at the security review's sizes (slow; without the race detector, which allows at most 8128 goroutines) | `go test -count=1 -timeout 30m ./reliability -run Attack -v -args -attack.full` |\n")
	b.WriteString("| the slow-transfer keepalive test (once a known bug, now fixed) | `go test -race ./reliability -run TestSlowTransferSurvivesKeepalive -v` |\n")
	b.WriteString("| the fault proxy's own tests | `go test -race ./internal/faultproxy` |\n")
	return writeFile(path, b.String())
}

// writeAttacks renders the attacks table.
func (r *report) writeAttacks(b *strings.Builder) {
	b.WriteString("\n## Attacks\n\n")
	form := "their short form (the default run)"
	if *attackFull {
		form = "the sizes of the security review (`-attack.full`)"
	}
	fmt.Fprintf(b, "The attacks a security review found, replayed against a live server at %s, each beside two well-behaved clients calling `Add` every 5 ms, one natively and one over JSON-RPC on the same port. *Heap*: in use in the whole test process, after full collections before and after, and the highest sampled every 5 ms during the attack, which must stay under the server's memory budget plus 64 MiB. The well-behaved calls must all succeed; their p99 latency is measured, not bounded (the machine is shared).\n\n", form)
	b.WriteString("| attack | outcome | bytes sent | heap before | peak | after | well-behaved calls (failed) | p99 native | p99 JSON-RPC |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, a := range r.attacks {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %d (%d) | %v | %v |\n", a.attack, a.outcome, byteCount(a.sent), mib(a.before), mib(a.peak), mib(a.after),
			a.good.calls(), a.good.fails(), a.good.native.p99.Round(10*time.Microsecond), a.good.json.p99.Round(10*time.Microsecond))
	}
}

// byteCount renders n bytes in B, KiB or MiB.
func byteCount(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return formatFloat(float64(n)/(1<<10), 1) + " KiB"
	}
	return mib(uint64(n))
}

func writeFile(path, content string) error {
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

func formatFloat(f float64, prec int) string { return strconv.FormatFloat(f, 'f', prec, 64) }
