package signkey

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

func TestInitLoad(t *testing.T) {
	// Many keys, so that base64 key material with '+' and '/' occurs.
	for i := 0; i < 50; i++ {
		dir := t.TempDir()
		k, err := Init(dir, "audit.example")
		if err != nil {
			t.Fatalf("Init: %v", err)
		}
		info, err := os.Stat(filepath.Join(dir, PrivateFile))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("key file mode %v, %v; want 0600", info.Mode().Perm(), err)
		}
		l, err := Load(dir)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if l.Verifier != k.Verifier || string(l.DigestKey()) != string(k.DigestKey()) || l.Name() != "audit.example" {
			t.Fatal("Load returned another key than Init made")
		}
		// The public key verifies what the private key signs.
		v, err := ReadVerifier(filepath.Join(dir, PublicFile))
		if err != nil {
			t.Fatal(err)
		}
		msg, err := note.Sign(&note.Note{Text: "hello\n"}, l.Signer)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := note.Open(msg, note.VerifierList(v)); err != nil {
			t.Fatalf("verifier key does not match signing key: %v", err)
		}
	}
}

func TestInitRefusesOverwrite(t *testing.T) {
	dir := t.TempDir()
	if _, err := Init(dir, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := Init(dir, "a"); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("second Init = %v, want refusal", err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "keys init") {
		t.Errorf("Load of an empty dir = %v, want ErrNoKey with advice", err)
	}
	if _, err := Init(dir, "a"); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, PrivateFile), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("Load of a world-readable key = %v, want refusal", err)
	}
	os.WriteFile(filepath.Join(dir, PrivateFile), []byte("garbage\n"), 0o600)
	if _, err := Load(dir); err == nil {
		t.Error("Load of a garbage key succeeded")
	}
}

func TestLoadOrInit(t *testing.T) {
	dir := t.TempDir()
	k1, created, err := LoadOrInit(dir, "x")
	if err != nil || !created {
		t.Fatalf("LoadOrInit on empty dir = %v, %v", created, err)
	}
	k2, created, err := LoadOrInit(dir, "x")
	if err != nil || created || k2.Verifier != k1.Verifier {
		t.Fatalf("LoadOrInit second time = %v, %v", created, err)
	}
}
