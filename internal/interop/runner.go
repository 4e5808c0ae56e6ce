package interop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// CaseTimeout bounds one case: a server that hangs fails the case rather
// than the run.
const CaseTimeout = 15 * time.Second

// Result counts the outcomes of a run.
type Result struct {
	Passed, Failed, Skipped int
}

// Run runs cases against t one after another and writes a line per case
// to w — "PASS name", "FAIL name: reason" or "SKIP name: reason" — then
// "N passed, M failed" (and ", K skipped" when some were).
func Run(ctx context.Context, t Target, cases []Case, w io.Writer) Result {
	var r Result
	for _, c := range cases {
		cctx, cancel := context.WithTimeout(ctx, CaseTimeout)
		err := c.Run(cctx, t)
		cancel()
		var skip *SkipError
		switch {
		case err == nil:
			r.Passed++
			fmt.Fprintf(w, "PASS %s\n", c.Name)
		case errors.As(err, &skip):
			r.Skipped++
			fmt.Fprintf(w, "SKIP %s: %s\n", c.Name, skip.Reason)
		default:
			r.Failed++
			fmt.Fprintf(w, "FAIL %s: %s\n", c.Name, oneLine(err.Error()))
		}
	}
	fmt.Fprintln(w, r)
	return r
}

// String returns "N passed, M failed", with ", K skipped" when K > 0.
func (r Result) String() string {
	s := fmt.Sprintf("%d passed, %d failed", r.Passed, r.Failed)
	if r.Skipped > 0 {
		s += fmt.Sprintf(", %d skipped", r.Skipped)
	}
	return s
}

// oneLine keeps a reason on its line, so the output stays one line a case.
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", `\n`) }
