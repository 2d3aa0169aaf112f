package jwtauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestCacheHonoursExpiry: a cached token is refused once the clock passes
// its exp plus leeway, exactly as an uncached one would be.
func TestCacheHonoursExpiry(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, err := NewSigner(key, "iss")
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(context.Background(), signer, nil, Claims{})
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	v.now = func() time.Time { return clock }
	tok, exp, err := signer.Sign(jwt.MapClaims{"sub": "a"}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		at time.Time
		ok bool
	}{
		{clock, true},
		{clock.Add(time.Second), true},           // served from the cache
		{exp.Add(v.leeway - time.Second), true},  // still inside leeway
		{exp.Add(v.leeway + time.Second), false}, // expired: cache must not serve it
	} {
		clock = c.at
		_, err := v.Verify(context.Background(), tok)
		if (err == nil) != c.ok {
			t.Fatalf("at %v: err %v, want ok=%v", c.at.Sub(exp), err, c.ok)
		}
	}
	// A different (tampered) token never hits another token's entry.
	if _, err := v.Verify(context.Background(), tok+"x"); err == nil {
		t.Fatal("tampered token accepted")
	}
}

func TestCacheBounded(t *testing.T) {
	c := newVerified(3, time.Minute)
	now := time.Now()
	for i := range 10 {
		c.put(string(rune('a'+i)), Principal{User: "u"}, now, now.Add(time.Hour))
		if len(c.entries) > 3 {
			t.Fatalf("%d entries, max 3", len(c.entries))
		}
	}
	if _, ok := c.get("j", now); !ok {
		t.Fatal("latest entry missing")
	}
	if _, ok := c.get("j", now.Add(2*time.Minute)); ok {
		t.Fatal("entry served past ttl")
	}
}
