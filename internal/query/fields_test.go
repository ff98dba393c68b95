package query

import (
	"strings"
	"testing"
)

func TestFieldValue(t *testing.T) {
	full := entryJSON(t, fullEvent)
	bareEntry := entryJSON(t, bareEvent)
	for _, tt := range []struct {
		field string
		bare  bool
		want  string
		ok    bool
	}{
		{field: "type", want: "auth.login.sso", ok: true},
		{field: "category", want: "auth", ok: true},
		{field: "action", want: "sso", ok: true},
		{field: "outcome", want: "failure", ok: true},
		{field: "outcome", bare: true, want: "unknown", ok: true},
		{field: "actor.id", want: "alice@example.com", ok: true},
		{field: "actor.type", want: "user", ok: true},
		{field: "actor.type", bare: true},
		{field: "resource.type", want: "account", ok: true},
		{field: "resource.id", want: "acct-42", ok: true},
		{field: "resource.id", bare: true},
		{field: "project", want: "payments", ok: true},
		{field: "environment", want: "production", ok: true},
		{field: "source", want: "billing-api", ok: true},
		{field: "project", bare: true},
		{field: "data.method", want: "password", ok: true},
		{field: "data.amount", want: "1200", ok: true},
		{field: "data.ratio", want: "0.25", ok: true},
		{field: "data.ok", want: "true", ok: true},
		{field: "data.none", want: "null", ok: true},
		{field: "data.empty", want: "", ok: true},
		{field: "data.user.name", want: "Alice Smith", ok: true},
		{field: "data.user.roles", want: `["admin","ops"]`, ok: true},
		{field: "data.user.roles.1", want: "ops", ok: true},
		{field: "data.items.0", want: `{"qty":2,"sku":"x1"}`, ok: true},
		{field: "data.missing"},
		{field: "data.method", bare: true},
		{field: "message"},  // not a statistics field
		{field: "actr.id"},  // not a field
		{field: "data..x"},  // not a path
		{field: "time"},     // not a statistics field
		{field: "actor.ip"}, // not a statistics field
	} {
		e, which := full, "full"
		if tt.bare {
			e, which = bareEntry, "bare"
		}
		t.Run(which+"/"+tt.field, func(t *testing.T) {
			got, ok := FieldValue(e, tt.field)
			if got != tt.want || ok != tt.ok {
				t.Errorf("FieldValue(%s, %q) = %q, %v, want %q, %v", which, tt.field, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestValidStatsField(t *testing.T) {
	for _, f := range []string{"type", "category", "action", "outcome", "actor.id", "actor.type",
		"resource.type", "resource.id", "project", "environment", "source", "data.method", "data.user.name"} {
		if err := ValidStatsField(f); err != nil {
			t.Errorf("ValidStatsField(%q) = %v, want nil", f, err)
		}
	}
	for _, tt := range []struct{ field, want string }{
		{"actr.id", `query: cannot group by "actr.id": unknown field "actr.id" (did you mean "actor.id"?); group by one of type, category, action, outcome, actor.id, actor.type, resource.type, resource.id, project, environment, source or data.PATH`},
		{"message", `query: cannot group by "message": message has a different value in almost every entry; group by one of`},
		{"time", `query: cannot group by "time": time has a different value in almost every entry;`},
		{"data", `query: cannot group by "data": data needs a path of dot-separated keys`},
		{"", `query: cannot group by "": unknown field ""`},
	} {
		err := ValidStatsField(tt.field)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("ValidStatsField(%q) = %v, want %s...", tt.field, err, tt.want)
		}
	}
}
