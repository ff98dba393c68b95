package client

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// NewID returns a new UUIDv7 (RFC 9562 §5.7) in its textual form, such as
// "019a8f3e-7c21-7b3d-9a4e-2f1c0d5e6a7b": 48 bits of Unix time in
// milliseconds, the version 7, 12 random bits, the variant 0b10 and 62
// random bits. IDs made later sort after earlier ones, except within one
// millisecond. It is the id that Append and Send give to events that have
// none.
func NewID() string {
	return newID(time.Now())
}

func newID(now time.Time) string {
	var r [10]byte
	rand.Read(r[:]) // never fails (crypto/rand.Read)
	return uuidV7(now.UnixMilli(), r)
}

// uuidV7 lays out a UUIDv7 from its time and random bits.
func uuidV7(ms int64, r [10]byte) string {
	var u [16]byte
	u[0], u[1], u[2] = byte(ms>>40), byte(ms>>32), byte(ms>>24)
	u[3], u[4], u[5] = byte(ms>>16), byte(ms>>8), byte(ms)
	u[6] = 0x70 | r[0]&0x0f // version 7, rand_a
	u[7] = r[1]
	u[8] = 0x80 | r[2]&0x3f // variant 0b10, rand_b
	copy(u[9:], r[3:])
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}
