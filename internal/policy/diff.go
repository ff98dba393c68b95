package policy

import (
	"fmt"
	"strings"
)

// MaxDiffSize bounds the text Diff returns, in bytes.
const MaxDiffSize = 4 << 10

// diffContext is the number of unchanged lines shown around a change.
const diffContext = 3

// maxDiffCells bounds the work of finding a shortest diff: beyond it,
// the changed middle of the documents is shown as removed, then added.
const maxDiffCells = 1 << 20

// Diff returns the line differences from old to new in the unified
// format (hunks "@@ -l,n +l,n @@" of lines starting with " ", "-" or
// "+", three lines of context, and "\ No newline at end of file" after
// a last line without one), for the entry that records a policy change. It is at most about MaxDiffSize bytes: a longer diff ends with
// a line saying how many lines were left out. A nil old shows every line
// as added; equal documents give "".
func Diff(old, new []byte) string {
	a, b := splitLines(old), splitLines(new)
	ops := diffLines(a, b)
	var w diffWriter
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		// A hunk runs from the context before the change at i to the
		// context after the last change less than 2*diffContext lines
		// of context away.
		start := max(i-diffContext, 0)
		end := i
		for j := i; j < len(ops); j++ {
			if ops[j].kind != ' ' {
				end = j + 1
			} else if j-end >= 2*diffContext {
				break
			}
		}
		end = min(end+diffContext, len(ops))
		w.hunk(ops[start:end])
		i = end
	}
	return w.String()
}

// diffOp is one line of a diff: kind ' ' (in both), '-' (old only) or
// '+' (new only); aLine and bLine are its 1-based line numbers in old
// and new before it.
type diffOp struct {
	kind         byte
	line         string
	aLine, bLine int
}

// splitLines returns the lines of b, each with its "\n" but the last if
// b does not end with one.
func splitLines(b []byte) []string {
	var lines []string
	for s := string(b); s != ""; {
		i := strings.IndexByte(s, '\n') + 1
		if i == 0 {
			i = len(s)
		}
		lines = append(lines, s[:i])
		s = s[i:]
	}
	return lines
}

// diffLines returns an edit script from a to b: a longest common
// subsequence of lines, when that is affordable.
func diffLines(a, b []string) []diffOp {
	var ops []diffOp
	ai, bi := 1, 1
	emit := func(kind byte, line string) {
		ops = append(ops, diffOp{kind, line, ai, bi})
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
	if n*m > maxDiffCells {
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

// diffWriter writes hunks up to MaxDiffSize, then counts what it leaves
// out.
type diffWriter struct {
	b       strings.Builder
	omitted int // changed lines left out
	full    bool
}

func (w *diffWriter) hunk(ops []diffOp) {
	var na, nb int
	for _, op := range ops {
		if op.kind != '+' {
			na++
		}
		if op.kind != '-' {
			nb++
		}
	}
	w.line(fmt.Sprintf("@@ -%s +%s @@", hunkRange(ops[0].aLine, na), hunkRange(ops[0].bLine, nb)), false)
	for _, op := range ops {
		w.line(string(op.kind)+strings.TrimSuffix(op.line, "\n"), op.kind != ' ')
		if !strings.HasSuffix(op.line, "\n") {
			w.line("\\ No newline at end of file", false)
		}
	}
}

// hunkRange formats a hunk's start and length as the unified format
// does: the length is left out when it is 1, and an empty range starts
// at the line before it.
func hunkRange(start, n int) string {
	switch n {
	case 0:
		return fmt.Sprintf("%d,0", start-1)
	case 1:
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, n)
}

func (w *diffWriter) line(s string, changed bool) {
	if !w.full && w.b.Len()+len(s)+1 > MaxDiffSize-64 {
		w.full = true
	}
	if w.full {
		if changed {
			w.omitted++
		}
		return
	}
	w.b.WriteString(s)
	w.b.WriteByte('\n')
}

func (w *diffWriter) String() string {
	if w.full {
		fmt.Fprintf(&w.b, "... diff truncated: %d more changed lines\n", w.omitted)
	}
	return w.b.String()
}
