package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// chartColors are assigned to systems in report order.
var chartColors = []string{
	"#555555", "#999999", "#1f5fd6", "#6fa0f0", "#d62728",
	"#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
}

// chart draws Add throughput against concurrency as an SVG line chart with a
// logarithmic x axis, one line per system.
func chart(res *results, conc []int) string {
	const (
		width, height = 760, 440
		left, right   = 80, 170
		top, bottom   = 40, 60
		plotW         = width - left - right
		plotH         = height - top - bottom
	)
	ymax := 0.0
	for _, s := range res.systems {
		for _, n := range conc {
			if v, ok := res.median(s, metric{"add", kindTput, n}); ok {
				ymax = max(ymax, v)
			}
		}
	}
	ymax, ystep := niceScale(ymax)
	lo, hi := math.Log2(float64(conc[0])), math.Log2(float64(conc[len(conc)-1]))
	x := func(n int) float64 {
		if hi == lo {
			return left + plotW/2
		}
		return left + (math.Log2(float64(n))-lo)/(hi-lo)*plotW
	}
	y := func(v float64) float64 { return top + plotH - v/ymax*plotH }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15" font-weight="bold">Add(int64, int64): throughput vs concurrent callers (one shared client)</text>`+"\n", left)
	for v := 0.0; v <= ymax+ystep/2; v += ystep {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e4e4e4"/>`+"\n", left, left+plotW, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dy="4">%s</text>`+"\n", left-8, y(v), shortNum(v))
	}
	for _, n := range conc {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#e4e4e4"/>`+"\n", x(n), x(n), top, top+plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x(n), top+plotH+18, n)
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444"/>`+"\n", left, top, plotW, plotH)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">concurrent callers (log scale)</text>`+"\n", left+plotW/2, height-18)
	fmt.Fprintf(&b, `<text transform="translate(18 %d) rotate(-90)" text-anchor="middle">calls/s (median)</text>`+"\n", top+plotH/2)
	for i, s := range res.systems {
		color := chartColors[i%len(chartColors)]
		dash := ""
		if strings.HasPrefix(s, "floor") {
			dash = ` stroke-dasharray="6 4"`
		}
		var pts []string
		for _, n := range conc {
			if v, ok := res.median(s, metric{"add", kindTput, n}); ok {
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

// niceScale rounds v up to a multiple of a 1, 2 or 5 step and returns it
// with the step, aiming at about five grid lines.
func niceScale(v float64) (top, step float64) {
	if v <= 0 {
		return 1, 0.2
	}
	raw := v / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	return math.Ceil(v/step) * step, step
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
