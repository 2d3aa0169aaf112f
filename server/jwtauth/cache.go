package jwtauth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// verified remembers tokens that passed verification, so a client that
// reuses its token does not pay for a signature check on every request
// (an ES256 verify is most of an authenticated request's CPU). Entries live
// at most ttl and never past the token's own expiry; the map is bounded.
// Revocation of application tokens is checked outside this cache.
type verified struct {
	mu      sync.Mutex
	entries map[[32]byte]verifiedEntry
	max     int
	ttl     time.Duration
}

type verifiedEntry struct {
	p     Principal
	until time.Time
}

func newVerified(max int, ttl time.Duration) *verified {
	return &verified{entries: make(map[[32]byte]verifiedEntry), max: max, ttl: ttl}
}

func (c *verified) get(raw string, now time.Time) (Principal, bool) {
	key := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return Principal{}, false
	}
	if !now.Before(e.until) {
		delete(c.entries, key)
		return Principal{}, false
	}
	return e.p, true
}

func (c *verified) put(raw string, p Principal, now, expires time.Time) {
	until := now.Add(c.ttl)
	if expires.Before(until) {
		until = expires
	}
	if !now.Before(until) {
		return
	}
	key := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Drop what has expired; if that frees nothing, start over. Both are
		// rare and bounded by max, and a miss only costs a verification.
		for k, e := range c.entries {
			if !now.Before(e.until) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries)
		}
	}
	c.entries[key] = verifiedEntry{p: p, until: until}
}
