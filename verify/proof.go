package verify

import (
	"fmt"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// Inclusion checks that leafHash is the leaf at index in the tree of the
// given size whose root is root, using an RFC 6962 inclusion proof.
func Inclusion(index, size uint64, leafHash [32]byte, hashes [][]byte, root [32]byte) error {
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, size, leafHash[:], hashes, root[:]); err != nil {
		return fmt.Errorf("inclusion of %d in tree of size %d: %w", index, size, err)
	}
	return nil
}

// Consistency checks that the tree of size newSize with root newRoot
// extends the tree of size oldSize with root oldRoot, using an RFC 6962
// consistency proof. This is what detects a rolled-back or forked log.
func Consistency(oldSize, newSize uint64, oldRoot, newRoot [32]byte, hashes [][]byte) error {
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, oldSize, newSize, hashes, oldRoot[:], newRoot[:]); err != nil {
		return fmt.Errorf("consistency of tree size %d with %d: %w", oldSize, newSize, err)
	}
	return nil
}
