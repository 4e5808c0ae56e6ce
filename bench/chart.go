package main

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
)

// chartColors are assigned to systems by their place in allSystems, so a
// system keeps its colour when -systems leaves others out.
var chartColors = []string{
	"#555555", "#999999", "#1f5fd6", "#6fa0f0", "#d62728",
	"#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
}

// chart draws Add throughput against concurrency as an SVG line chart,
// one line per system, with logarithmic axes: the floor is several times
// faster than the rest, which a linear scale would flatten. Zero rates
// are left out.
func chart(res *results, conc []int) string {
	return lineChart(res, lineSpec{
		title: "Add(int64, int64): throughput vs concurrent callers (one shared client)",
		rows:  res.systems, workload: "add", kind: kindTput, xs: conc, scale: 1,
		xLabel: "concurrent callers (log scale)", yLabel: "calls/s, median (log scale)",
	})
}

// lineSpec says what lineChart draws: the median of metric {workload,
// kind, x} times scale for every x of xs, one line per row.
type lineSpec struct {
	title          string
	rows           []string
	workload, kind string
	xs             []int
	scale          float64
	xLabel, yLabel string
}

// lineChart draws sp as an SVG line chart with logarithmic axes. Zero
// values are left out.
func lineChart(res *results, sp lineSpec) string {
	conc := sp.xs
	value := func(s string, n int) (float64, bool) {
		v, ok := res.median(s, metric{sp.workload, sp.kind, n})
		return v * sp.scale, ok && v > 0
	}
	const (
		width, height = 760, 440
		left, right   = 80, 170
		top, bottom   = 40, 60
		plotW         = width - left - right
		plotH         = height - top - bottom
	)
	lo, hi := math.Inf(1), 0.0
	for _, s := range sp.rows {
		for _, n := range conc {
			if v, ok := value(s, n); ok {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if hi == 0 {
		lo, hi = 1, 10
	}
	ticks := logTicks(lo, hi)
	ylo, yhi := math.Log10(ticks[0]), math.Log10(ticks[len(ticks)-1])
	xlo, xhi := math.Log2(float64(conc[0])), math.Log2(float64(conc[len(conc)-1]))
	x := func(n int) float64 {
		if xhi == xlo {
			return left + plotW/2
		}
		return left + (math.Log2(float64(n))-xlo)/(xhi-xlo)*plotW
	}
	y := func(v float64) float64 { return top + plotH - (math.Log10(v)-ylo)/(yhi-ylo)*plotH }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(sp.title))
	for _, v := range ticks {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e4e4e4"/>`+"\n", left, left+plotW, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dy="4">%s</text>`+"\n", left-8, y(v), shortNum(v))
	}
	for _, n := range conc {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#e4e4e4"/>`+"\n", x(n), x(n), top, top+plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x(n), top+plotH+18, n)
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444"/>`+"\n", left, top, plotW, plotH)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", left+plotW/2, height-18, html.EscapeString(sp.xLabel))
	fmt.Fprintf(&b, `<text transform="translate(18 %d) rotate(-90)" text-anchor="middle">%s</text>`+"\n", top+plotH/2, html.EscapeString(sp.yLabel))
	names := systemNames(allSystems())
	for i, s := range sp.rows {
		color := chartColors[i%len(chartColors)]
		if k := slices.Index(names, s); k >= 0 {
			color = chartColors[k%len(chartColors)]
		}
		dash := ""
		if strings.Contains(s, "floor") {
			dash = ` stroke-dasharray="6 4"`
		}
		var pts []string
		for _, n := range conc {
			if v, ok := value(s, n); ok {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(n), y(v)))
			}
		}
		if len(pts) > 0 {
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(pts, " "), color, dash)
			for _, p := range pts {
				px, py, _ := strings.Cut(p, ",")
				fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", px, py, color)
			}
		}
		ly := top + 10 + i*20
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`+"\n", left+plotW+14, left+plotW+40, ly, ly, color, dash)
		fmt.Fprintf(&b, `<text x="%d" y="%d" dy="4">%s</text>`+"\n", left+plotW+46, ly, html.EscapeString(s))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// logTicks returns the values 1, 2 and 5 times a power of ten from the
// largest one at or below lo to the smallest one above or at hi (and above
// lo), for 0 < lo <= hi.
func logTicks(lo, hi float64) []float64 {
	var all []float64
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range []float64{1, 2, 5} {
			all = append(all, m*math.Pow(10, e))
		}
	}
	first := 0
	for first+1 < len(all) && all[first+1] <= lo {
		first++
	}
	last := first + 1
	for all[last] < hi {
		last++
	}
	return all[first : last+1]
}

// shortNum formats an axis label, such as 250k or 1.5M.
func shortNum(v float64) string {
	switch {
	case v >= 1e6:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", v/1e6), ".0") + "M"
	case v >= 1e3:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", v/1e3), ".0") + "k"
	}
	return fmt.Sprintf("%g", v)
}
