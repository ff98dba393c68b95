package policy

import (
	"fmt"
	"strings"

	"github.com/a24ba333/indelible/internal/textdiff"
)

// MaxDiffSize bounds the text Diff returns, in bytes.
const MaxDiffSize = 4 << 10

// Diff returns the line differences from old to new in the unified
// format (hunks "@@ -l,n +l,n @@" of lines starting with " ", "-" or
// "+", three lines of context, and "\ No newline at end of file" after
// a last line without one), for the entry that records a policy change.
// It is at most about MaxDiffSize bytes: a longer diff ends with a line
// saying how many lines were left out. A nil old shows every line as
// added; equal documents give "".
func Diff(old, new []byte) string {
	return textdiff.Unified(splitLines(old), splitLines(new), textdiff.Options{
		OwnNewlines: true,
		ShortRanges: true,
		MergeGap:    2 * textdiff.Context,
		MaxBytes:    MaxDiffSize - 64,
		Truncated: func(omitted int) string {
			return fmt.Sprintf("... diff truncated: %d more changed lines", omitted)
		},
	})
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
