package server

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Revocation: a token granted to a user application is refused once the
// application is deleted, on every replica, because the check asks the
// shared database. Answers are cached for a short TTL (RevocationCacheTTL), so a
// delete reaches every replica within that time; the cache is bounded.

const (
	// RevocationCacheTTL bounds how long a replica may still accept a token
	// of a deleted application.
	RevocationCacheTTL = 2 * time.Second
	// revocationCacheSize bounds the memory of the cache (entries).
	revocationCacheSize = 10000
)

// appChecker is what the revocation check needs from the store.
type appChecker interface {
	Exists(ctx context.Context, clientID string) (bool, error)
}

// revocationCheck decorates an Authenticator: tokens that carry a client_id
// pass only while that application exists.
type revocationCheck struct {
	next Authenticator
	apps appChecker
	ttl  time.Duration
	max  int
	now  func() time.Time

	mu    sync.Mutex
	cache map[string]existsEntry
}

type existsEntry struct {
	exists  bool
	expires time.Time
}

func newRevocationCheck(next Authenticator, apps appChecker, ttl time.Duration, max int) *revocationCheck {
	return &revocationCheck{next: next, apps: apps, ttl: ttl, max: max, now: time.Now, cache: map[string]existsEntry{}}
}

// errRevoked is a token of a deleted application.
var errRevoked = errors.New("token revoked: the user application was deleted")

// checkError is a revocation check that could not be made (the database
// failed): the token may be good, so it is no 401 but a 5xx.
type checkError struct{ err error }

func (e *checkError) Error() string { return "revocation check: " + e.err.Error() }
func (e *checkError) Unwrap() error { return e.err }

func (r *revocationCheck) Verify(ctx context.Context, raw string) (Principal, error) {
	p, err := r.next.Verify(ctx, raw)
	if err != nil || p.ClientID == "" {
		return p, err
	}
	exists, err := r.exists(ctx, p.ClientID)
	if err != nil {
		return Principal{}, &checkError{err}
	}
	if !exists {
		return Principal{}, errRevoked
	}
	return p, nil
}

// forget records that an application was deleted here: this replica refuses
// its tokens at once instead of after the cache TTL.
func (r *revocationCheck) forget(clientID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, cached := r.cache[clientID]; cached {
		r.cache[clientID] = existsEntry{exists: false, expires: r.now().Add(r.ttl)}
	}
}

func (r *revocationCheck) exists(ctx context.Context, clientID string) (bool, error) {
	now := r.now()
	r.mu.Lock()
	e, ok := r.cache[clientID]
	r.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.exists, nil
	}
	exists, err := r.apps.Exists(ctx, clientID)
	if err != nil {
		return false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.cache) >= r.max {
		for k, v := range r.cache { // drop what expired; if nothing did, drop anything
			if !now.Before(v.expires) {
				delete(r.cache, k)
			}
		}
		for k := range r.cache {
			if len(r.cache) < r.max {
				break
			}
			delete(r.cache, k)
		}
	}
	r.cache[clientID] = existsEntry{exists: exists, expires: now.Add(r.ttl)}
	return exists, nil
}
