package schema

import (
	"fmt"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	v1 := mustCompileVersion(t, 1, `{"type": "object", "required": ["amount"], "properties": {"amount": {"type": "integer", "maximum": 1000}}}`)
	v2 := mustCompileVersion(t, 2, `{"type": "object", "required": ["amount", "currency"], "properties": {"amount": {"type": "integer", "maximum": 5000}, "currency": {"enum": ["EUR"]}}}`)
	tests := []struct {
		name     string
		old, new *Schema
		want     string
	}{
		{"same", v1, v1, ""},
		{"both nil", nil, nil, ""},
		{"new", nil, v1, `--- /dev/null
+++ test.event@1
@@ -0,0 +1,12 @@
+{
+  "properties": {
+    "amount": {
+      "maximum": 1000,
+      "type": "integer"
+    }
+  },
+  "required": [
+    "amount"
+  ],
+  "type": "object"
+}
`},
		{"changed", v1, v2, `--- test.event@1
+++ test.event@2
@@ -1,12 +1,18 @@
 {
   "properties": {
     "amount": {
-      "maximum": 1000,
+      "maximum": 5000,
       "type": "integer"
+    },
+    "currency": {
+      "enum": [
+        "EUR"
+      ]
     }
   },
   "required": [
-    "amount"
+    "amount",
+    "currency"
   ],
   "type": "object"
 }
`},
		{"removed", v1, nil, `--- test.event@1
+++ /dev/null
@@ -1,12 +0,0 @@
-{
-  "properties": {
-    "amount": {
-      "maximum": 1000,
-      "type": "integer"
-    }
-  },
-  "required": [
-    "amount"
-  ],
-  "type": "object"
-}
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Diff(tt.old, tt.new); got != tt.want {
				t.Errorf("Diff(%s, %s) =\n%s\nwant\n%s", name(tt.old), name(tt.new), got, tt.want)
			}
		})
	}
}

// TestDiffHunks checks that distant changes get separate hunks with
// three lines of context.
func TestDiffHunks(t *testing.T) {
	props := func(changed ...int) string {
		var parts []string
		for i := range 20 {
			limit := i
			for _, c := range changed {
				if c == i {
					limit += 100
				}
			}
			parts = append(parts, fmt.Sprintf(`"p%02d": {"maximum": %d}`, i, limit))
		}
		return `{"properties": {` + strings.Join(parts, ", ") + `}}`
	}
	old := mustCompileVersion(t, 1, props())
	new := mustCompileVersion(t, 2, props(2, 15))
	want := `--- test.event@1
+++ test.event@2
@@ -7,7 +7,7 @@
       "maximum": 1
     },
     "p02": {
-      "maximum": 2
+      "maximum": 102
     },
     "p03": {
       "maximum": 3
@@ -46,7 +46,7 @@
       "maximum": 14
     },
     "p15": {
-      "maximum": 15
+      "maximum": 115
     },
     "p16": {
       "maximum": 16
`
	if got := Diff(old, new); got != want {
		t.Errorf("Diff =\n%s\nwant\n%s", got, want)
	}
}

func TestDiffLimits(t *testing.T) {
	enum := func(prefix string, n int) string {
		var vals []string
		for i := range n {
			vals = append(vals, fmt.Sprintf(`"%s%d"`, prefix, i))
		}
		return `{"enum": [` + strings.Join(vals, ",") + `]}`
	}
	tests := []struct {
		name     string
		old, new string
	}{
		{"long", enum("a", 10), enum("b", 1000)},
		{"too long to match", enum("a", 2000), enum("b", 2000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Diff(mustCompileVersion(t, 1, tt.old), mustCompileVersion(t, 2, tt.new))
			if len(d) > maxDiffSize || !strings.HasSuffix(d, "\n… (truncated)\n") || !strings.HasPrefix(d, "--- test.event@1\n+++ test.event@2\n@@ ") {
				t.Errorf("Diff = %d bytes ending in %q, want at most %d ending in the truncation marker", len(d), d[max(0, len(d)-40):], maxDiffSize)
			}
		})
	}
}

func mustCompileVersion(t *testing.T, v int, src string) *Schema {
	t.Helper()
	sc, err := Compile("test.event", v, []byte(src))
	if err != nil {
		t.Fatalf("Compile(%q) = %v", src, err)
	}
	return sc
}

func name(sc *Schema) string {
	if sc == nil {
		return "nil"
	}
	return sc.Ref()
}
