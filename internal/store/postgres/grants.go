package postgres

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Grants returns the GRANT statements that give role what `indelible
// serve` needs of this store's schema, and nothing more: reading the schema
// version, appending entries and checkpoints, and inserting and updating
// head rows, tiles and API keys. It grants no DELETE, no TRUNCATE and no
// right to create or alter anything: migrations run as the schema's owner.
// Run the statements as that owner after `indelible migrate`; GRANTS.md
// explains each one.
func (db *DB) Grants(role string) string {
	return grants(db.schema, role)
}

func grants(schema, role string) string {
	s := pgx.Identifier{schema}.Sanitize()
	r := pgx.Identifier{role}.Sanitize()
	tables := func(names ...string) string {
		for i, n := range names {
			names[i] = s + "." + n
		}
		return strings.Join(names, ", ")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "GRANT USAGE ON SCHEMA %s TO %s;\n", s, r)
	fmt.Fprintf(&b, "GRANT SELECT ON %s TO %s;\n", tables("schema_migrations"), r)
	fmt.Fprintf(&b, "GRANT SELECT, INSERT ON %s TO %s;\n", tables("entries", "checkpoints"), r)
	fmt.Fprintf(&b, "GRANT SELECT, INSERT, UPDATE ON %s TO %s;\n", tables("logs", "tiles", "api_keys"), r)
	return b.String()
}
