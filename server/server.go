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
	Signer *jwtauth.Signer // publishes /.well-known/jwks.json
	Logger *slog.Logger
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
)

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
	spec, err := gen.GetSpec()
	if err != nil {
		return nil, err
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(cfg.Logger)
	e.Use(middleware.Recover())
	e.Use(middleware.BodyLimit(strconv.FormatInt(cfg.BodyLimit, 10) + "B"))
	e.Use(requestDeadline(cfg.RequestTimeout))

	skip := map[string]bool{
		PathHealthz: true, PathReadyz: true, PathJWKS: true, PathOpenAPIJSON: true, PathOpenAPIYAML: true,
	}
	validate, err := validator(spec, cfg.Auth, skip)
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

	if err := registerSpec(e); err != nil {
		return nil, err
	}

	h := &Handlers{store: cfg.Store, maxAppsPerUser: cfg.MaxAppsPerUser}
	gen.RegisterHandlersWithOptions(e, gen.NewStrictHandler(h, nil), gen.RegisterHandlersOptions{
		OperationMiddlewares: map[string][]echo.MiddlewareFunc{
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

func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		c.Response().Header().Set("Pragma", "no-cache")
		return next(c)
	}
}
