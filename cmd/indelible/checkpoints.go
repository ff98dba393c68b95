package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/a24ba333/indelible/verify"
)

// A checkpoint file holds one or more C2SP signed notes, one after the
// other, separated by blank lines. Each note is its text (lines without
// blank ones), a blank line, and signature lines that start with "— "
// (U+2014, space). Since a checkpoint's text never holds a blank line and
// a signature line always starts with the dash, the file splits without
// ambiguity. "indelible append --checkpoint" writes one note;
// "indelible verify --save-trusted" writes one per log.

// sigPrefix starts every signature line of a signed note.
const sigPrefix = "\u2014 "

// splitNotes splits the contents of a checkpoint file into its signed
// notes. Line ends "\r\n" are read as "\n".
func splitNotes(data []byte) ([][]byte, error) {
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	lines := strings.SplitAfter(text, "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}
	var notes [][]byte
	i := 0
	for {
		for i < len(lines) && lines[i] == "\n" {
			i++
		}
		if i == len(lines) {
			break
		}
		start := i + 1 // 1-based line number, for errors
		var b strings.Builder
		for i < len(lines) && lines[i] != "\n" {
			if strings.HasPrefix(lines[i], sigPrefix) {
				return nil, fmt.Errorf("line %d: signature line without a note text before it and a blank line", i+1)
			}
			b.WriteString(lines[i])
			i++
		}
		if i == len(lines) {
			return nil, fmt.Errorf("line %d: note has no signatures (a blank line and \"— name signature\" lines must follow its text)", start)
		}
		b.WriteString("\n")
		i++ // the blank line
		sigs := 0
		for i < len(lines) && strings.HasPrefix(lines[i], sigPrefix) {
			b.WriteString(lines[i])
			i++
			sigs++
		}
		if sigs == 0 {
			return nil, fmt.Errorf("line %d: note has no signatures (lines starting with \"— \" must follow the blank line after its text)", start)
		}
		if i < len(lines) && lines[i] != "\n" {
			return nil, fmt.Errorf("line %d: want a signature line or a blank line after the signatures", i+1)
		}
		notes = append(notes, []byte(b.String()))
	}
	if len(notes) == 0 {
		return nil, errors.New("no signed checkpoint in file")
	}
	return notes, nil
}

// trustedCheckpoints reads the checkpoint files and opens every
// checkpoint in them with the pinned key. It returns them by origin,
// keeping the largest as the first of each origin's list.
func trustedCheckpoints(paths []string, verifiers note.Verifiers, keyName string) (map[string][]verify.SignedCheckpoint, error) {
	out := map[string][]verify.SignedCheckpoint{}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading trusted checkpoints: %w", err)
		}
		notes, err := splitNotes(data)
		if err != nil {
			return nil, usageErrorf("trusted checkpoint file %s: %v", path, err)
		}
		for i, msg := range notes {
			cp, err := verify.OpenCheckpoint(msg, verifiers, "")
			if err != nil {
				return nil, badData(fmt.Errorf("trusted checkpoint %d in %s does not verify under the pinned key %q: "+
					"either the log was re-signed with another key, or the wrong key is pinned (%v)", i+1, path, keyName, err))
			}
			l := out[cp.Origin]
			if len(l) > 0 && cp.Size > l[0].Size {
				l = append([]verify.SignedCheckpoint{cp}, l...)
			} else {
				l = append(l, cp)
			}
			out[cp.Origin] = l
		}
	}
	return out, nil
}

// joinNotes joins signed notes into the contents of a checkpoint file.
func joinNotes(notes [][]byte) []byte {
	return bytes.Join(notes, []byte("\n"))
}
