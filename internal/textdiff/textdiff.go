// Package textdiff writes the readable line diffs that configuration-change
// entries carry.
//
// The format is the unified one: optional header lines, then hunks, each
// a "@@ -l,n +l,n @@" line followed by the lines of the hunk prefixed with
// " " (in both texts), "-" (old only) or "+" (new only), with three lines
// of context around the changes. An empty range is numbered by the line
// before it. The text is for people to read: nothing parses it back, but
// it is recorded in the log, so a change to it shows in new entries.
package textdiff

import (
	"fmt"
	"strings"
)

// Context is the number of unchanged lines shown around a change.
const Context = 3

// MaxCells bounds the work of finding a shortest diff, in old lines ×
// new lines of the region between the common prefix and suffix: beyond
// it, that region is shown as removed, then added, as a whole.
const MaxCells = 1 << 20

// Options are what differs between the diffs of callers.
type Options struct {
	// Header holds lines, without "\n", written before the first hunk,
	// such as "--- old" and "+++ new".
	Header []string

	// OwnNewlines says that each line ends with its own "\n", but perhaps
	// the last, which is then followed by "\ No newline at end of file".
	// Otherwise lines carry no "\n".
	OwnNewlines bool

	// ShortRanges leaves the length out of a hunk range of one line
	// ("@@ -4 +4 @@"), as diff(1) does.
	ShortRanges bool

	// MergeGap is the most unchanged lines between two changes that
	// still put them in one hunk.
	MergeGap int

	// MaxBytes, when positive, bounds the text: longer text is cut at a
	// line end to at most CutTo bytes (MaxBytes when CutTo is 0) and ends
	// with the line Truncated returns, given the number of changed lines
	// left out.
	MaxBytes  int
	CutTo     int
	Truncated func(omitted int) string
}

// Unified returns the diff from a to b, or "" if they are equal.
func Unified(a, b []string, o Options) string {
	ops := editScript(a, b)
	var lines []outLine
	for _, h := range o.Header {
		lines = append(lines, outLine{text: h})
	}
	header := len(lines)
	for start := 0; start < len(ops); {
		// Find the next change, then extend the hunk while the changes
		// that follow are close enough to share it.
		first := start
		for first < len(ops) && ops[first].kind == ' ' {
			first++
		}
		if first == len(ops) {
			break
		}
		last := first
		for k := first; k < len(ops); k++ {
			if ops[k].kind != ' ' {
				if k-last-1 > o.MergeGap {
					break
				}
				last = k
			}
		}
		lo, hi := max(first-Context, start), min(last+Context+1, len(ops))
		lines = appendHunk(lines, ops[lo:hi], o)
		start = hi
	}
	if len(lines) == header {
		return ""
	}
	return o.write(lines)
}

// An outLine is a line of output, without its "\n"; changed marks the
// "-" and "+" lines.
type outLine struct {
	text    string
	changed bool
}

func appendHunk(lines []outLine, ops []op, o Options) []outLine {
	var na, nb int
	for _, op := range ops {
		if op.kind != '+' {
			na++
		}
		if op.kind != '-' {
			nb++
		}
	}
	lines = append(lines, outLine{text: fmt.Sprintf("@@ -%s +%s @@",
		o.hunkRange(ops[0].aLine, na), o.hunkRange(ops[0].bLine, nb))})
	for _, op := range ops {
		if !o.OwnNewlines {
			lines = append(lines, outLine{string(op.kind) + op.line, op.kind != ' '})
			continue
		}
		lines = append(lines, outLine{string(op.kind) + strings.TrimSuffix(op.line, "\n"), op.kind != ' '})
		if !strings.HasSuffix(op.line, "\n") {
			lines = append(lines, outLine{text: `\ No newline at end of file`})
		}
	}
	return lines
}

// hunkRange formats a hunk's start and length: an empty range starts at
// the line before it.
func (o Options) hunkRange(start, n int) string {
	switch {
	case n == 0:
		return fmt.Sprintf("%d,0", start-1)
	case n == 1 && o.ShortRanges:
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, n)
}

// write joins lines, cutting them to o.MaxBytes.
func (o Options) write(lines []outLine) string {
	total := 0
	for _, l := range lines {
		total += len(l.text) + 1
	}
	keep := len(lines)
	if o.MaxBytes > 0 && total > o.MaxBytes {
		cutTo := o.CutTo
		if cutTo == 0 {
			cutTo = o.MaxBytes
		}
		n := 0
		for keep = 0; keep < len(lines) && n+len(lines[keep].text)+1 <= cutTo; keep++ {
			n += len(lines[keep].text) + 1
		}
	}
	var out strings.Builder
	for _, l := range lines[:keep] {
		out.WriteString(l.text)
		out.WriteByte('\n')
	}
	if keep < len(lines) {
		omitted := 0
		for _, l := range lines[keep:] {
			if l.changed {
				omitted++
			}
		}
		if o.Truncated != nil {
			out.WriteString(o.Truncated(omitted))
			out.WriteByte('\n')
		}
	}
	return out.String()
}

// An op is one line of an edit script: kind ' ' (in both), '-' (old
// only) or '+' (new only); aLine and bLine are the 1-based numbers of
// the next line of old and of new at it.
type op struct {
	kind         byte
	line         string
	aLine, bLine int
}

// editScript returns an edit script from a to b: the common prefix and
// suffix, and between them a longest common subsequence of lines when
// that is affordable (see MaxCells).
func editScript(a, b []string) []op {
	ops := make([]op, 0, len(a)+len(b))
	ai, bi := 1, 1
	emit := func(kind byte, line string) {
		ops = append(ops, op{kind, line, ai, bi})
		if kind != '+' {
			ai++
		}
		if kind != '-' {
			bi++
		}
	}
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	for _, l := range a[:pre] {
		emit(' ', l)
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	n, m := len(ma), len(mb)
	if n*m > MaxCells {
		for _, l := range ma {
			emit('-', l)
		}
		for _, l := range mb {
			emit('+', l)
		}
	} else {
		// lcs[i*(m+1)+j] is the length of a longest common subsequence
		// of ma[i:] and mb[j:].
		lcs := make([]int32, (n+1)*(m+1))
		for i := n - 1; i >= 0; i-- {
			for j := m - 1; j >= 0; j-- {
				if ma[i] == mb[j] {
					lcs[i*(m+1)+j] = lcs[(i+1)*(m+1)+j+1] + 1
				} else {
					lcs[i*(m+1)+j] = max(lcs[(i+1)*(m+1)+j], lcs[i*(m+1)+j+1])
				}
			}
		}
		i, j := 0, 0
		for i < n || j < m {
			switch {
			case i < n && j < m && ma[i] == mb[j]:
				emit(' ', ma[i])
				i++
				j++
			case i < n && (j == m || lcs[(i+1)*(m+1)+j] >= lcs[i*(m+1)+j+1]):
				emit('-', ma[i])
				i++
			default:
				emit('+', mb[j])
				j++
			}
		}
	}
	for _, l := range a[len(a)-suf:] {
		emit(' ', l)
	}
	return ops
}
