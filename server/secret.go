package server

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// secretBytes is 256 bits of entropy; at that size a single SHA-256 is
// enough: no dictionary or brute force reaches the preimage, and checking a
// login costs microseconds, not a KDF's tens of milliseconds.
const secretBytes = 32

// newSecret returns a fresh secret and the hash that is all we store.
func newSecret() (secret string, hash []byte, err error) {
	var b [secretBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, err
	}
	secret = base64.RawURLEncoding.EncodeToString(b[:])
	return secret, hashSecret(secret), nil
}

func hashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// secretMatches compares in constant time.
func secretMatches(secret string, hash []byte) bool {
	return subtle.ConstantTimeCompare(hashSecret(secret), hash) == 1
}
