package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// kindP999 is the 99.9th percentile of call durations, in seconds.
const kindP999 = "p999"

// scenario is a workload whose shape is not the shared client's: many
// connections, the HTTP path, timed load, a slow link. Each repetition
// runs perSystem (if set) once for every system, in the same rotation as
// the shared-client workloads, then perRep (if set) once; report writes
// its section, and chart (if set) draws an SVG chart, written to the
// file chartFile beside the report.
type scenario struct {
	name      string
	perSystem func(cfg config, s system, res *results) error
	perRep    func(cfg config, rep int, res *results) error
	report    func(b *strings.Builder, cfg config, res *results)
	chartFile string
	chart     func(res *results) string
}

// scenarios lists the scenario workloads in report order.
func scenarios() []scenario {
	return []scenario{
		connsScenario(),
		httpScenario(),
		tailScenario(),
		slowlinkScenario(),
		streamsScenario(),
	}
}

func scenarioNames(sc []scenario) []string {
	names := make([]string, len(sc))
	for i, s := range sc {
		names[i] = s.name
	}
	return names
}

// selectScenarios returns the scenarios named in the comma-separated
// list, in report order; an empty list selects all. Names that are not
// scenarios are left to selectWorkloads.
func selectScenarios(list string) []scenario {
	all := scenarios()
	if list == "" {
		return all
	}
	want := strings.Split(list, ",")
	return slices.DeleteFunc(all, func(s scenario) bool { return !slices.Contains(want, s.name) })
}

// isScenario reports whether name is a scenario workload.
func isScenario(name string) bool { return slices.Contains(scenarioNames(scenarios()), name) }

// runScenariosFor runs every scenario's perSystem step for s, recording
// failures in res.
func runScenariosFor(cfg config, rep int, s system, res *results) {
	for _, sc := range cfg.scen {
		if sc.perSystem == nil {
			continue
		}
		if err := sc.perSystem(cfg, s, res); err != nil {
			res.failures = append(res.failures, fmt.Sprintf("rep %d %s %s: %v", rep+1, s.name(), sc.name, err))
		}
	}
}

// runScenariosRep runs every scenario's perRep step, recording failures
// in res.
func runScenariosRep(cfg config, rep int, res *results) {
	for _, sc := range cfg.scen {
		if sc.perRep == nil {
			continue
		}
		if err := sc.perRep(cfg, rep, res); err != nil {
			res.failures = append(res.failures, fmt.Sprintf("rep %d %s: %v", rep+1, sc.name, err))
		}
	}
}

// reportScenarios writes the sections of the scenarios that ran.
func reportScenarios(b *strings.Builder, cfg config, res *results) {
	for _, sc := range cfg.scen {
		sc.report(b, cfg, res)
	}
}

// writeScenarioCharts writes the charts of the scenarios that ran into
// dir.
func writeScenarioCharts(cfg config, res *results, dir string) error {
	for _, sc := range cfg.scen {
		if sc.chart == nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, sc.chartFile), []byte(sc.chart(res)), 0o644); err != nil {
			return fmt.Errorf("write chart: %w", err)
		}
	}
	return nil
}

// writeRowTable writes a table of cols with one row per name in rows.
func writeRowTable(b *strings.Builder, rows []string, cols []column) {
	writeHeader(b, cols)
	for _, s := range rows {
		b.WriteString("| " + s + " |")
		for _, c := range cols {
			cell := "–"
			if v, ok := c.value(s); ok {
				cell = formatNum(v, c.prec)
			}
			b.WriteString(" " + cell + " |")
		}
		b.WriteString("\n")
	}
}

// writeRowRatios writes, for every row, each column's value divided by
// that of each of refs, joined by " / ".
func writeRowRatios(b *strings.Builder, rows []string, cols []column, refs ...string) {
	writeHeader(b, cols)
	for _, s := range rows {
		b.WriteString("| " + s + " |")
		for _, c := range cols {
			cells := make([]string, len(refs))
			for i, r := range refs {
				cells[i] = ratio(c, s, r)
			}
			b.WriteString(" " + strings.Join(cells, " / ") + " |")
		}
		b.WriteString("\n")
	}
}

// percentileCols returns the calls/s, p50, p99 and p99.9 columns of
// workload w at key n, latencies in ms.
func percentileCols(res *results, w string, n int, suffix string) []column {
	return []column{
		medianCol(res, "calls/s"+suffix, 0, metric{w, kindTput, n}, 1),
		medianCol(res, "p50 ms"+suffix, 2, metric{w, kindP50, n}, 1e3),
		medianCol(res, "p99 ms"+suffix, 2, metric{w, kindP99, n}, 1e3),
		medianCol(res, "p99.9 ms"+suffix, 2, metric{w, kindP999, n}, 1e3),
	}
}
