package event

import (
	"regexp"
	"strings"
	"testing"
)

func TestTypePattern(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"auth.login", "auth.login", true},
		{"auth.login", "auth.login.sso", false},
		{"auth.*", "auth.login", true},
		{"auth.*", "authz.check", false},
		{"*.role.grant", "iam.role.grant", true},
		{"*.role.grant", "iam.role.grants", false},
		{"a.?x.*", "a.bx.c", true},
		{"a.?x.*", "a.x.c", false},
		{"*a*b*", "xaxxbx", true},
		{"**.x", "a.x", true},
		{"?*", "", false},
		{"?*", "a", true},
	}
	for _, tt := range tests {
		p, err := NewTypePattern(tt.pat)
		if err != nil {
			t.Fatalf("NewTypePattern(%q): %v", tt.pat, err)
		}
		if got := p.Match(tt.s); got != tt.want {
			t.Errorf("NewTypePattern(%q).Match(%q) = %v, want %v", tt.pat, tt.s, got, tt.want)
		}
		// The same as a regular expression.
		re := regexp.MustCompile("^" + strings.NewReplacer(".", `\.`, "*", ".*", "?", ".").Replace(tt.pat) + "$")
		if got := re.MatchString(tt.s); got != tt.want {
			t.Errorf("the test case %q ~ %q disagrees with regexp", tt.pat, tt.s)
		}
	}
	for _, bad := range []string{"", "Auth.*", "a b", "a/b"} {
		if _, err := NewTypePattern(bad); err == nil {
			t.Errorf("NewTypePattern(%q) = nil error, want one", bad)
		}
	}
	if (TypePattern{}).Match("a.b") {
		t.Error("the zero TypePattern matches")
	}
}
