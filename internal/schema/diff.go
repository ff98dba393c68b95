package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Limits of Diff.
const (
	maxDiffSize  = 4 << 10 // bytes of output
	maxDiffCells = 1 << 20 // old lines × new lines compared line by line
	diffContext  = 3       // unchanged lines around a change
)

// Diff returns a unified diff of the sources of old and new, each
// pretty-printed with two-space indentation, for a person to read in the
// log's record of a schema change. Since the sources are canonical,
// members are in the same order in both and only real changes show.
//
// The text starts with "--- <old ref>" and "+++ <new ref>" lines ("---
// /dev/null" when old is nil, which shows all of new as added), followed by
// hunks with "@@ -l,n +l,n @@" headers and lines prefixed with " ", "-"
// or "+". It is "" when the sources are the same. Output longer than 4 KiB
// is cut at a line end and marked "… (truncated)". When both sources are
// long and differ throughout, the changed region is shown as removed and
// added as a whole rather than matched line by line.
func Diff(old, new *Schema) string {
	oldName, newName := "/dev/null", "/dev/null"
	var a, b []string
	if old != nil {
		oldName, a = old.Ref(), prettyLines(old.Source)
	}
	if new != nil {
		newName, b = new.Ref(), prettyLines(new.Source)
	}
	ops := diffLines(a, b)
	changed := false
	for _, op := range ops {
		if op.kind != ' ' {
			changed = true
			break
		}
	}
	if !changed {
		return ""
	}
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", oldName, newName)
	writeHunks(&out, ops)
	return truncateDiff(out.String())
}

// prettyLines returns src, a JSON document, indented, as lines.
func prettyLines(src []byte) []string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, src, "", "  "); err != nil {
		buf.Reset()
		buf.Write(src)
	}
	return strings.Split(buf.String(), "\n")
}

// A diffOp is one line of an edit script: ' ' kept, '-' removed, '+'
// added. oldLine and newLine are the 1-based numbers of the line in each
// version (that of the preceding line where it is absent).
type diffOp struct {
	kind             byte
	line             string
	oldLine, newLine int
}

// diffLines returns an edit script that turns a into b: common prefix and
// suffix, and in between a longest common subsequence of lines when the
// table it needs is small enough.
func diffLines(a, b []string) []diffOp {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ops := make([]diffOp, 0, len(a)+len(b))
	i, j := 0, 0
	emit := func(kind byte, line string) {
		switch kind {
		case ' ':
			i, j = i+1, j+1
		case '-':
			i++
		case '+':
			j++
		}
		ops = append(ops, diffOp{kind, line, i, j})
	}
	for _, l := range a[:pre] {
		emit(' ', l)
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	if len(ma)*len(mb) <= maxDiffCells {
		// lcs[x][y] is the length of an LCS of ma[x:] and mb[y:].
		w := len(mb) + 1
		lcs := make([]int32, (len(ma)+1)*w)
		for x := len(ma) - 1; x >= 0; x-- {
			for y := len(mb) - 1; y >= 0; y-- {
				if ma[x] == mb[y] {
					lcs[x*w+y] = lcs[(x+1)*w+y+1] + 1
				} else {
					lcs[x*w+y] = max(lcs[(x+1)*w+y], lcs[x*w+y+1])
				}
			}
		}
		x, y := 0, 0
		for x < len(ma) || y < len(mb) {
			switch {
			case x < len(ma) && y < len(mb) && ma[x] == mb[y]:
				emit(' ', ma[x])
				x, y = x+1, y+1
			case y == len(mb) || x < len(ma) && lcs[(x+1)*w+y] >= lcs[x*w+y+1]:
				emit('-', ma[x])
				x++
			default:
				emit('+', mb[y])
				y++
			}
		}
	} else {
		for _, l := range ma {
			emit('-', l)
		}
		for _, l := range mb {
			emit('+', l)
		}
	}
	for _, l := range a[len(a)-suf:] {
		emit(' ', l)
	}
	return ops
}

// writeHunks writes the changes in ops with diffContext lines of context.
func writeHunks(out *strings.Builder, ops []diffOp) {
	for start := 0; start < len(ops); {
		// Find the next change, then extend the hunk while the changes
		// that follow are close enough to share context.
		first := start
		for first < len(ops) && ops[first].kind == ' ' {
			first++
		}
		if first == len(ops) {
			return
		}
		last := first
		for k := first; k < len(ops); k++ {
			if ops[k].kind != ' ' {
				if k-last > 2*diffContext {
					break
				}
				last = k
			}
		}
		lo, hi := max(first-diffContext, start), min(last+diffContext+1, len(ops))
		var oldStart, oldCount, newStart, newCount int
		for _, op := range ops[lo:hi] {
			if op.kind != '+' {
				if oldCount == 0 {
					oldStart = op.oldLine
				}
				oldCount++
			}
			if op.kind != '-' {
				if newCount == 0 {
					newStart = op.newLine
				}
				newCount++
			}
		}
		if oldCount == 0 {
			oldStart = ops[lo].oldLine
		}
		if newCount == 0 {
			newStart = ops[lo].newLine
		}
		fmt.Fprintf(out, "@@ -%d,%d +%d,%d @@\n", oldStart, oldCount, newStart, newCount)
		for _, op := range ops[lo:hi] {
			out.WriteByte(op.kind)
			out.WriteString(op.line)
			out.WriteByte('\n')
		}
		start = hi
	}
}

// truncateDiff cuts d to maxDiffSize bytes at a line end, with a marker.
func truncateDiff(d string) string {
	const marker = "… (truncated)\n"
	if len(d) <= maxDiffSize {
		return d
	}
	cut := strings.LastIndexByte(d[:maxDiffSize-len(marker)], '\n') + 1
	return d[:cut] + marker
}
