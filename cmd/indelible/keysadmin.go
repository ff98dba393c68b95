package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os/user"
	"text/tabwriter"
	"time"

	"github.com/a24ba333/indelible/internal/apikey"
	"github.com/a24ba333/indelible/internal/ledger"
)

// operator is the principal of whoever runs a key command on the data
// directory: they hold the files, so they act as an instance admin. The
// log records them by their operating-system user.
func operator() apikey.Principal {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return apikey.Principal{KeyID: "cli:" + name, Role: apikey.Admin}
}

func keysCreateCommand() *command {
	return &command{
		name:     "keys create",
		summary:  "create an API key and print it once",
		synopsis: "keys create --data-dir DIR --tenant TENANT --role ROLE [--name NAME]\nkeys create --data-dir DIR --instance --role ROLE [--name NAME]",
		help: `
Creates an API key for the HTTP API and prints its token on standard output,
once: only its hash is stored. A key is scoped to one tenant (its log) or,
with --instance, to the whole instance, and has one role:

  writer   ingest events
  reader   read: entries, proofs, tiles, queries
  auditor  reader, plus findings, reports and export
  admin    everything, including keys, policies and schemas

The creation is recorded in the tenant's log (the log "_system" for an
instance key) as an indelible.key.created entry. It works on the data
directory also while a server runs on it.`,
		examples: `
indelible keys create --data-dir /var/lib/indelible --tenant acme --role writer --name billing-api
indelible keys create --data-dir /var/lib/indelible --instance --role auditor --name compliance`,
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			dir := fs.String("data-dir", "", "`directory` holding the database and keys")
			tenant := fs.String("tenant", "", "the `tenant` (log) the key may use")
			instance := fs.Bool("instance", false, "make an instance-wide key instead of a tenant key")
			role := fs.String("role", "", "the key's `role`: writer, reader, auditor or admin")
			name := fs.String("name", "", "a `description` of who uses the key")
			return func(ctx context.Context, sio *stdio, args []string) error {
				if err := noArgs(args); err != nil {
					return err
				}
				if (*tenant == "") == !*instance {
					return usageErrorf("give exactly one of --tenant and --instance")
				}
				r, err := apikey.ParseRole(*role)
				if err != nil {
					return usageErrorf("--role: %v", err)
				}
				in, err := openInstance(ctx, *dir, defaultInstanceName, common.logger(), ledger.Config{}, common.storeOptions())
				if err != nil {
					return err
				}
				defer in.Close()
				token, k, err := in.keys.Create(ctx, operator(), *tenant, r, *name)
				if err != nil {
					return fmt.Errorf("creating the key: %w", err)
				}
				common.logger().Info("created API key", "id", k.ID, "tenant", k.Tenant, "role", k.Role)
				fmt.Fprintln(sio.out, token)
				return nil
			}
		},
	}
}

func keysListCommand() *command {
	return &command{
		name:     "keys list",
		summary:  "list API keys (never their secrets)",
		synopsis: "keys list --data-dir DIR [--tenant TENANT] [--json]",
		help: `
Lists the API keys of a tenant, or all keys, with their role, scope, and
creation and revocation times. Tokens are never stored, so never listed.`,
		examples: `indelible keys list --data-dir /var/lib/indelible --tenant acme`,
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			dir := fs.String("data-dir", "", "`directory` holding the database and keys")
			tenant := fs.String("tenant", "", "list only this `tenant`'s keys")
			asJSON := fs.Bool("json", false, "print JSON lines instead of a table")
			return func(ctx context.Context, sio *stdio, args []string) error {
				if err := noArgs(args); err != nil {
					return err
				}
				in, err := openInstance(ctx, *dir, defaultInstanceName, common.logger(), ledger.Config{}, common.storeOptions())
				if err != nil {
					return err
				}
				defer in.Close()
				keys, err := in.keys.List(ctx, operator(), *tenant)
				if err != nil {
					return err
				}
				if *asJSON {
					enc := json.NewEncoder(sio.out)
					for _, k := range keys {
						if err := enc.Encode(k); err != nil {
							return err
						}
					}
					return nil
				}
				tw := tabwriter.NewWriter(sio.out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tTENANT\tROLE\tNAME\tCREATED\tREVOKED")
				for _, k := range keys {
					scope := k.Tenant
					if scope == "" {
						scope = "(instance)"
					}
					revoked := "-"
					if !k.RevokedAt.IsZero() {
						revoked = k.RevokedAt.Format(time.RFC3339)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, scope, k.Role, k.Name, k.CreatedAt.Format(time.RFC3339), revoked)
				}
				return tw.Flush()
			}
		},
	}
}

func keysRevokeCommand() *command {
	return &command{
		name:     "keys revoke",
		summary:  "revoke an API key",
		synopsis: "keys revoke --data-dir DIR ID",
		help: `
Revokes the API key with the given id (as "keys list" shows it). A server
on the same data directory refuses the key within two seconds. The
revocation is recorded in the key's log as an indelible.key.revoked entry.`,
		examples: `indelible keys revoke --data-dir /var/lib/indelible 3f9a0c1d2b4e5f60`,
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			dir := fs.String("data-dir", "", "`directory` holding the database and keys")
			return func(ctx context.Context, sio *stdio, args []string) error {
				if len(args) != 1 {
					return usageErrorf("want exactly one key id")
				}
				in, err := openInstance(ctx, *dir, defaultInstanceName, common.logger(), ledger.Config{}, common.storeOptions())
				if err != nil {
					return err
				}
				defer in.Close()
				k, err := in.keys.Revoke(ctx, operator(), args[0])
				if errors.Is(err, apikey.ErrNotFound) {
					return badData(fmt.Errorf("no API key %q", args[0]))
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(sio.out, "revoked %s (%s, tenant %q) at %s\n", k.ID, k.Role, k.Tenant, k.RevokedAt.Format(time.RFC3339))
				return nil
			}
		},
	}
}
