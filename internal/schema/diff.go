package schema

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/a24ba333/indelible/internal/textdiff"
)

// maxDiffSize bounds the text Diff returns, in bytes.
const maxDiffSize = 4 << 10

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
	const marker = "… (truncated)"
	return textdiff.Unified(a, b, textdiff.Options{
		Header:    []string{"--- " + oldName, "+++ " + newName},
		MergeGap:  2*textdiff.Context - 1,
		MaxBytes:  maxDiffSize,
		CutTo:     maxDiffSize - len(marker+"\n"),
		Truncated: func(int) string { return marker },
	})
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
