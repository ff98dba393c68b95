// Package verify checks an Indelible log from its bytes alone: signed
// checkpoints, inclusion and consistency proofs, and whole logs rebuilt
// entry by entry and compared with their stored tiles and checkpoints.
//
// It has no dependency on the server or the store, so an auditor, a
// witness or any client can use it on data fetched from anywhere.
//
// # Formats
//
// A checkpoint is a C2SP tlog-checkpoint: the note text
//
//	<origin>\n<tree size in decimal>\n<base64 root hash>\n
//
// signed as a C2SP signed note with Ed25519. Indelible's origin is
// "<instance name>/<log>" and the instance name is also the key name.
//
// Hashes are RFC 6962: a leaf hash is SHA-256(0x00 || entry bytes) and an
// interior node is SHA-256(0x01 || left || right). Tiles follow C2SP
// tlog-tiles with height 8: tile level L, index N holds up to 256 hashes of
// tree level 8L, numbers 256N .. 256N+255; the rightmost tile of a level may
// be partial. A partial tile is a prefix of the full tile it grows into.
package verify
