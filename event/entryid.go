package event

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
)

// EntryID returns the top-level "id" of entry bytes, or "" if there is
// none, without parsing the whole entry: it skips the members that sort
// before "id" and stops there. For every input that ParseEntry accepts it
// returns ParseEntry's ID; it does not validate the rest, and returns an
// error only if the bytes up to the id are not JSON of the canonical shape.
func EntryID(b []byte) (string, error) {
	return topLevelString(b, "id")
}

// EntryDigest returns the decoded top-level "digest" of entry bytes, or
// nil if there is none, scanning as EntryID does. The ledger uses it to
// answer a retried event without parsing the stored entry.
func EntryDigest(b []byte) ([]byte, error) {
	s, err := topLevelString(b, "digest")
	if err != nil || s == "" {
		return nil, err
	}
	d, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("entry: digest: %w", err)
	}
	return d, nil
}

// topLevelString returns the string value of a top-level member of
// canonical entry bytes (keys sorted), or "" if there is none.
func topLevelString(b []byte, name string) (string, error) {
	if len(b) < 2 || b[0] != '{' {
		return "", errors.New("entry is not a JSON object")
	}
	if b[1] == '}' {
		return "", nil
	}
	i := 1
	for {
		if i >= len(b) || b[i] != '"' {
			return "", fmt.Errorf("entry: want a key at offset %d", i)
		}
		end := skipString(b, i)
		if end < 0 || end >= len(b) || b[end] != ':' {
			return "", fmt.Errorf("entry: bad key at offset %d", i)
		}
		key := b[i+1 : end-1]
		i = end + 1
		switch c := bytes.Compare(key, []byte(name)); {
		case c == 0:
			if i >= len(b) || b[i] != '"' {
				return "", fmt.Errorf("entry: %s is not a string", name)
			}
			p := parser{data: b, pos: i}
			return p.string()
		case c > 0:
			return "", nil // keys are sorted: there is no such member
		}
		if i = skipValue(b, i); i < 0 || i >= len(b) {
			return "", errors.New("entry: unexpected end")
		}
		switch b[i] {
		case ',':
			i++
		case '}':
			return "", nil
		default:
			return "", fmt.Errorf("entry: unexpected byte at offset %d", i)
		}
	}
}

// skipString returns the offset after the string starting at b[i], or -1.
func skipString(b []byte, i int) int {
	for i++; ; {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return -1
		}
		j += i
		// The quote ends the string unless an odd number of backslashes
		// escapes it.
		k := j
		for k > i && b[k-1] == '\\' {
			k--
		}
		if (j-k)%2 == 0 {
			return j + 1
		}
		i = j + 1
	}
}

// skipValue returns the offset after the value starting at b[i], or -1.
// It checks nesting but not the grammar of the value.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				if i = skipString(b, i); i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	default:
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' {
			i++
		}
		return i
	}
}

// EntryType returns the top-level "type" of entry bytes, scanning as
// EntryID does. Followers of a log use it to pick out the entries they
// care about (such as configuration changes) without parsing the rest.
func EntryType(b []byte) (string, error) {
	return topLevelString(b, "type")
}
