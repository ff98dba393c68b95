package yamldoc

import (
	"reflect"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestMapping(t *testing.T) {
	known := []string{"name", "level"}
	tests := []struct {
		name string
		src  string
		keys []string // the keys f is called with
		want []Problem
	}{
		{
			name: "known keys",
			src:  "name: a\nlevel: full\n",
			keys: []string{"name", "level"},
		},
		{
			name: "unknown key",
			src:  "name: a\nlvel: full\n",
			keys: []string{"name"},
			want: []Problem{{Line: 2, Column: 1, Path: "top.lvel", Message: `unknown key "lvel"; known keys: name, level`}},
		},
		{
			name: "duplicate key",
			src:  "name: a\nlevel: full\n  \nname: b\n",
			keys: []string{"name", "level"},
			want: []Problem{{Line: 4, Column: 1, Path: "top.name", Message: `duplicate key "name" (first at line 1, column 1)`}},
		},
		{
			name: "anchored key",
			src:  "&k name: a\nlevel: full\n",
			keys: []string{"level"},
			want: []Problem{{Line: 1, Column: 1, Path: "top", Message: "YAML anchors are not supported; write the value out"}},
		},
		{
			name: "alias key",
			src:  "name: &k level\n*k : full\n",
			keys: []string{"name"},
			want: []Problem{{Line: 2, Column: 1, Path: "top", Message: "YAML aliases are not supported; write the value out"}},
		},
		{
			name: "alias mapping",
			src:  "- &m {name: a}\n- *m\n",
			want: []Problem{{Line: 2, Column: 3, Path: "top", Message: "YAML aliases are not supported; write the value out"}},
		},
		{
			name: "not a mapping",
			src:  "just text\n",
			want: []Problem{{Line: 1, Column: 1, Path: "top", Message: "must be a mapping, not a string"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, prob := Decode([]byte(tt.src), "a test document")
			if prob != nil {
				t.Fatalf("Decode(%q) = %v", tt.src, prob)
			}
			n := root
			if n.Kind == yaml.SequenceNode { // the mapping under test is the last item
				n = n.Content[len(n.Content)-1]
			}
			var r Reader
			var keys []string
			r.Mapping(n, "top", known, func(key string, _, _ *yaml.Node, _ string) {
				keys = append(keys, key)
			})
			if !reflect.DeepEqual(r.Problems, tt.want) {
				t.Errorf("Mapping(%q) problems = %v, want %v", tt.src, r.Problems, tt.want)
			}
			if !slices.Equal(keys, tt.keys) {
				t.Errorf("Mapping(%q) keys = %q, want %q", tt.src, keys, tt.keys)
			}
		})
	}
}
