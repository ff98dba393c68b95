package policy

import (
	"fmt"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		want     string
	}{
		{"equal", "a\nb\n", "a\nb\n", ""},
		{"both empty", "", "", ""},
		{"all added", "", "a\nb\n", "@@ -0,0 +1,2 @@\n+a\n+b\n"},
		{"all removed", "a\n", "", "@@ -1 +0,0 @@\n-a\n"},
		{"changed line", "a\nb\nc\n", "a\nB\nc\n", "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"},
		{"no final newline", "a\nb", "a\nb\n", "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n"},
		{"CRLF", "a\r\nb\r\n", "a\r\nc\r\n", "@@ -1,2 +1,2 @@\n a\r\n-b\r\n+c\r\n"},
		{
			"context of three and two hunks",
			"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n",
			"1\nX\n3\n4\n5\n6\n7\n8\n9\n10\n11\nY\n",
			"@@ -1,5 +1,5 @@\n 1\n-2\n+X\n 3\n 4\n 5\n@@ -9,4 +9,4 @@\n 9\n 10\n 11\n-12\n+Y\n",
		},
		{
			"close changes share a hunk",
			"1\n2\n3\n4\n5\n6\n7\n8\n",
			"1\nX\n3\n4\n5\n6\nY\n8\n",
			"@@ -1,8 +1,8 @@\n 1\n-2\n+X\n 3\n 4\n 5\n 6\n-7\n+Y\n 8\n",
		},
		{
			"insertion",
			"rules:\n  - name: a\n    level: full\n",
			"rules:\n  - name: z\n    level: none\n  - name: a\n    level: full\n",
			"@@ -1,3 +1,5 @@\n rules:\n+  - name: z\n+    level: none\n   - name: a\n     level: full\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var old []byte
			if tt.old != "" {
				old = []byte(tt.old)
			}
			if got := Diff(old, []byte(tt.new)); got != tt.want {
				t.Errorf("Diff(%q, %q) =\n%s\nwant\n%s", tt.old, tt.new, got, tt.want)
			}
		})
	}
}

func TestDiffNilOld(t *testing.T) {
	src := readFile(t, "testdata/example.yaml")
	got := Diff(nil, src)
	lines := strings.Split(strings.TrimSuffix(string(src), "\n"), "\n")
	want := fmt.Sprintf("@@ -0,0 +1,%d @@\n+%s\n", len(lines), strings.Join(lines, "\n+"))
	if got != want {
		t.Errorf("Diff(nil, example) =\n%s\nwant\n%s", got, want)
	}
}

func TestDiffCapped(t *testing.T) {
	var old, new strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&old, "  - name: rule-%d\n", i)
		fmt.Fprintf(&new, "  - name: rule-%d-renamed\n", i)
	}
	got := Diff([]byte(old.String()), []byte(new.String()))
	if len(got) > MaxDiffSize {
		t.Errorf("Diff() is %d bytes, want at most %d", len(got), MaxDiffSize)
	}
	if !strings.HasPrefix(got, "@@ -1,2000 +1,2000 @@\n-  - name: rule-0\n") || !strings.Contains(got, "... diff truncated: ") {
		t.Errorf("Diff() = %q..., want a truncated diff", got[:min(len(got), 200)])
	}
}
