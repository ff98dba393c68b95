package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/a24ba333/indelible/internal/store/postgres"
)

func migrateCommand() *command {
	return &command{
		name:     "migrate",
		summary:  "create or update the schema of a PostgreSQL store",
		synopsis: "migrate --store postgres://OWNER@HOST/DB [--grant-to ROLE]",
		help: `
Applies the schema migrations embedded in this binary to a PostgreSQL store,
each in its own transaction, under an advisory lock so that several nodes
starting at once are safe. Run it as the role that owns the tables; the
servers then connect as a role with only the rights printed by --grant-to
(no UPDATE or DELETE on entries or checkpoints, which triggers refuse
anyway, and no DDL).`,
		examples: `
indelible migrate --store postgres://indelible_owner@db.example/indelible --grant-to indelible_server`,
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			role := fs.String("grant-to", "", "print the GRANT statements that let `role` run a server")
			return func(ctx context.Context, sio *stdio, args []string) error {
				if err := noArgs(args); err != nil {
					return err
				}
				if common.store == "" {
					return usageErrorf("--store is required: the postgres:// URL of the database")
				}
				so := common.storeOptions()
				so.migrate = true
				db, err := openStore(ctx, "", so, common.logger())
				if err != nil {
					return err
				}
				defer db.Close()
				fmt.Fprintf(sio.out, "the PostgreSQL store %s is up to date\n", redactURL(common.store))
				if *role != "" {
					fmt.Fprintln(sio.out, db.(*postgres.DB).Grants(*role))
				}
				return nil
			}
		},
	}
}
