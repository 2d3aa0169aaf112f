// Package jwtauth signs the service's own JWTs, publishes their key as a
// JWKS, and verifies incoming bearer tokens (own or an external IdP's).
package jwtauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Signer holds the service's ES256 key. Replicas that share the key file
// sign and accept each other's tokens.
type Signer struct {
	key    *ecdsa.PrivateKey
	kid    string
	issuer string
	jwks   []byte
}

// LoadOrCreateKey reads an ES256 private key (PKCS#8 PEM) from path, creating
// it with mode 0600 when it does not exist yet. Creation is atomic: a second
// process starting at the same moment reads the first one's key.
func LoadOrCreateKey(path string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createKey(path); err != nil {
			return nil, err
		}
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("signing key %s: no PEM block", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		if ec, e2 := x509.ParseECPrivateKey(block.Bytes); e2 == nil {
			parsed = ec
		} else {
			return nil, fmt.Errorf("signing key %s: %w", path, err)
		}
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("signing key %s: want an ECDSA P-256 key (ES256)", path)
	}
	return key, nil
}

func createKey(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("signing key dir: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".signing-key-*")
	if err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// Link fails if another process won the race; its key is then used.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("signing key: %w", err)
	}
	return nil
}

// NewSigner builds a signer whose tokens carry iss = issuer.
func NewSigner(key *ecdsa.PrivateKey, issuer string) (*Signer, error) {
	kid := thumbprint(&key.PublicKey)
	jwk, err := jwkset.NewJWKFromKey(&key.PublicKey, jwkset.JWKOptions{
		Metadata: jwkset.JWKMetadataOptions{ALG: jwkset.AlgES256, KID: kid, USE: jwkset.UseSig},
	})
	if err != nil {
		return nil, err
	}
	jwks, err := json.Marshal(map[string]any{"keys": []jwkset.JWKMarshal{jwk.Marshal()}})
	if err != nil {
		return nil, err
	}
	return &Signer{key: key, kid: kid, issuer: issuer, jwks: jwks}, nil
}

// KeyID is the RFC 7638 thumbprint of the public key, used as kid.
func (s *Signer) KeyID() string { return s.kid }

// Issuer is the iss of the tokens this signer makes.
func (s *Signer) Issuer() string { return s.issuer }

// JWKS is the public key set, as served at /.well-known/jwks.json.
func (s *Signer) JWKS() []byte { return s.jwks }

// Sign signs claims, adding iss, iat, exp (now+ttl) and a random jti.
func (s *Signer) Sign(claims jwt.MapClaims, ttl time.Duration) (string, time.Time, error) {
	now := time.Now()
	exp := now.Add(ttl)
	c := jwt.MapClaims{}
	for k, v := range claims {
		c[k] = v
	}
	c["iss"] = s.issuer
	c["iat"] = now.Unix()
	c["exp"] = exp.Unix()
	c["jti"] = uuid.NewString()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, stdBase64Claims{c})
	tok.Header["kid"] = s.kid
	signed, err := tok.SignedString(s.key)
	return signed, exp, err
}

// stdBase64Claims serialise so that the token's payload segment also reads
// as standard base64: the runai Python client finds exp by decoding the
// payload with base64.b64decode, which drops the URL alphabet's '-' and '_'
// and garbles the rest. In base64url those two come only from bytes whose
// low six bits are 111110 or 111111 in the last place of a 3-byte group;
// in JSON text that is '>', '?', '~', DEL or a UTF-8 byte (encoding/json
// already writes '>' as \u003e). Writing the others as \u escapes too, the
// same JSON value, leaves none. Verification is unaffected.
type stdBase64Claims struct{ jwt.MapClaims }

func (c stdBase64Claims) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(c.MapClaims)
	if err != nil {
		return nil, err
	}
	var out strings.Builder
	for _, r := range string(b) {
		switch {
		case r == '?' || r == '~' || (r >= 0x7f && r <= 0xffff):
			fmt.Fprintf(&out, `\u%04x`, r)
		case r > 0xffff: // outside the BMP: a UTF-16 surrogate pair
			r -= 0x10000
			fmt.Fprintf(&out, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		default:
			out.WriteRune(r)
		}
	}
	return []byte(out.String()), nil
}

// thumbprint computes the RFC 7638 JWK thumbprint of a P-256 key.
func thumbprint(pub *ecdsa.PublicKey) string {
	enc := base64.RawURLEncoding
	b, _ := pub.Bytes() // uncompressed point: 0x04 || X || Y
	size := (len(b) - 1) / 2
	x, y := b[1:1+size], b[1+size:]
	canonical := `{"crv":"P-256","kty":"EC","x":"` + enc.EncodeToString(x) + `","y":"` + enc.EncodeToString(y) + `"}`
	sum := sha256.Sum256([]byte(canonical))
	return enc.EncodeToString(sum[:])
}

// SetClaimPath sets a possibly dotted claim name (realm_access.roles) in claims.
func SetClaimPath(claims jwt.MapClaims, path string, value any) {
	parts := strings.Split(path, ".")
	m := map[string]any(claims)
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = value
}
