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
	spec, err := gen.GetSpec()
	if err != nil {
		return nil, err
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(cfg.Logger)
	e.Use(middleware.Recover())
	e.Use(middleware.BodyLimit(strconv.FormatInt(cfg.BodyLimit, 10) + "B"))

	skip := map[string]bool{PathHealthz: true, PathReadyz: true, PathJWKS: true}
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

	h := &Handlers{store: cfg.Store, maxAppsPerUser: cfg.MaxAppsPerUser}
	gen.RegisterHandlersWithOptions(e, gen.NewStrictHandler(h, nil), gen.RegisterHandlersOptions{
		OperationMiddlewares: map[string][]echo.MiddlewareFunc{
			"get_user_applications_administration":         {requireAdmin},
			"delete_user_application_by_id_administration": {requireAdmin},
		},
	})
	return e, nil
}
