// Package signkey keeps the instance's checkpoint signing key in a data
// directory.
//
// The key is a C2SP signed-note Ed25519 key. The private key file holds
// the note private key string ("PRIVATE+KEY+<name>+<hash>+<base64>")
// followed by a newline, with mode 0600; the public verifier key
// ("<name>+<hash>+<base64>") is derived from it and also written next to
// it for convenience. The key name is the instance name, the first part
// of every checkpoint origin.
package signkey

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// File names inside the data directory.
const (
	PrivateFile = "signing.key"
	PublicFile  = "verifier.key"
)

// algEd25519 is the signed-note algorithm byte for Ed25519.
const algEd25519 = 1

// Key is a loaded signing key.
type Key struct {
	Signer note.Signer
	// Verifier is the public verifier key string.
	Verifier string
	seed     []byte
}

// Name returns the key name, which is the instance name.
func (k *Key) Name() string { return k.Signer.Name() }

// DigestKey returns the secret that keys idempotency digests. It is
// derived from the private key so that the data directory holds a single
// secret.
func (k *Key) DigestKey() []byte {
	m := hmac.New(sha256.New, k.seed)
	m.Write([]byte("indelible event digest v1"))
	return m.Sum(nil)
}

// ErrNoKey means the data directory has no signing key yet.
var ErrNoKey = errors.New("no signing key")

// Init creates a signing key named name in dir. It refuses to overwrite an
// existing key.
func Init(dir, name string) (*Key, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	skey, _, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return nil, fmt.Errorf("generating key %q: %w", name, err)
	}
	k, err := parse(skey)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, PrivateFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("%s already exists: refusing to replace the signing key", path)
		}
		return nil, fmt.Errorf("creating %s: %w", path, err)
	}
	if _, err := f.WriteString(skey + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("syncing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("closing %s: %w", path, err)
	}
	if err := os.WriteFile(filepath.Join(dir, PublicFile), []byte(k.Verifier+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("writing verifier key: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return k, nil
}

// Load reads the signing key of dir. It returns an error wrapping ErrNoKey
// if there is none, and refuses a key file that others may read.
func Load(dir string) (*Key, error) {
	path := filepath.Join(dir, PrivateFile)
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s (run: indelible keys init --data-dir %s)", ErrNoKey, dir, dir)
	}
	if err != nil {
		return nil, err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s has mode %v: a signing key must be readable by its owner only (chmod 600 %s)", path, info.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := parse(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// LoadOrInit loads the key of dir, creating one named name if there is
// none.
func LoadOrInit(dir, name string) (k *Key, created bool, err error) {
	k, err = Load(dir)
	if errors.Is(err, ErrNoKey) {
		k, err = Init(dir, name)
		return k, err == nil, err
	}
	return k, false, err
}

// parse decodes a note private key and derives its verifier key.
func parse(skey string) (*Key, error) {
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("malformed signing key: %w", err)
	}
	// PRIVATE+KEY+<name>+<hash>+<base64>: the base64 part may itself
	// contain '+', the name may not.
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 {
		return nil, errors.New("malformed signing key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != algEd25519 {
		return nil, errors.New("signing key is not an Ed25519 key")
	}
	seed := raw[1:]
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(signer.Name(), pub)
	if err != nil {
		return nil, err
	}
	return &Key{Signer: signer, Verifier: vkey, seed: seed}, nil
}

// ReadVerifier reads a verifier key file (as written by Init, or printed by
// "indelible keys public").
func ReadVerifier(path string) (note.Verifier, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}
