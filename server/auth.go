package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/runai-compat/userapps/server/jwtauth"
)

// Principal is the authenticated caller.
type Principal = jwtauth.Principal

// Authenticator verifies a raw bearer token.
type Authenticator interface {
	Verify(ctx context.Context, raw string) (Principal, error)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller that the auth step put on ctx.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

var errUnauthenticated = newAPIError(http.StatusUnauthorized, "missing or invalid bearer token", "")

// bearerToken extracts the token of an "Authorization: Bearer x" header.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// requireAdmin guards the administration operations.
func requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, ok := PrincipalFrom(c.Request().Context())
		if !ok {
			return errUnauthenticated
		}
		if !p.Admin {
			return newAPIError(http.StatusForbidden, "administrator role required", "")
		}
		return next(c)
	}
}
