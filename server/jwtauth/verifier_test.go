package jwtauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/runai-compat/userapps/server/jwtauth"
)

func newSigner(t *testing.T, issuer string) *jwtauth.Signer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwtauth.NewSigner(key, issuer)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Claims.For writes what Verify reads back, whatever the claim settings.
func TestClaimsForRoundTrip(t *testing.T) {
	own := newSigner(t, "userapps")
	for _, c := range []jwtauth.Claims{
		{},
		{User: "preferred_username", Roles: "realm_access.roles", AdminRole: "runai-admin"},
		{User: "sub"},
	} {
		v, err := jwtauth.NewVerifier(context.Background(), own, nil, c)
		if err != nil {
			t.Fatal(err)
		}
		for _, admin := range []bool{false, true} {
			tok, _, err := own.Sign(c.For("alice@example.com", admin), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			p, err := v.Verify(context.Background(), tok)
			if err != nil || p.User != "alice@example.com" || p.Admin != admin {
				t.Errorf("%+v admin=%v: got %+v, %v", c, admin, p, err)
			}
		}
	}
}

// Only the service's own tokens name one of its user applications; an
// external IdP's client_id is that IdP's client and must not be checked
// (and revoked) against this service's applications.
func TestClientIDOnlyFromOwnTokens(t *testing.T) {
	own, idp := newSigner(t, "userapps"), newSigner(t, "https://idp.example.com")
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(idp.JWKS())
	}))
	t.Cleanup(jwks.Close)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	v, err := jwtauth.NewVerifier(ctx, own, &jwtauth.External{JWKSURL: jwks.URL, Issuer: "https://idp.example.com"}, jwtauth.Claims{})
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{"sub": "alice@example.com", "client_id": "c-1"}
	for _, c := range []struct {
		name   string
		signer *jwtauth.Signer
		want   string
	}{{"own", own, "c-1"}, {"external", idp, ""}} {
		tok, _, err := c.signer.Sign(claims, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		p, err := v.Verify(ctx, tok)
		if err != nil || p.User != "alice@example.com" || p.ClientID != c.want {
			t.Errorf("%s token: got %+v, %v; want ClientID %q", c.name, p, err, c.want)
		}
	}
}

// Signed payloads read as standard base64 too (for the runai Python
// client), whatever the claims hold, and verify to the same values.
func TestSignedPayloadIsStandardBase64(t *testing.T) {
	own := newSigner(t, "userapps")
	v, err := jwtauth.NewVerifier(context.Background(), own, nil, jwtauth.Claims{})
	if err != nil {
		t.Fatal(err)
	}
	var printable strings.Builder
	for c := ' '; c <= '~'; c++ {
		printable.WriteRune(c)
	}
	for _, user := range []string{
		"alice@example.com", "jos\u00e9~?>@ex\u00e4mple.com", "\U0001F600+\x7f@example.com", printable.String(),
	} {
		// Every alignment of the interesting bytes in the base64 groups.
		for pad := range 3 {
			u := strings.Repeat("x", pad) + user
			tok, _, err := own.Sign(jwtauth.Claims{}.For(u, false), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			payload := strings.Split(tok, ".")[1]
			if strings.ContainsAny(payload, "-_") {
				t.Errorf("%q: payload %s has '-' or '_'", u, payload)
			}
			if p, err := v.Verify(context.Background(), tok); err != nil || p.User != u {
				t.Errorf("%q: verified as %q, %v", u, p.User, err)
			}
		}
	}
}
