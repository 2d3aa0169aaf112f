// Command contract is the black-box contract suite: it reads the merged
// OpenAPI spec and drives every operation of a running userapps deployment
// with requests derived from the schemas, valid and invalid, and fails on any
// response the spec does not allow, any 5xx, and any inconsistent state.
//
//	contract --base-url http://127.0.0.1:8080 [--direct-url URL --prism]
//
// Tokens come from the environment (CONTRACT_TOKEN, CONTRACT_OTHER_TOKEN,
// CONTRACT_ADMIN_TOKEN, optionally CONTRACT_EXPIRED_TOKEN) so it runs against
// any deployment; `make contract` mints them with `userapps token`.
package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/runai-compat/userapps/server/jwtauth"
)

type config struct {
	BaseURL, DirectURL, Spec         string
	Prism                            bool
	Token, OtherToken, AdminToken    string
	ExpiredToken                     string
	SigningKeyFile, Issuer, UserName string
	MaxNameLength                    int
	Seed                             uint64
	Verbose                          bool
}

func main() {
	if err := run(os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "contract:", err)
		os.Exit(1)
	}
}

func parse(args []string, getenv func(string) string, out io.Writer) (config, error) {
	var c config
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("contract", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.BaseURL, "base-url", env("BASE_URL", "http://127.0.0.1:8080"), "where valid requests go: the service, or a Prism validating proxy in front of it (BASE_URL)")
	fs.StringVar(&c.DirectURL, "direct-url", getenv("CONTRACT_DIRECT_URL"), "the service itself, for the invalid requests (default: --base-url) (CONTRACT_DIRECT_URL)")
	fs.BoolVar(&c.Prism, "prism", getenv("CONTRACT_PRISM") != "", "--base-url is a Prism proxy: its sl-violations header and its own problem+json answers are failures (CONTRACT_PRISM)")
	fs.StringVar(&c.Spec, "spec", env("CONTRACT_SPEC", "openapi/runai.yaml"), "merged spec, file or URL (CONTRACT_SPEC)")
	fs.StringVar(&c.Token, "token", getenv("CONTRACT_TOKEN"), "bearer token of a user (CONTRACT_TOKEN)")
	fs.StringVar(&c.OtherToken, "other-token", getenv("CONTRACT_OTHER_TOKEN"), "bearer token of a second user (CONTRACT_OTHER_TOKEN)")
	fs.StringVar(&c.AdminToken, "admin-token", getenv("CONTRACT_ADMIN_TOKEN"), "bearer token of an administrator (CONTRACT_ADMIN_TOKEN)")
	fs.StringVar(&c.ExpiredToken, "expired-token", getenv("CONTRACT_EXPIRED_TOKEN"), "an expired bearer token (CONTRACT_EXPIRED_TOKEN)")
	fs.StringVar(&c.SigningKeyFile, "signing-key-file", getenv("CONTRACT_SIGNING_KEY_FILE"), "the service's signing key, to mint the expired token locally (CONTRACT_SIGNING_KEY_FILE)")
	fs.StringVar(&c.Issuer, "issuer", env("CONTRACT_ISSUER", "userapps"), "iss of the service's own tokens, for the expired token (CONTRACT_ISSUER)")
	fs.StringVar(&c.UserName, "user", env("CONTRACT_USER", "contract-user@example.com"), "user named in the locally minted expired token (CONTRACT_USER)")
	maxLen, err := strconv.Atoi(env("CONTRACT_MAX_NAME_LENGTH", "255"))
	if err != nil {
		return c, fmt.Errorf("CONTRACT_MAX_NAME_LENGTH: %w", err)
	}
	fs.IntVar(&c.MaxNameLength, "max-name-length", maxLen, "longest name the service accepts where the schema sets no maxLength (CONTRACT_MAX_NAME_LENGTH)")
	seed, err := strconv.ParseUint(env("CONTRACT_SEED", "0"), 10, 64)
	if err != nil {
		return c, fmt.Errorf("CONTRACT_SEED: %w", err)
	}
	fs.Uint64Var(&c.Seed, "seed", seed, "random seed; 0 picks one and prints it (CONTRACT_SEED)")
	fs.BoolVar(&c.Verbose, "v", false, "print every request")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.DirectURL == "" {
		c.DirectURL = c.BaseURL
	}
	c.BaseURL, c.DirectURL = strings.TrimRight(c.BaseURL, "/"), strings.TrimRight(c.DirectURL, "/")
	if c.Token == "" || c.OtherToken == "" || c.AdminToken == "" {
		return c, errors.New("CONTRACT_TOKEN, CONTRACT_OTHER_TOKEN and CONTRACT_ADMIN_TOKEN are required (make contract mints them for a local run)")
	}
	if c.Seed == 0 {
		c.Seed = uint64(time.Now().UnixNano())
	}
	return c, nil
}

func run(args []string, getenv func(string) string, out io.Writer) error {
	cfg, err := parse(args, getenv, out)
	if err != nil {
		return err
	}
	failures, err := runSuite(context.Background(), cfg, out)
	if err != nil {
		return err
	}
	if failures > 0 {
		return fmt.Errorf("%d failures (seed %d)", failures, cfg.Seed)
	}
	return nil
}

// runSuite runs the whole suite and returns the number of failures.
func runSuite(ctx context.Context, cfg config, out io.Writer) (int, error) {
	doc, raw, err := loadSpec(ctx, cfg.Spec)
	if err != nil {
		return 0, err
	}
	logf := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	expired := cfg.ExpiredToken
	if expired == "" && cfg.SigningKeyFile != "" {
		if expired, err = mintExpired(cfg); err != nil {
			return 0, err
		}
	}
	if expired == "" {
		logf("SKIP expired-token cases: set CONTRACT_EXPIRED_TOKEN, or CONTRACT_SIGNING_KEY_FILE to mint one")
	}
	c := &client{
		base: cfg.BaseURL, direct: cfg.DirectURL, prism: cfg.Prism, http: newHTTPClient(), spec: doc,
		offSpec: map[int]bool{413: true}, verbose: cfg.Verbose, log: out,
	}
	s := &Suite{
		c: c, doc: doc, specBytes: raw, ops: operations(doc),
		user: cfg.Token, other: cfg.OtherToken, admin: cfg.AdminToken, expired: expired,
		rnd: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)), maxLen: cfg.MaxNameLength, pool: pool{}, log: logf,
	}
	logf("contract: spec %s (%s %s), %d operations; valid requests -> %s%s, invalid -> %s; seed %d",
		cfg.Spec, doc.Info.Title, doc.Info.Version, len(s.ops), cfg.BaseURL, map[bool]string{true: " (Prism)"}[cfg.Prism], cfg.DirectURL, cfg.Seed)
	start := time.Now()
	s.Run(ctx)
	logf("contract: %d requests in %s, %d failures", c.count, time.Since(start).Round(time.Millisecond), len(c.failures))
	if n := len(c.failures); n > 0 {
		per := map[string]int{}
		for _, f := range c.failures {
			per[f.Op]++
		}
		keys := make([]string, 0, len(per))
		for k := range per {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			logf("  %3d  %s", per[k], k)
		}
	}
	return len(c.failures), nil
}

// mintExpired signs a token that expired an hour ago with the service's own
// key (read, never created), so only its expiry is wrong.
func mintExpired(cfg config) (string, error) {
	if _, err := os.Stat(cfg.SigningKeyFile); err != nil {
		return "", fmt.Errorf("signing key: %w", err)
	}
	key, err := jwtauth.LoadOrCreateKey(cfg.SigningKeyFile)
	if err != nil {
		return "", err
	}
	return signExpired(key, cfg.Issuer, cfg.UserName)
}

func signExpired(key *ecdsa.PrivateKey, issuer, user string) (string, error) {
	signer, err := jwtauth.NewSigner(key, issuer)
	if err != nil {
		return "", err
	}
	tok, _, err := signer.Sign(jwt.MapClaims{"sub": user, "email": user, "roles": []any{}}, -time.Hour)
	return tok, err
}

func sortStrings(s []string) { sort.Strings(s) }
