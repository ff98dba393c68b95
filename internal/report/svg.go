package report

import (
	"fmt"
	"html"
	"math"
	"strings"
	"time"
)

// Chart geometry, in SVG user units.
const (
	chartW, chartH            = 760, 260
	padLeft, padRight         = 56, 12
	padTop, padBottom         = 12, 36
	plotW, plotH              = chartW - padLeft - padRight, chartH - padTop - padBottom
	maxXLabels                = 8
	otherColor                = "#b0b0b0"
	lineColor                 = "#c0392b"
	gridColor, axisLabelColor = "#e2e2e2", "#555"
)

// palette colours the categories, in order.
var palette = []string{"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#86bcb6"}

func colorOf(i int, name string) string {
	if name == "(other)" {
		return otherColor
	}
	return palette[i%len(palette)]
}

// niceMax rounds x up to 1, 2, 4 or 8 times a power of ten, so that
// the quarter lines of the grid fall on round numbers.
func niceMax(x float64) float64 {
	if x <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 4, 8, 10} {
		if x <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// num writes a coordinate with at most two decimals.
func num(x float64) string {
	s := fmt.Sprintf("%.2f", x)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		return "0"
	}
	return s
}

// axes writes the horizontal grid with y labels and the x labels of n
// buckets of width bw.
func (r *Report) axes(b *strings.Builder, ymax float64, ylabel func(float64) string, starts []time.Time, bw float64) {
	for i := 0; i <= 4; i++ {
		v := ymax * float64(i) / 4
		y := padTop + plotH - plotH*float64(i)/4
		fmt.Fprintf(b, `<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="%s"/>`+"\n", padLeft, num(y), padLeft+plotW, num(y), gridColor)
		fmt.Fprintf(b, `<text x="%d" y="%s" text-anchor="end" font-size="11" fill="%s">%s</text>`+"\n", padLeft-6, num(y+4), axisLabelColor, ylabel(v))
	}
	step := max(1, (len(starts)+maxXLabels-1)/maxXLabels)
	for i := 0; i < len(starts); i += step {
		x := padLeft + bw*(float64(i)+0.5)
		fmt.Fprintf(b, `<text x="%s" y="%d" text-anchor="middle" font-size="11" fill="%s">%s</text>`+"\n", num(x), padTop+plotH+16, axisLabelColor, r.bucketLabel(starts[i]))
	}
}

func svgOpen(b *strings.Builder, title string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="100%%" role="img" aria-label="%s">`+"\n", chartW, chartH, html.EscapeString(title))
}

// volumeSVG is a stacked bar chart of the volume per category.
func (r *Report) volumeSVG() string {
	v := r.Volume
	if len(v.Buckets) == 0 || len(v.Categories) == 0 {
		return ""
	}
	var peak uint64
	for _, row := range v.Counts {
		var s uint64
		for _, c := range row {
			s += c
		}
		peak = max(peak, s)
	}
	ymax := niceMax(float64(peak))
	bw := float64(plotW) / float64(len(v.Buckets))
	var b strings.Builder
	svgOpen(&b, "events per category per bucket")
	r.axes(&b, ymax, func(x float64) string { return num(x) }, v.Buckets, bw)
	for i, row := range v.Counts {
		y := float64(padTop + plotH)
		x := padLeft + bw*float64(i) + bw*0.1
		for j, c := range row {
			if c == 0 {
				continue
			}
			h := float64(c) / ymax * plotH
			y -= h
			fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s %s: %d</title></rect>`+"\n",
				num(x), num(y), num(bw*0.8), num(h), colorOf(j, v.Categories[j]), r.bucketLabel(v.Buckets[i]), html.EscapeString(v.Categories[j]), c)
		}
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// legend lists the categories with their colours.
func (r *Report) legend() string {
	var b strings.Builder
	b.WriteString(`<ul class="legend">`)
	for j, c := range r.Volume.Categories {
		fmt.Fprintf(&b, `<li><span class="swatch" style="background:%s"></span>%s</li>`, colorOf(j, c), html.EscapeString(c))
	}
	b.WriteString("</ul>\n")
	return b.String()
}

// failureSVG is a line chart of the failure rate; buckets without events
// break the line.
func (r *Report) failureSVG() string {
	pts := r.FailureRate
	if len(pts) == 0 {
		return ""
	}
	peak := 0.0
	for _, p := range pts {
		peak = max(peak, p.Rate.Rate)
	}
	ymax := min(1, niceMax(peak*100)/100)
	if peak == 0 {
		ymax = 0.1
	}
	bw := float64(plotW) / float64(len(pts))
	starts := make([]time.Time, len(pts))
	for i, p := range pts {
		starts[i] = p.Start
	}
	var b strings.Builder
	svgOpen(&b, "failure rate per bucket")
	r.axes(&b, ymax, func(x float64) string { return fmt.Sprintf("%.0f%%", x*100) }, starts, bw)
	var seg []string
	flush := func() {
		if len(seg) > 1 {
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(seg, " "), lineColor)
		}
		seg = nil
	}
	for i, p := range pts {
		if p.Total == 0 {
			flush()
			continue
		}
		x := padLeft + bw*(float64(i)+0.5)
		y := padTop + plotH - p.Rate.Rate/ymax*plotH
		seg = append(seg, num(x)+","+num(y))
	}
	flush()
	for i, p := range pts {
		if p.Total == 0 {
			continue
		}
		x := padLeft + bw*(float64(i)+0.5)
		y := padTop + plotH - p.Rate.Rate/ymax*plotH
		fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s"><title>%s: %d of %d (%s)</title></circle>`+"\n",
			num(x), num(y), lineColor, r.bucketLabel(p.Start), p.Failures, p.Total, pct(p.Rate.Rate))
	}
	b.WriteString("</svg>\n")
	return b.String()
}
