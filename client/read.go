package client

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/a24ba333/indelible/verify"
)

// Checkpoint returns the log's newest checkpoint, after checking its
// signature and origin with the pinned key (ErrBadCheckpoint) and its
// consistency with every checkpoint the client has seen before
// (ErrInconsistent). It fails without a pinned key.
func (c *Client) Checkpoint(ctx context.Context) (*verify.SignedCheckpoint, error) {
	if c.verifier == nil {
		return nil, errors.New("client: no verifier key pinned (WithVerifierKey): a checkpoint cannot be checked")
	}
	log, err := c.logName()
	if err != nil {
		return nil, err
	}
	msg, err := c.do(ctx, request{method: "GET", path: "/v1/logs/" + url.PathEscape(log) + "/checkpoint", accept: "text/plain", limit: maxNoteBody})
	if err != nil {
		return nil, fmt.Errorf("client: fetching the checkpoint of log %q: %w", log, err)
	}
	cp, err := c.openCheckpoint(msg)
	if err != nil {
		return nil, err
	}
	if err := c.accept(ctx, cp, true); err != nil {
		return nil, err
	}
	return cp, nil
}

// proofJSON is the answer of both proof endpoints.
type proofJSON struct {
	Index  *uint64  `json:"index"`
	Size   *uint64  `json:"size"`
	From   *uint64  `json:"from"`
	To     *uint64  `json:"to"`
	Hashes []string `json:"hashes"`
}

// InclusionProof returns the server's RFC 6962 inclusion proof of the
// entry at index in the tree of the given size. It is not checked; check
// it with verify.Inclusion against a verified checkpoint.
func (c *Client) InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error) {
	log, err := c.logName()
	if err != nil {
		return nil, err
	}
	return c.inclusionProof(ctx, log, index, size)
}

func (c *Client) inclusionProof(ctx context.Context, log string, index, size uint64) ([][]byte, error) {
	q := url.Values{"index": {strconv.FormatUint(index, 10)}, "size": {strconv.FormatUint(size, 10)}}
	body, err := c.do(ctx, request{method: "GET", path: "/v1/logs/" + url.PathEscape(log) + "/proof/inclusion", query: q, accept: "application/json", limit: maxJSONBody})
	if err != nil {
		return nil, fmt.Errorf("client: inclusion proof of %d in size %d: %w", index, size, err)
	}
	var p proofJSON
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("client: inclusion proof of %d in size %d: %w", index, size, err)
	}
	if p.Index != nil && *p.Index != index || p.Size != nil && *p.Size != size {
		return nil, fmt.Errorf("client: inclusion proof of %d in size %d: %w: the answer is for another index or size", index, size, ErrBadProof)
	}
	return decodeHashes(p.Hashes)
}

// ConsistencyProof returns the server's RFC 6962 consistency proof from
// the tree of size from to the tree of size to. It is not checked; check
// it with verify.Consistency against verified checkpoints.
func (c *Client) ConsistencyProof(ctx context.Context, from, to uint64) ([][]byte, error) {
	log, err := c.logName()
	if err != nil {
		return nil, err
	}
	return c.consistencyProof(ctx, log, from, to)
}

func (c *Client) consistencyProof(ctx context.Context, log string, from, to uint64) ([][]byte, error) {
	q := url.Values{"from": {strconv.FormatUint(from, 10)}, "to": {strconv.FormatUint(to, 10)}}
	body, err := c.do(ctx, request{method: "GET", path: "/v1/logs/" + url.PathEscape(log) + "/proof/consistency", query: q, accept: "application/json", limit: maxJSONBody})
	if err != nil {
		return nil, fmt.Errorf("client: consistency proof from size %d to %d: %w", from, to, err)
	}
	var p proofJSON
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("client: consistency proof from size %d to %d: %w", from, to, err)
	}
	if p.From != nil && *p.From != from || p.To != nil && *p.To != to {
		return nil, fmt.Errorf("client: consistency proof from size %d to %d: %w: the answer is for other sizes", from, to, ErrBadProof)
	}
	return decodeHashes(p.Hashes)
}

func decodeHashes(in []string) ([][]byte, error) {
	out := make([][]byte, len(in))
	for i, s := range in {
		h, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil || len(h) != verify.HashSize {
			return nil, fmt.Errorf("client: %w: proof hash %d is not a base64 SHA-256 hash", ErrBadProof, i)
		}
		out[i] = h
	}
	return out, nil
}

// Tile returns the hash tile at (level, index) of width hashes, from
// 1 to 256 (C2SP tlog-tiles; a width below 256 asks for the partial tile
// ".p/<width>"). The hashes are not checked: they are what the server
// stores.
func (c *Client) Tile(ctx context.Context, level uint8, index uint64, width int) ([]byte, error) {
	log, err := c.logName()
	if err != nil {
		return nil, err
	}
	path, err := TilePath(strconv.Itoa(int(level)), index, width)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	data, err := c.do(ctx, request{method: "GET", path: "/v1/logs/" + url.PathEscape(log) + "/" + path, limit: verify.TileWidth * verify.HashSize})
	if err != nil {
		return nil, fmt.Errorf("client: tile %d/%d: %w", level, index, err)
	}
	if len(data) != width*verify.HashSize {
		return nil, fmt.Errorf("client: tile %d/%d is %d bytes, want %d hashes of %d bytes", level, index, len(data), width, verify.HashSize)
	}
	return data, nil
}

// EntryBundle returns the entries of the entry bundle index, which holds
// entries 256·index to 256·index+width-1; width is from 1 to 256, as for
// Tile. Reading entries needs a reader API key.
func (c *Client) EntryBundle(ctx context.Context, index uint64, width int) ([][]byte, error) {
	log, err := c.logName()
	if err != nil {
		return nil, err
	}
	path, err := TilePath("entries", index, width)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	data, err := c.do(ctx, request{method: "GET", path: "/v1/logs/" + url.PathEscape(log) + "/" + path, limit: maxBundleBody})
	if err != nil {
		return nil, fmt.Errorf("client: entry bundle %d: %w", index, err)
	}
	entries, err := ParseEntryBundle(data)
	if err != nil {
		return nil, fmt.Errorf("client: entry bundle %d: %w", index, err)
	}
	if len(entries) != width {
		return nil, fmt.Errorf("client: entry bundle %d holds %d entries, want %d", index, len(entries), width)
	}
	return entries, nil
}

// TilePath returns the C2SP tlog-tiles path of a tile: "tile/<kind>/<N>"
// or, for width below 256, "tile/<kind>/<N>.p/<width>". kind is a level
// number or "entries"; N is index written in groups of three digits,
// every group but the last prefixed by "x" (1234067 is "x001/x234/067").
func TilePath(kind string, index uint64, width int) (string, error) {
	if width < 1 || width > verify.TileWidth {
		return "", fmt.Errorf("tile width %d, want 1 to %d", width, verify.TileWidth)
	}
	n := fmt.Sprintf("%03d", index%1000)
	for index >= 1000 {
		index /= 1000
		n = fmt.Sprintf("x%03d/%s", index%1000, n)
	}
	p := "tile/" + kind + "/" + n
	if width < verify.TileWidth {
		p += ".p/" + strconv.Itoa(width)
	}
	return p, nil
}

// ParseEntryBundle splits a C2SP tlog-tiles entry bundle: a sequence of
// entries, each preceded by its length as a 2-byte big-endian number.
func ParseEntryBundle(data []byte) ([][]byte, error) {
	var entries [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			return nil, fmt.Errorf("truncated length after entry %d", len(entries))
		}
		n := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+n {
			return nil, fmt.Errorf("entry %d is truncated: %d bytes of %d", len(entries), len(data)-2, n)
		}
		entries = append(entries, data[2:2+n:2+n])
		data = data[2+n:]
		if len(entries) > verify.TileWidth {
			return nil, fmt.Errorf("more than %d entries", verify.TileWidth)
		}
	}
	return entries, nil
}
