package ledger_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// fixedKey returns "<hash>+<base64 key>" of the note private key with the
// given name and Ed25519 seed, so that fixtures are signed reproducibly.
func fixedKey(name string, seed []byte) string {
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	if err != nil {
		panic(err)
	}
	hash := strings.Split(vkey, "+")[1]
	return hash + "+" + base64.StdEncoding.EncodeToString(append([]byte{1}, seed...))
}
