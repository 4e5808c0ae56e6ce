package reliability_test

import (
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var (
	reportPath  = flag.String("report", "", "write the measured results as markdown to this `file`")
	soakFor     = flag.Duration("soak", 0, "run TestSoak for this long (0: not run)")
	loadClients = flag.Int("load.clients", 1000, "clients of TestLoad, each with its own connection")
	loadFor     = flag.Duration("load.duration", 2*time.Second, "how long TestLoad's clients call")
)

// TestMain checks for leaked goroutines after every test has run and,
// with -report, writes what the tests measured.
func TestMain(m *testing.M) { goleak.VerifyTestMain(reportingM{m}) }

// reportingM runs the tests, then writes the report if asked to.
type reportingM struct{ m *testing.M }

func (r reportingM) Run() int {
	code := r.m.Run()
	if *reportPath == "" {
		return code
	}
	if code != 0 {
		fmt.Fprintln(os.Stderr, "reliability: tests failed; report not written")
		return code
	}
	if err := results.write(*reportPath); err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		return 1
	}
	fmt.Fprintln(os.Stderr, "reliability: report written to", *reportPath)
	return code
}
