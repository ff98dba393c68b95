package event

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
)

// PersonalKey is the member name of a personal-value commitment.
const PersonalKey = "$personal"

// SaltSize is the size of a commitment's salt.
const SaltSize = 32

// Commit returns the commitment that replaces a personal value in an
// entry: {"$personal": base64(SHA-256(salt || canonical value))}. The
// value must be one that AppendCanonical accepts.
func Commit(salt []byte, value any) (map[string]any, error) {
	if len(salt) != SaltSize {
		return nil, fmt.Errorf("commitment salt is %d bytes, want %d", len(salt), SaltSize)
	}
	canon, err := AppendCanonical(nil, value)
	if err != nil {
		return nil, fmt.Errorf("personal value: %w", err)
	}
	h := sha256.New()
	h.Write(salt)
	h.Write(canon)
	return map[string]any{PersonalKey: base64.StdEncoding.EncodeToString(h.Sum(nil))}, nil
}

// CheckCommitment reports whether value with salt is what the commitment
// found in an entry commits to.
func CheckCommitment(commitment any, salt []byte, value any) error {
	m, ok := commitment.(map[string]any)
	if !ok || len(m) != 1 {
		return errors.New("not a personal-value commitment")
	}
	got, ok := m[PersonalKey].(string)
	if !ok {
		return errors.New("not a personal-value commitment")
	}
	want, err := Commit(salt, value)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(want[PersonalKey].(string))) != 1 {
		return errors.New("the value does not match the commitment")
	}
	return nil
}
