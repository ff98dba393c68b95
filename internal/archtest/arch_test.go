// Package archtest holds the test that keeps the package layering of
// DESIGN.md true: data flows one way, public packages stay free of
// server code, and only store drivers know about SQL.
package archtest

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/a24ba333/indelible"

// allowed lists, per package, the module packages it may import. A
// package missing from the table may import nothing of the module but
// what "*" grants to all. cmd/indelible may import anything.
var allowed = map[string][]string{
	"event":                    {},
	"verify":                   {},
	"client":                   {"event", "verify"},
	"internal/store":           {},
	"internal/store/storetest": {"internal/store"},
	"internal/store/sqlite":    {"internal/store"},
	"internal/store/postgres":  {"internal/store"},
	"internal/signkey":         {},
	"internal/seal":            {"event", "internal/policy"},
	"internal/ledger":          {"event", "verify", "internal/store"},
	"internal/schema":          {"event", "internal/textdiff"},
	"internal/policy":          {"event", "internal/condition", "internal/textdiff", "internal/yamldoc"},
	"internal/textdiff":        {},
	"internal/condition":       {"event"},
	"internal/yamldoc":         {},
	"internal/report":          {"verify", "internal/findings"},
	"internal/query":           {"event", "internal/store"},
	"internal/analyze":         {"event", "internal/condition", "internal/yamldoc"},
	"internal/findings":        {"event", "internal/analyze", "internal/backlog", "internal/store"},
	"internal/respond":         {"event", "internal/findings", "internal/yamldoc"},
	"internal/integrity":       {"event", "verify", "internal/atomicfile", "internal/ledger", "internal/store"},
	"internal/atomicfile":      {},
	"internal/ingest":          {"event"},
	"internal/backlog":         {"event"},
	"internal/config":          {},
	"internal/apikey":          {"event", "internal/store"},
	"internal/capture":         {"event", "internal/analyze", "internal/schema", "internal/policy", "internal/store"},
	"internal/index":           {"event", "verify", "internal/backlog", "internal/store"},
	"internal/server": {"event", "verify", "internal/apikey", "internal/analyze", "internal/capture", "internal/findings", "internal/ingest", "internal/ledger",
		"internal/policy", "internal/query", "internal/schema", "internal/seal", "internal/store"},
}

// forbiddenStd are third-party or standard imports some packages must
// never use.
var forbiddenStd = map[string][]string{
	"event":           {"database/sql", "net/http"},
	"verify":          {"database/sql", "net/http"},
	"internal/ledger": {"database/sql", "net/http"},
	"internal/seal":   {"database/sql", "net/http"},
}

func TestLayering(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		if pkg == "cmd/indelible" || pkg == "internal/archtest" {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		ok, known := allowed[pkg]
		if !known {
			t.Errorf("package %s is not in the layering table: add it, with what it may import", pkg)
			return nil
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range forbiddenStd[pkg] {
				if p == bad {
					t.Errorf("%s imports %s, which it must not", rel+"/"+filepath.Base(path), p)
				}
			}
			if !strings.HasPrefix(p, module+"/") {
				continue
			}
			dep := strings.TrimPrefix(p, module+"/")
			if !contains(ok, dep) {
				t.Errorf("%s imports %s: %s may import only %v", filepath.ToSlash(filepath.Join(rel, filepath.Base(path))), dep, pkg, ok)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
