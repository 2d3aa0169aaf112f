// Command userapps serves the Run:ai "User Applications" API (2.21).
//
//	userapps serve                         # SQLite in ./data, :8080
//	userapps token --user alice@example.com [--admin] [--ttl 1h]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/runai-compat/userapps/server"
	"github.com/runai-compat/userapps/server/jwtauth"
	"github.com/runai-compat/userapps/store"
)

func main() {
	err := run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2) // the flag package has already said what was wrong
	default:
		fmt.Fprintln(os.Stderr, "userapps:", err)
		os.Exit(1)
	}
}

// errUsage marks a command line the flag package already reported.
var errUsage = errors.New("usage error")

const usage = `usage:
  userapps serve [flags]    serve the API (see userapps serve -h)
  userapps token [flags]    print a bearer token signed with the service key (see userapps token -h)`

func run(args []string, getenv func(string) string, stdout, stderr *os.File) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "serve":
		cfg, err := parseServe(args[1:], getenv, stderr)
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return serve(ctx, cfg, slog.New(slog.NewJSONHandler(stderr, nil)))
	case "token":
		cfg, err := parseToken(args[1:], getenv, stderr)
		if err != nil {
			return err
		}
		return mintToken(cfg, stdout)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

// parseFailed keeps -h a success and a bad flag, which the flag package has
// already printed with the usage, from being printed again.
func parseFailed(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return errUsage
}

func serve(ctx context.Context, cfg serveConfig, log *slog.Logger) error {
	log.Info("starting", "config", cfg.redacted())
	signer, err := cfg.signer(true, log)
	if err != nil {
		return err
	}
	var ext *jwtauth.External
	if cfg.JWKSURL != "" {
		ext = &jwtauth.External{JWKSURL: cfg.JWKSURL, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience}
	}
	verifier, err := jwtauth.NewVerifier(ctx, signer, ext, cfg.claims())
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return err
	}
	defer st.Close()

	e, err := server.New(server.Config{
		Store: st, Auth: verifier, Signer: signer, Logger: log,
		MaxAppsPerUser: cfg.MaxAppsPerUser, BodyLimit: cfg.BodyLimit, RequestTimeout: cfg.RequestTimeout,
	})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           e,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("serving", "addr", cfg.Addr, "database", store.Engine(cfg.DatabaseURL), "kid", signer.KeyID())

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

func mintToken(cfg tokenConfig, stdout *os.File) error {
	// token never creates a key: a new key would sign tokens that the
	// running server (with its own key) refuses.
	signer, err := cfg.signer(false, nil)
	if err != nil {
		return err
	}
	claims := jwt.MapClaims{"sub": cfg.User}
	c := cfg.claims()
	if c.User != "" && c.User != "sub" {
		jwtauth.SetClaimPath(claims, c.User, cfg.User)
	}
	roles := []any{}
	if cfg.Admin {
		roles = append(roles, c.AdminRole)
	}
	jwtauth.SetClaimPath(claims, c.Roles, roles)
	tok, _, err := signer.Sign(claims, cfg.TTL)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}
