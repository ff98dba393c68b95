package textdiff

import (
	"fmt"
	"strings"
	"testing"
)

func TestUnified(t *testing.T) {
	lines := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	tests := []struct {
		name string
		a, b string
		o    Options
		want string
	}{
		{"equal", "a,b", "a,b", Options{Header: []string{"--- x"}}, ""},
		{"all added", "", "a,b", Options{}, "@@ -0,0 +1,2 @@\n+a\n+b\n"},
		{"all removed", "a", "", Options{}, "@@ -1,1 +0,0 @@\n-a\n"},
		{"short ranges", "a", "", Options{ShortRanges: true}, "@@ -1 +0,0 @@\n-a\n"},
		{"header", "a", "b", Options{Header: []string{"--- x", "+++ y"}}, "--- x\n+++ y\n@@ -1,1 +1,1 @@\n-a\n+b\n"},
		{"own newlines", "a\n,b", "a\n,b\n", Options{OwnNewlines: true},
			"@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n"},
		{"context", "1,2,3,4,5,6,7,8,9", "1,2,3,4,X,6,7,8,9", Options{},
			"@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+X\n 6\n 7\n 8\n"},
		{"gap within MergeGap", "1,2,3,4,5,6,7,8", "X,2,3,4,5,6,7,Y", Options{MergeGap: 6},
			"@@ -1,8 +1,8 @@\n-1\n+X\n 2\n 3\n 4\n 5\n 6\n 7\n-8\n+Y\n"},
		{"gap beyond MergeGap", "1,2,3,4,5,6,7,8", "X,2,3,4,5,6,7,Y", Options{MergeGap: 5},
			"@@ -1,4 +1,4 @@\n-1\n+X\n 2\n 3\n 4\n@@ -5,4 +5,4 @@\n 5\n 6\n 7\n-8\n+Y\n"},
		{"not cut", "1,2,3", "X,Y,Z", Options{MaxBytes: 34, Truncated: func(n int) string { return fmt.Sprint(n, " more") }},
			"@@ -1,3 +1,3 @@\n-1\n-2\n-3\n+X\n+Y\n+Z\n"},
		{"cut", "1,2,3", "X,Y,Z", Options{MaxBytes: 33, Truncated: func(n int) string { return fmt.Sprint(n, " more") }},
			"@@ -1,3 +1,3 @@\n-1\n-2\n-3\n+X\n+Y\n1 more\n"},
		{"cut to", "1,2,3", "X,Y,Z", Options{Header: []string{"h"}, MaxBytes: 30, CutTo: 24, Truncated: func(n int) string { return fmt.Sprint(n, " more") }},
			"h\n@@ -1,3 +1,3 @@\n-1\n-2\n4 more\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Unified(lines(tt.a), lines(tt.b), tt.o); got != tt.want {
				t.Errorf("Unified(%q, %q) =\n%s\nwant\n%s", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

// TestUnifiedCellBudget checks that past MaxCells the changed region is
// shown as removed, then added, rather than matched line by line.
func TestUnifiedCellBudget(t *testing.T) {
	build := func(prefix string, n int, common string, first bool) []string {
		var l []string
		for i := range n {
			l = append(l, fmt.Sprint(prefix, i))
		}
		if first {
			return append([]string{common}, l...)
		}
		return append(l, common)
	}
	tests := []struct {
		n, m        int
		keepsCommon bool
	}{
		{10, 10, true},
		{1100, 1000, false},
	}
	for _, tt := range tests {
		a, b := build("a", tt.n, "c", true), build("b", tt.m, "c", false)
		got := Unified(a, b, Options{})
		if kept := strings.Contains(got, "\n c\n"); kept != tt.keepsCommon {
			t.Errorf("Unified(%d lines, %d lines) keeps the common line: %v, want %v", len(a), len(b), kept, tt.keepsCommon)
		}
	}
}
