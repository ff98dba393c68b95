package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/a24ba333/indelible/internal/signkey"
)

// defaultInstanceName names the signing key, and so the instance, when
// --name is not given.
const defaultInstanceName = "indelible"

func keysInitCommand() *command {
	return &command{
		name:     "keys init",
		summary:  "create the checkpoint signing key of a data directory",
		synopsis: "keys init --data-dir DIR [--name NAME]",
		help: `
Creates the Ed25519 key that signs the checkpoints of every log in DIR:
DIR/signing.key (private, mode 0600) and DIR/verifier.key (public), and
prints the verifier key. It refuses to replace an existing key: checkpoints
signed by it would no longer verify under a new one.

NAME is the instance name. It is the key's name and the first part of every
checkpoint origin: the log "acme" of instance "indelible" has the origin
"indelible/acme". It cannot be changed later.

You rarely need this command: append creates the key on first use. Run it
to choose the instance name, or to publish the verifier key before the first
event. Copy the verifier key somewhere the machine's operators cannot
change (another host, a ticket, a repository) and give it to verify with
--key: a verifier key kept only next to the data it checks proves little.`,
		examples: `
indelible keys init --data-dir /var/lib/indelible --name audit.example.com
indelible keys public --data-dir /var/lib/indelible > verifier.key`,
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			dir := fs.String("data-dir", "", "`directory` holding the database and keys (created if missing)")
			name := fs.String("name", defaultInstanceName, "instance `name`: the key name and checkpoint origin prefix")
			return func(ctx context.Context, sio *stdio, args []string) error {
				if err := noArgs(args); err != nil {
					return err
				}
				if err := requireDataDir(*dir); err != nil {
					return err
				}
				if err := validKeyName(*name); err != nil {
					return err
				}
				key, err := signkey.Init(*dir, *name)
				if err != nil {
					return fmt.Errorf("keys init: %w", err)
				}
				common.logger().Info("created checkpoint signing key",
					"name", key.Name(), "private", filepath.Join(*dir, signkey.PrivateFile),
					"public", filepath.Join(*dir, signkey.PublicFile))
				fmt.Fprintln(sio.out, key.Verifier)
				return nil
			}
		},
	}
}

func keysPublicCommand() *command {
	return &command{
		name:     "keys public",
		summary:  "print the verifier key of a data directory",
		synopsis: "keys public --data-dir DIR",
		help: `
Prints the signed-note verifier key ("NAME+HASH+KEY") that checks the
checkpoints of DIR. Save it outside the machine and pass the file to
"indelible verify --key FILE", or give it to any C2SP signed-note verifier.

The key is derived from DIR/signing.key when that is readable, otherwise
read from DIR/verifier.key.`,
		examples: `
indelible keys public --data-dir ./data > verifier.key`,
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			dir := fs.String("data-dir", "", "`directory` holding the database and keys")
			return func(ctx context.Context, sio *stdio, args []string) error {
				if err := noArgs(args); err != nil {
					return err
				}
				if err := requireDataDir(*dir); err != nil {
					return err
				}
				vkey, err := publicKey(*dir)
				if err != nil {
					return fmt.Errorf("keys public: %w", err)
				}
				fmt.Fprintln(sio.out, vkey)
				return nil
			}
		},
	}
}

// publicKey returns the verifier key text of dir.
func publicKey(dir string) (string, error) {
	key, err := signkey.Load(dir)
	if err == nil {
		return key.Verifier, nil
	}
	if !errors.Is(err, signkey.ErrNoKey) && !errors.Is(err, os.ErrPermission) {
		return "", err
	}
	path := filepath.Join(dir, signkey.PublicFile)
	data, rerr := os.ReadFile(path)
	if rerr != nil {
		if errors.Is(rerr, os.ErrNotExist) {
			return "", err // the more useful error: there is no key at all
		}
		return "", rerr
	}
	vkey := strings.TrimSpace(string(data))
	if _, err := note.NewVerifier(vkey); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return vkey, nil
}

// validKeyName checks an instance name: a signed-note key name (no
// spaces, no '+') that also reads well in a checkpoint origin.
func validKeyName(name string) error {
	if name == "" || strings.ContainsAny(name, "+ \t\n") {
		return usageErrorf("--name %q: an instance name must be non-empty, without spaces or '+' (a host name is a good choice)", name)
	}
	return nil
}

// requireDataDir checks that --data-dir was given.
func requireDataDir(dir string) error {
	if dir == "" {
		return usageErrorf("--data-dir is required (or set %s)", envName("data-dir"))
	}
	return nil
}

// noArgs refuses arguments after the flags.
func noArgs(args []string) error {
	if len(args) > 0 {
		return usageErrorf("unexpected argument %q", args[0])
	}
	return nil
}
