package server

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

type fakeAuth struct{ p Principal }

func (f fakeAuth) Verify(context.Context, string) (Principal, error) { return f.p, nil }

type fakeApps struct {
	mu     sync.Mutex
	exists map[string]bool
	err    error
	calls  int
}

func (f *fakeApps) Exists(_ context.Context, id string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.exists[id], f.err
}

func TestRevocationCheck(t *testing.T) {
	ctx := context.Background()
	apps := &fakeApps{exists: map[string]bool{"app": true}}
	clock := time.Unix(1000, 0)
	check := func(p Principal) *revocationCheck {
		r := newRevocationCheck(fakeAuth{p}, apps, 2*time.Second, 100)
		r.now = func() time.Time { return clock }
		return r
	}

	// A user's own token (no client_id) is never looked up.
	if _, err := check(Principal{User: "u"}).Verify(ctx, "t"); err != nil || apps.calls != 0 {
		t.Fatalf("user token: err %v, %d lookups", err, apps.calls)
	}

	r := check(Principal{User: "u", ClientID: "app"})
	for range 3 {
		if _, err := r.Verify(ctx, "t"); err != nil {
			t.Fatal(err)
		}
	}
	if apps.calls != 1 {
		t.Fatalf("%d lookups within the TTL, want 1", apps.calls)
	}
	delete(apps.exists, "app") // deleted, possibly on another replica
	clock = clock.Add(1999 * time.Millisecond)
	if _, err := r.Verify(ctx, "t"); err != nil {
		t.Fatalf("within the TTL the cached answer stands: %v", err)
	}
	clock = clock.Add(time.Millisecond)
	if _, err := r.Verify(ctx, "t"); !errors.Is(err, errRevoked) {
		t.Fatalf("after the TTL: %v, want revoked", err)
	}

	// A failed lookup is no verdict on the token.
	apps.err = errors.New("db down")
	r = check(Principal{User: "u", ClientID: "other"})
	var ce *checkError
	if _, err := r.Verify(ctx, "t"); !errors.As(err, &ce) || !errors.Is(err, apps.err) {
		t.Fatalf("lookup failure: %v, want a checkError wrapping it", err)
	}
}

func TestRevocationCacheIsBounded(t *testing.T) {
	apps := &fakeApps{exists: map[string]bool{}}
	r := newRevocationCheck(nil, apps, time.Hour, 3)
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		if _, err := r.exists(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		if n := len(r.cache); n > 3 {
			t.Fatalf("cache holds %d entries, bound is 3", n)
		}
	}
	if _, ok := r.cache["e"]; !ok {
		t.Fatal("the newest entry was not kept")
	}
}

func TestParseBasic(t *testing.T) {
	for _, c := range []struct {
		in, id, secret string
		ok             bool
	}{
		{"Y2xpZW50OnNlY3JldA==", "client", "secret", true},
		// RFC 6749 2.3.1: id and secret are form-urlencoded before base64.
		{"YSUzQWIrYzpzJTNBJTJCJTI1", "a:b c", "s:+%", true},
		{"Y2xpZW50Og==", "client", "", true}, // empty secret: refused later, as bad credentials
		{"not base64!", "", "", false},
		{"Y2xpZW50", "", "", false},     // no colon
		{"OnNlY3JldA==", "", "", false}, // empty id
		{"YSUlOmI=", "", "", false},     // bad escape in the id
	} {
		got, ok := parseBasic(c.in)
		if ok != c.ok || got.id != c.id || got.secret != c.secret {
			t.Errorf("parseBasic(%q) = %+v %v, want %q %q %v", c.in, got, ok, c.id, c.secret, c.ok)
		}
	}
}
