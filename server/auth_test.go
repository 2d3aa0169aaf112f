package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/runai-compat/userapps/server/jwtauth"
	"github.com/runai-compat/userapps/server/servertest"
	"github.com/runai-compat/userapps/store/dbtest"
)

// fakeIdP serves a JWKS that tests can rotate, and counts fetches.
type fakeIdP struct {
	mu      sync.Mutex
	keys    map[string]any // kid -> private key
	public  []string       // kids published
	fetches atomic.Int32
	srv     *httptest.Server
}

func newFakeIdP(t *testing.T) *fakeIdP {
	idp := &fakeIdP{keys: map[string]any{}}
	idp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		idp.fetches.Add(1)
		idp.mu.Lock()
		defer idp.mu.Unlock()
		var keys []jwkset.JWKMarshal
		for _, kid := range idp.public {
			var pub any
			alg := jwkset.AlgRS256
			switch k := idp.keys[kid].(type) {
			case *rsa.PrivateKey:
				pub = &k.PublicKey
			case *ecdsa.PrivateKey:
				pub, alg = &k.PublicKey, jwkset.AlgES256
			}
			jwk, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid, ALG: alg, USE: jwkset.UseSig}})
			if err != nil {
				t.Error(err)
				return
			}
			keys = append(keys, jwk.Marshal())
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	}))
	t.Cleanup(idp.srv.Close)
	return idp
}

func (idp *fakeIdP) addKey(t *testing.T, kid string, ec, publish bool) {
	t.Helper()
	var key any
	var err error
	if ec {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		t.Fatal(err)
	}
	idp.mu.Lock()
	defer idp.mu.Unlock()
	idp.keys[kid] = key
	if publish {
		idp.public = append(idp.public, kid)
	}
}

func (idp *fakeIdP) publish(kid string) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	idp.public = append(idp.public, kid)
}

func (idp *fakeIdP) sign(t *testing.T, kid string, claims jwt.MapClaims) string {
	t.Helper()
	idp.mu.Lock()
	key := idp.keys[kid]
	idp.mu.Unlock()
	method := jwt.SigningMethod(jwt.SigningMethodRS256)
	if _, ok := key.(*ecdsa.PrivateKey); ok {
		method = jwt.SigningMethodES256
	}
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const (
	extIssuer   = "https://idp.example.com/realms/runai"
	extAudience = "runai"
)

func extClaims(over jwt.MapClaims) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{"iss": extIssuer, "aud": extAudience, "sub": "u-123", "email": "carol@example.com",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// ownToken signs claims with the stack's key without Signer.Sign's defaults,
// so a test can build any broken token.
func ownToken(t *testing.T, s *servertest.Stack, key *ecdsa.PrivateKey, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	tok.Header["kid"] = s.Signer.KeyID()
	out, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func b64(v any) string {
	j, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(j)
}

func TestTokens(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		idp := newFakeIdP(t)
		idp.addKey(t, "rsa-1", false, true)
		idp.addKey(t, "ec-1", true, true)
		idp.addKey(t, "rotated", false, false) // published later
		idp.addKey(t, "never", false, false)   // never published

		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		signer, err := jwtauth.NewSigner(key, servertest.Issuer)
		if err != nil {
			t.Fatal(err)
		}
		st := dbtest.OpenStore(t, e)
		s := servertest.NewWith(t, st, signer, servertest.Options{
			External: &jwtauth.External{JWKSURL: idp.srv.URL, Issuer: extIssuer, Audience: extAudience, RefetchEvery: time.Hour},
			Claims:   jwtauth.Claims{Roles: "realm_access.roles"},
		})
		now := time.Now()
		own := func(over jwt.MapClaims) string {
			c := jwt.MapClaims{"iss": servertest.Issuer, "sub": alice, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
			for k, v := range over {
				if v == nil {
					delete(c, k)
				} else {
					c[k] = v
				}
			}
			return ownToken(t, s, key, c)
		}
		valid := own(nil)
		parts := strings.Split(valid, ".")
		otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

		cases := []struct {
			name   string
			header string // full Authorization header
			status int
		}{
			{"own valid", "Bearer " + valid, 200},
			{"scheme is case-insensitive", "bearer " + valid, 200},
			{"expired", "Bearer " + own(jwt.MapClaims{"exp": now.Add(-2 * time.Minute).Unix()}), 401},
			{"expired within leeway", "Bearer " + own(jwt.MapClaims{"exp": now.Add(-5 * time.Second).Unix()}), 200},
			{"no exp", "Bearer " + own(jwt.MapClaims{"exp": nil}), 401},
			{"nbf in the future", "Bearer " + own(jwt.MapClaims{"nbf": now.Add(5 * time.Minute).Unix()}), 401},
			{"iat in the future", "Bearer " + own(jwt.MapClaims{"iat": now.Add(5 * time.Minute).Unix()}), 401},
			{"wrong issuer", "Bearer " + own(jwt.MapClaims{"iss": "someone-else"}), 401},
			{"no issuer", "Bearer " + own(jwt.MapClaims{"iss": nil}), 401},
			{"no subject", "Bearer " + own(jwt.MapClaims{"sub": nil}), 401},
			{"alg none", "Bearer " + b64(map[string]any{"alg": "none", "typ": "JWT", "kid": s.Signer.KeyID()}) + "." + parts[1] + ".", 401},
			{"tampered payload", "Bearer " + parts[0] + "." + b64(map[string]any{"iss": servertest.Issuer, "sub": root, "roles": []string{"admin"}, "exp": now.Add(time.Hour).Unix()}) + "." + parts[2], 401},
			{"tampered signature", "Bearer " + parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])), 401},
			{"signed by another key", "Bearer " + ownToken(t, s, otherKey, jwt.MapClaims{"iss": servertest.Issuer, "sub": alice, "exp": now.Add(time.Hour).Unix()}), 401},
			{"HS256 with the public key as secret", "Bearer " + hs256WithPublicKey(t, s, key), 401},
			{"empty bearer", "Bearer ", 401},
			{"two parts", "Bearer a.b", 401},
			{"external RS256", "Bearer " + idp.sign(t, "rsa-1", extClaims(nil)), 200},
			{"external ES256", "Bearer " + idp.sign(t, "ec-1", extClaims(nil)), 200},
			{"external audience in a list", "Bearer " + idp.sign(t, "rsa-1", extClaims(jwt.MapClaims{"aud": []string{"account", extAudience}})), 200},
			{"external wrong audience", "Bearer " + idp.sign(t, "rsa-1", extClaims(jwt.MapClaims{"aud": "other"})), 401},
			{"external no audience", "Bearer " + idp.sign(t, "rsa-1", extClaims(jwt.MapClaims{"aud": nil})), 401},
			{"external wrong issuer", "Bearer " + idp.sign(t, "rsa-1", extClaims(jwt.MapClaims{"iss": "https://evil.example.com"})), 401},
			{"external expired", "Bearer " + idp.sign(t, "rsa-1", extClaims(jwt.MapClaims{"exp": now.Add(-time.Hour).Unix()})), 401},
			{"external unpublished key", "Bearer " + idp.sign(t, "never", extClaims(nil)), 401},
			{"external token with our issuer but IdP key", "Bearer " + idp.sign(t, "rsa-1", extClaims(jwt.MapClaims{"iss": servertest.Issuer})), 401},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := s.Do(t, servertest.Request{Method: "GET", Path: "/api/v1/user-applications", Header: http.Header{"Authorization": {c.header}}})
				if r.Status != c.status {
					t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
				}
			})
		}
	})
}

// hs256WithPublicKey is the classic algorithm-confusion attack.
func hs256WithPublicKey(t *testing.T, s *servertest.Stack, key *ecdsa.PrivateKey) string {
	t.Helper()
	pub, err := key.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": servertest.Issuer, "sub": alice, "exp": time.Now().Add(time.Hour).Unix()})
	tok.Header["kid"] = s.Signer.KeyID()
	out, err := tok.SignedString(pub)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestExternalIdentity: identity from email else sub, admin from a dotted
// roles claim, key rotation picked up on an unknown kid, refetches bounded.
func TestExternalIdentity(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		idp := newFakeIdP(t)
		idp.addKey(t, "k1", false, true)
		idp.addKey(t, "k2", true, false)
		s := servertest.New(t, e, servertest.Options{
			External: &jwtauth.External{JWKSURL: idp.srv.URL, Issuer: extIssuer, RefetchEvery: 300 * time.Millisecond},
			Claims:   jwtauth.Claims{Roles: "realm_access.roles"},
		})
		withEmail := idp.sign(t, "k1", extClaims(nil))
		subOnly := idp.sign(t, "k1", extClaims(jwt.MapClaims{"email": nil, "sub": "service-account-7"}))
		admin := idp.sign(t, "k1", extClaims(jwt.MapClaims{"email": "root@example.com", "realm_access": map[string]any{"roles": []string{"offline_access", "admin"}}}))
		flatRoles := idp.sign(t, "k1", extClaims(jwt.MapClaims{"email": "flat@example.com", "roles": []string{"admin"}}))

		create(t, s, withEmail, "carols")
		create(t, s, subOnly, "service")
		all := adminList(t, s, admin, "")
		owners := map[string]bool{}
		for _, a := range all {
			owners[a.CreatedBy] = true
		}
		if !owners["carol@example.com"] || !owners["service-account-7"] || len(all) != 2 {
			t.Fatalf("owners %v", owners)
		}
		// roles at the top level do not count when the claim is realm_access.roles.
		if r := s.Do(t, servertest.Request{Method: "GET", Path: "/api/v1/administration/user-applications", Token: flatRoles}); r.Status != 403 {
			t.Fatalf("flat roles: %d", r.Status)
		}

		// Rotation: a token with a kid the IdP publishes only now is accepted
		// after the rate-limited refetch.
		rotated := idp.sign(t, "k2", extClaims(nil))
		idp.publish("k2")
		deadline := time.Now().Add(5 * time.Second)
		for {
			r := s.Do(t, servertest.Request{Method: "GET", Path: "/api/v1/user-applications", Token: rotated})
			if r.Status == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("rotated key never accepted: %d", r.Status)
			}
			time.Sleep(100 * time.Millisecond)
		}
		// A flood of unknown kids does not turn into a flood of fetches.
		before := idp.fetches.Load()
		for range 30 {
			bogus := jwt.NewWithClaims(jwt.SigningMethodRS256, extClaims(nil))
			bogus.Header["kid"] = "unknown-" + time.Now().Format(time.RFC3339Nano)
			tok, _ := bogus.SignedString(idp.keys["k1"])
			if r := s.Do(t, servertest.Request{Method: "GET", Path: "/api/v1/user-applications", Token: tok}); r.Status != 401 {
				t.Fatalf("unknown kid: %d", r.Status)
			}
		}
		if extra := idp.fetches.Load() - before; extra > 3 {
			t.Fatalf("%d JWKS fetches for 30 unknown kids; refetch is not rate-limited", extra)
		}
	})
}
