package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/runai-compat/userapps/server/jwtauth"
)

// Every flag has a USERAPPS_* environment equivalent; a flag given on the
// command line wins over the environment. Only this file reads them.

type commonConfig struct {
	DataDir        string
	SigningKeyFile string
	Issuer         string
	UserClaim      string
	RolesClaim     string
	AdminRole      string
}

type serveConfig struct {
	commonConfig
	Addr           string
	DatabaseURL    string
	JWKSURL        string
	JWTIssuer      string
	JWTAudience    string
	MaxAppsPerUser int
	BodyLimit      int64
	RequestTimeout time.Duration
}

type tokenConfig struct {
	commonConfig
	User  string
	Admin bool
	TTL   time.Duration
}

const defaultIssuer = "userapps"

func (c commonConfig) signingKeyPath() string {
	if c.SigningKeyFile != "" {
		return c.SigningKeyFile
	}
	return filepath.Join(c.DataDir, "signing-key.pem")
}

// signer loads the key that serve and token share; serve creates it on
// first start, token refuses to run without it.
func (c commonConfig) signer(create bool, log *slog.Logger) (*jwtauth.Signer, error) {
	path := c.signingKeyPath()
	if !create {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no signing key at %s: start `userapps serve` with the same --data-dir (or --signing-key-file) first", path)
		}
	}
	key, err := jwtauth.LoadOrCreateKey(path)
	if err != nil {
		return nil, err
	}
	if info, err := os.Stat(path); err == nil && info.Mode().Perm()&0o077 != 0 && log != nil {
		log.Warn("signing key file is readable by others; chmod 600 it", "path", path, "mode", info.Mode().Perm().String())
	}
	return jwtauth.NewSigner(key, c.Issuer)
}

func (c commonConfig) claims() jwtauth.Claims {
	return jwtauth.Claims{User: c.UserClaim, Roles: c.RolesClaim, AdminRole: c.AdminRole}
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

func registerCommon(fs *flag.FlagSet, c *commonConfig, getenv func(string) string) {
	fs.StringVar(&c.DataDir, "data-dir", envOr(getenv, "USERAPPS_DATA_DIR", "./data"), "folder of the SQLite file and the signing key (USERAPPS_DATA_DIR)")
	fs.StringVar(&c.SigningKeyFile, "signing-key-file", getenv("USERAPPS_SIGNING_KEY_FILE"), "ES256 private key (PEM), created 0600 if missing; default <data-dir>/signing-key.pem (USERAPPS_SIGNING_KEY_FILE)")
	fs.StringVar(&c.Issuer, "issuer", envOr(getenv, "USERAPPS_ISSUER", defaultIssuer), "iss of the service's own tokens (USERAPPS_ISSUER)")
	fs.StringVar(&c.UserClaim, "user-claim", envOr(getenv, "USERAPPS_USER_CLAIM", "email"), "claim naming the caller; sub is the fallback (USERAPPS_USER_CLAIM)")
	fs.StringVar(&c.RolesClaim, "roles-claim", envOr(getenv, "USERAPPS_ROLES_CLAIM", "roles"), "claim listing roles, dotted for nested, e.g. realm_access.roles (USERAPPS_ROLES_CLAIM)")
	fs.StringVar(&c.AdminRole, "admin-role", envOr(getenv, "USERAPPS_ADMIN_ROLE", "admin"), "role that grants the administration operations (USERAPPS_ADMIN_ROLE)")
}

func parseServe(args []string, getenv func(string) string, out io.Writer) (serveConfig, error) {
	var c serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(out)
	registerCommon(fs, &c.commonConfig, getenv)
	fs.StringVar(&c.Addr, "addr", envOr(getenv, "USERAPPS_ADDR", ":8080"), "listen address (USERAPPS_ADDR)")
	fs.StringVar(&c.DatabaseURL, "database-url", getenv("USERAPPS_DATABASE_URL"), "postgres:// URL; empty means SQLite in the data dir (USERAPPS_DATABASE_URL)")
	fs.StringVar(&c.JWKSURL, "jwks-url", getenv("USERAPPS_JWKS_URL"), "JWKS URL of an external identity provider whose tokens are accepted too (USERAPPS_JWKS_URL)")
	fs.StringVar(&c.JWTIssuer, "jwt-issuer", getenv("USERAPPS_JWT_ISSUER"), "required iss of external tokens (USERAPPS_JWT_ISSUER)")
	fs.StringVar(&c.JWTAudience, "jwt-audience", getenv("USERAPPS_JWT_AUDIENCE"), "required aud of external tokens (USERAPPS_JWT_AUDIENCE)")
	maxApps, err := intEnv(getenv, "USERAPPS_MAX_APPS_PER_USER", 20)
	if err != nil {
		return c, err
	}
	fs.IntVar(&c.MaxAppsPerUser, "max-apps-per-user", maxApps, "applications one user may hold (USERAPPS_MAX_APPS_PER_USER)")
	bodyLimit, err := intEnv(getenv, "USERAPPS_BODY_LIMIT", 64<<10)
	if err != nil {
		return c, err
	}
	fs.Int64Var(&c.BodyLimit, "body-limit", int64(bodyLimit), "largest request body in bytes; larger is 413 (USERAPPS_BODY_LIMIT)")
	timeout, err := durationEnv(getenv, "USERAPPS_REQUEST_TIMEOUT", 10*time.Second)
	if err != nil {
		return c, err
	}
	fs.DurationVar(&c.RequestTimeout, "request-timeout", timeout, "longest time one request may spend, database included; past it 503 (USERAPPS_REQUEST_TIMEOUT)")
	if err := fs.Parse(args); err != nil {
		return c, parseFailed(err)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("serve: unexpected arguments %q", fs.Args())
	}
	if c.MaxAppsPerUser < 1 {
		return c, errors.New("--max-apps-per-user must be at least 1")
	}
	if c.BodyLimit < 1 {
		return c, errors.New("--body-limit must be at least 1 byte")
	}
	if c.RequestTimeout <= 0 {
		return c, errors.New("--request-timeout must be positive")
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		// Said without echoing the value: it may hold a password.
		return c, errors.New("--database-url must be a postgres:// or postgresql:// URL (leave it empty for the embedded SQLite)")
	}
	if c.JWKSURL != "" {
		if u, err := url.Parse(c.JWKSURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") {
			return c, fmt.Errorf("--jwks-url must be an http(s) URL")
		}
	}
	return c, nil
}

func parseToken(args []string, getenv func(string) string, out io.Writer) (tokenConfig, error) {
	var c tokenConfig
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(out)
	registerCommon(fs, &c.commonConfig, getenv)
	fs.StringVar(&c.User, "user", "", "the user the token speaks for, e.g. alice@example.com (required)")
	fs.BoolVar(&c.Admin, "admin", false, "give the token the admin role")
	fs.DurationVar(&c.TTL, "ttl", time.Hour, "lifetime of the token")
	if err := fs.Parse(args); err != nil {
		return c, parseFailed(err)
	}
	if c.User == "" {
		return c, errors.New("token: --user is required")
	}
	if c.TTL <= 0 {
		return c, errors.New("token: --ttl must be positive")
	}
	return c, nil
}

func durationEnv(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a duration such as 10s", name, v)
	}
	return d, nil
}

func intEnv(getenv func(string) string, name string, def int) (int, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a whole number", name, v)
	}
	return n, nil
}

// redacted is the config as logged: a database password, in the user info
// or in a password= parameter, never appears.
func (c serveConfig) redacted() map[string]any {
	return map[string]any{
		"addr": c.Addr, "data_dir": c.DataDir, "database_url": redactURL(c.DatabaseURL), "signing_key_file": c.signingKeyPath(),
		"issuer": c.Issuer, "jwks_url": c.JWKSURL, "jwt_issuer": c.JWTIssuer, "jwt_audience": c.JWTAudience,
		"user_claim": c.UserClaim, "roles_claim": c.RolesClaim, "admin_role": c.AdminRole,
		"max_apps_per_user": c.MaxAppsPerUser, "body_limit": c.BodyLimit, "request_timeout": c.RequestTimeout.String(),
	}
}

func redactURL(raw string) string {
	if raw == "" {
		return "(embedded sqlite)"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL, not shown)"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	for k := range q {
		if strings.EqualFold(k, "password") {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.Redacted()
}
