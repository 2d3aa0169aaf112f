package jwtauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// Principal is who a verified token speaks for.
type Principal struct {
	User  string
	Admin bool
	// ClientID is set on tokens granted to a user application.
	ClientID string
}

// Claims says where identity and roles are found in a token.
type Claims struct {
	User      string // claim holding the user; "sub" is the fallback (default "email")
	Roles     string // claim holding the roles, dotted for nested (default "roles")
	AdminRole string // role that makes an admin (default "admin")
}

func (c Claims) withDefaults() Claims {
	if c.User == "" {
		c.User = "email"
	}
	if c.Roles == "" {
		c.Roles = "roles"
	}
	if c.AdminRole == "" {
		c.AdminRole = "admin"
	}
	return c
}

// External describes a trusted identity provider.
type External struct {
	JWKSURL  string
	Issuer   string // required iss, when set
	Audience string // required aud, when set
	// RefetchEvery bounds how often an unknown kid may trigger a JWKS refetch.
	RefetchEvery time.Duration
}

// Verifier checks bearer tokens: the service's own (by kid) and, when
// configured, those of an external IdP.
type Verifier struct {
	own      *Signer
	external *External
	extKeys  keyfunc.Keyfunc
	claims   Claims
	leeway   time.Duration
	now      func() time.Time
	cache    *verified
}

// Algorithms accepted; never "none" and never HMAC, so a public key can
// never be used as a shared secret.
var Algorithms = []string{"ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "EdDSA"}

// ErrInvalidToken wraps every verification failure.
var ErrInvalidToken = errors.New("invalid token")

// NewVerifier builds a verifier. ctx bounds the external JWKS refresher.
func NewVerifier(ctx context.Context, own *Signer, ext *External, claims Claims) (*Verifier, error) {
	v := &Verifier{own: own, claims: claims.withDefaults(), leeway: 30 * time.Second, now: time.Now,
		cache: newVerified(10000, time.Minute)}
	if ext != nil && ext.JWKSURL != "" {
		every := ext.RefetchEvery
		if every <= 0 {
			every = 30 * time.Second
		}
		noErr := true
		kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{ext.JWKSURL}, keyfunc.Override{
			RefreshInterval:   time.Hour,
			RefreshUnknownKID: rate.NewLimiter(rate.Every(every), 1),
			// Past the limit an unknown kid fails at once instead of queueing
			// requests behind the limiter.
			RateLimitWaitMax:          10 * time.Millisecond,
			HTTPTimeout:               10 * time.Second,
			NoErrorReturnFirstHTTPReq: &noErr, // the IdP may come up after us
		})
		if err != nil {
			return nil, fmt.Errorf("external JWKS %s: %w", ext.JWKSURL, err)
		}
		v.external, v.extKeys = ext, kf
	}
	return v, nil
}

// Verify parses and checks a compact JWT and returns its principal.
func (v *Verifier) Verify(ctx context.Context, raw string) (Principal, error) {
	now := v.now()
	if p, ok := v.cache.get(raw, now); ok {
		return p, nil
	}
	header, err := peekHeader(raw)
	if err != nil {
		return Principal{}, err
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(Algorithms),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(v.leeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
	}
	var keyFunc jwt.Keyfunc
	switch {
	case v.own != nil && header == v.own.kid:
		opts = append(opts, jwt.WithIssuer(v.own.issuer))
		keyFunc = func(t *jwt.Token) (any, error) { return &v.own.key.PublicKey, nil }
	case v.extKeys != nil:
		if v.external.Issuer != "" {
			opts = append(opts, jwt.WithIssuer(v.external.Issuer))
		}
		if v.external.Audience != "" {
			opts = append(opts, jwt.WithAudience(v.external.Audience))
		}
		keyFunc = v.extKeys.KeyfuncCtx(ctx)
	default:
		return Principal{}, fmt.Errorf("%w: unknown signing key", ErrInvalidToken)
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(raw, claims, keyFunc, opts...); err != nil {
		return Principal{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	p, err := v.principal(claims)
	if err != nil {
		return Principal{}, err
	}
	// Never cache past the moment the parser itself would start refusing.
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		v.cache.put(raw, p, now, exp.Add(v.leeway))
	}
	return p, nil
}

func (v *Verifier) principal(claims jwt.MapClaims) (Principal, error) {
	user, _ := claimPath(claims, v.claims.User).(string)
	if user == "" {
		user, _ = claims["sub"].(string)
	}
	if user == "" {
		return Principal{}, fmt.Errorf("%w: no %s or sub claim", ErrInvalidToken, v.claims.User)
	}
	p := Principal{User: user}
	switch roles := claimPath(claims, v.claims.Roles).(type) {
	case []any:
		for _, r := range roles {
			if s, _ := r.(string); s == v.claims.AdminRole {
				p.Admin = true
			}
		}
	case string: // some IdPs send one role, or a space-separated list
		for _, r := range strings.Fields(roles) {
			if r == v.claims.AdminRole {
				p.Admin = true
			}
		}
	}
	p.ClientID, _ = claims["client_id"].(string)
	return p, nil
}

func claimPath(claims jwt.MapClaims, path string) any {
	var cur any = map[string]any(claims)
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

// peekHeader returns the kid of an unverified token, only to choose a key.
func peekHeader(raw string) (string, error) {
	tok, _, err := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{})
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	kid, _ := tok.Header["kid"].(string)
	return kid, nil
}
