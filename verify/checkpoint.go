package verify

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Checkpoint is the parsed body of a C2SP tlog-checkpoint.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   [32]byte
	// Extensions are the optional extension lines after the root hash,
	// without their trailing newlines.
	Extensions []string
}

// Text returns the checkpoint's note text (the signed body).
func (c Checkpoint) Text() []byte {
	var b bytes.Buffer
	b.WriteString(c.Origin)
	b.WriteByte('\n')
	b.WriteString(strconv.FormatUint(c.Size, 10))
	b.WriteByte('\n')
	b.WriteString(base64.StdEncoding.EncodeToString(c.Root[:]))
	b.WriteByte('\n')
	for _, e := range c.Extensions {
		b.WriteString(e)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// ParseCheckpoint parses a checkpoint body (the text of the note, without
// signatures) strictly as C2SP tlog-checkpoint specifies: a non-empty
// origin line, a decimal size without leading zeros, a standard base64
// 32-byte root hash, then optional non-empty extension lines.
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	var c Checkpoint
	s := string(text)
	if !strings.HasSuffix(s, "\n") {
		return c, errors.New("checkpoint: text does not end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) < 3 {
		return c, fmt.Errorf("checkpoint: %d lines, want at least 3", len(lines))
	}
	if lines[0] == "" {
		return c, errors.New("checkpoint: empty origin line")
	}
	c.Origin = lines[0]
	sz := lines[1]
	if sz == "" || (len(sz) > 1 && sz[0] == '0') || strings.TrimLeft(sz, "0123456789") != "" {
		return c, fmt.Errorf("checkpoint: malformed tree size %q", sz)
	}
	n, err := strconv.ParseUint(sz, 10, 64)
	if err != nil {
		return c, fmt.Errorf("checkpoint: tree size %q: %w", sz, err)
	}
	c.Size = n
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != len(c.Root) {
		return c, fmt.Errorf("checkpoint: malformed root hash %q", lines[2])
	}
	copy(c.Root[:], root)
	for _, e := range lines[3:] {
		if e == "" {
			return c, errors.New("checkpoint: empty extension line")
		}
		c.Extensions = append(c.Extensions, e)
	}
	return c, nil
}

// SignedCheckpoint is a checkpoint whose signature has been verified.
type SignedCheckpoint struct {
	Checkpoint
	// Note is the whole signed note, as received.
	Note []byte
}

// OpenCheckpoint verifies the signed note msg with the known verifiers,
// parses its checkpoint and checks that its origin is origin (if origin is
// not empty). It fails unless at least one signature by a known key
// verifies; signatures by unknown keys are ignored, as C2SP signed-note
// allows (witness cosignatures, for example).
func OpenCheckpoint(msg []byte, known note.Verifiers, origin string) (SignedCheckpoint, error) {
	n, err := note.Open(msg, known)
	if err != nil {
		return SignedCheckpoint{}, fmt.Errorf("checkpoint signature: %w", err)
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return SignedCheckpoint{}, err
	}
	if origin != "" && c.Origin != origin {
		return SignedCheckpoint{}, fmt.Errorf("checkpoint origin %q, want %q", c.Origin, origin)
	}
	return SignedCheckpoint{Checkpoint: c, Note: msg}, nil
}

// Origin returns the checkpoint origin of a log of an Indelible instance
// whose signing key is named instance.
func Origin(instance, log string) string { return instance + "/" + log }
