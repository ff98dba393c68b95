package schema

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with the file testdata/name, or rewrites the file
// with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run go test -update to accept it):\n%s", path, lineDiff(string(want), got))
	}
}

// lineDiff shows the lines of want and got that differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n\twant %s\n\tgot  %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// TestGoldenCompileErrors records the text of every refusal in
// compileErrorTests.
func TestGoldenCompileErrors(t *testing.T) {
	var b strings.Builder
	for _, tt := range compileErrorTests {
		typ, version := errorTestArgs(tt.typ, tt.version)
		_, err := Compile(typ, version, []byte(tt.src))
		fmt.Fprintf(&b, "# %s\n%v\n\n", tt.name, err)
	}
	golden(t, "compile_errors.golden", b.String())
}

// TestGoldenValidateErrors records the errors of every case in
// validateTests.
func TestGoldenValidateErrors(t *testing.T) {
	sc := mustCompile(t, orderSchema)
	var b strings.Builder
	for _, tt := range validateTests {
		fmt.Fprintf(&b, "# %s\n", tt.name)
		for _, fe := range sc.Validate(dataEvent(t, tt.data)) {
			fmt.Fprintf(&b, "%s\n", fe)
		}
		b.WriteString("\n")
	}
	golden(t, "validate_errors.golden", b.String())
}
