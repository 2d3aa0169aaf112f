// Package server is the HTTP face of userapps: request validation against
// the merged spec, bearer auth, the generated strict handlers, and one error
// mapping to the spec's Error JSON.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/runai-compat/userapps/gen"
	"github.com/runai-compat/userapps/server/jwtauth"
)

// Config is everything New needs; cmd/ fills it from flags and environment.
type Config struct {
	Store  Storer
	Auth   Authenticator
	Signer *jwtauth.Signer // signs granted tokens; publishes /.well-known/jwks.json
	Logger *slog.Logger
	// Claims says where granted tokens carry the user and roles; the same
	// setting the verifier reads them back with.
	Claims jwtauth.Claims
	// TokenTTL is the lifetime of granted tokens (default 1h).
	TokenTTL time.Duration
	// PublicURL is the absolute base URL the discovery document names; empty
	// means derive it from each request (scheme + Host).
	PublicURL string
	// MaxAppsPerUser bounds each user's applications; 0 means no limit.
	MaxAppsPerUser int
	// BodyLimit caps request bodies in bytes (default 64 KiB).
	BodyLimit int64
	// RequestTimeout bounds one request, database included (default 10 s);
	// past it the request is 503 rather than a hang.
	RequestTimeout time.Duration
}

// Paths served beside the spec's operations, unauthenticated.
const (
	PathHealthz = "/healthz"
	PathReadyz  = "/readyz"
	PathJWKS    = "/.well-known/jwks.json"
	// PathOpenIDConfig is the discovery document (OpenID Connect Discovery /
	// RFC 8414 fields) that lets OAuth2 clients find the token endpoint.
	PathOpenIDConfig = "/.well-known/openid-configuration"
)

// The spec's token operations (no bearer token; see tokens.go).
const (
	PathTokenV1 = "/api/v1/token"
	PathTokenV2 = "/api/v2/token"
)

// tokenPath reports a token route: its requests carry secrets, so its
// errors never echo request values, and its answers are never cached.
func tokenPath(p string) bool { return p == PathTokenV1 || p == PathTokenV2 }

// New builds the whole HTTP stack. cmd/userapps and the tests both call it.
func New(cfg Config) (*echo.Echo, error) {
	if cfg.Store == nil || cfg.Auth == nil || cfg.Signer == nil {
		return nil, errors.New("server: Store, Auth and Signer are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = 64 << 10
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = time.Hour
	}
	spec, err := gen.GetSpec()
	if err != nil {
		return nil, err
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(cfg.Logger)
	e.Use(middleware.Recover())
	e.Use(noStoreTokens) // before the body limit, so its 413 is marked too
	e.Use(middleware.BodyLimit(strconv.FormatInt(cfg.BodyLimit, 10) + "B"))
	e.Use(requestDeadline(cfg.RequestTimeout))

	skip := map[string]bool{
		PathHealthz: true, PathReadyz: true, PathJWKS: true, PathOpenIDConfig: true,
		PathOpenAPIJSON: true, PathOpenAPIYAML: true,
	}
	auth := newRevocationCheck(cfg.Auth, cfg.Store, RevocationCacheTTL, revocationCacheSize)
	validate, err := validator(spec, auth, skip)
	if err != nil {
		return nil, err
	}
	e.Use(validate)

	e.GET(PathHealthz, func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.GET(PathReadyz, func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := cfg.Store.Ping(ctx); err != nil {
			cfg.Logger.Warn("not ready", "err", err)
			return newAPIError(http.StatusServiceUnavailable, "database unreachable", "")
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	})
	jwks := cfg.Signer.JWKS()
	e.GET(PathJWKS, func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=300")
		return c.Blob(http.StatusOK, "application/jwk-set+json", jwks)
	})
	e.GET(PathOpenIDConfig, func(c echo.Context) error {
		if cfg.PublicURL == "" {
			// Built from this request's Host: no shared cache may serve it to
			// another client (set --public-url in production).
			setNoStore(c.Response().Header())
		}
		return c.JSON(http.StatusOK, discovery(baseURL(cfg.PublicURL, c), cfg.Signer.Issuer()))
	})

	if err := registerSpec(e); err != nil {
		return nil, err
	}

	h := &Handlers{
		store: cfg.Store, maxAppsPerUser: cfg.MaxAppsPerUser,
		signer: cfg.Signer, claims: cfg.Claims, tokenTTL: cfg.TokenTTL, log: cfg.Logger,
		revoked: auth.forget,
	}
	gen.RegisterHandlersWithOptions(e, gen.NewStrictHandler(h, nil), gen.RegisterHandlersOptions{
		OperationMiddlewares: map[string][]echo.MiddlewareFunc{
			"grant_token_v2":                               {oauth2Request},
			"get_user_applications_administration":         {requireAdmin},
			"delete_user_application_by_id_administration": {requireAdmin},
			// The two answers that carry a secret must not be cached anywhere.
			"create_user_application":            {noStore},
			"regenerate_user_application_secret": {noStore},
		},
	})
	return e, nil
}

// requestDeadline gives every request a deadline shorter than the server's
// write timeout, so a stalled database yields a 503, never a silent hang.
func requestDeadline(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx, cancel := context.WithTimeout(c.Request().Context(), d)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			err := next(c)
			// Drivers report a deadline in their own words (pgx: "conn
			// closed"); whatever failed once the deadline passed is a 503.
			if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return newAPIError(http.StatusServiceUnavailable, "the database did not answer in time, try again shortly", "")
			}
			return err
		}
	}
}

// noStore marks an operation's answers uncacheable (they carry a secret).
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		setNoStore(c.Response().Header())
		return next(c)
	}
}

func setNoStore(h http.Header) {
	h.Set(echo.HeaderCacheControl, "no-store")
	h.Set("Pragma", "no-cache")
}

// noStoreTokens marks every answer of the token routes, errors included,
// as uncacheable (RFC 6749 section 5.1).
func noStoreTokens(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if tokenPath(c.Request().URL.Path) {
			setNoStore(c.Response().Header())
		}
		return next(c)
	}
}

// providerMetadata is the discovery document: enough for an OAuth2 client
// library to find the token endpoint, how to authenticate, and the keys.
type providerMetadata struct {
	Issuer                            string   `json:"issuer"`
	JWKSURI                           string   `json:"jwks_uri"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
}

func discovery(base, issuer string) providerMetadata {
	return providerMetadata{
		Issuer:                            issuer,
		JWKSURI:                           base + PathJWKS,
		TokenEndpoint:                     base + PathTokenV2,
		GrantTypesSupported:               []string{"client_credentials"},
		TokenEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post"},
	}
}

// baseURL is the configured public URL, or scheme and Host of the request
// (Echo reads X-Forwarded-Proto for the scheme behind a proxy).
func baseURL(public string, c echo.Context) string {
	if public != "" {
		return strings.TrimRight(public, "/")
	}
	return c.Scheme() + "://" + c.Request().Host
}
