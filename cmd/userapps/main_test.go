package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseServe(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(serveConfig) bool
		wantErr string
	}{
		{"defaults", nil, nil, func(c serveConfig) bool {
			return c.Addr == ":8080" && c.DataDir == "./data" && c.DatabaseURL == "" && c.MaxAppsPerUser == 20 &&
				c.signingKeyPath() == filepath.Join("data", "signing-key.pem") && c.UserClaim == "email" && c.RolesClaim == "roles" && c.AdminRole == "admin"
		}, ""},
		{"env", nil, map[string]string{"USERAPPS_ADDR": ":9", "USERAPPS_MAX_APPS_PER_USER": "5", "USERAPPS_ROLES_CLAIM": "realm_access.roles", "USERAPPS_SIGNING_KEY_FILE": "/k.pem"},
			func(c serveConfig) bool {
				return c.Addr == ":9" && c.MaxAppsPerUser == 5 && c.RolesClaim == "realm_access.roles" && c.signingKeyPath() == "/k.pem"
			}, ""},
		{"flag beats env", []string{"--addr", ":7"}, map[string]string{"USERAPPS_ADDR": ":9"}, func(c serveConfig) bool { return c.Addr == ":7" }, ""},
		{"bad env number", nil, map[string]string{"USERAPPS_MAX_APPS_PER_USER": "many"}, nil, "USERAPPS_MAX_APPS_PER_USER"},
		{"zero limit", []string{"--max-apps-per-user", "0"}, nil, nil, "at least 1"},
		{"bad jwks url", []string{"--jwks-url", "file:///etc/passwd"}, nil, nil, "http(s)"},
		{"stray argument", []string{"extra"}, nil, nil, "unexpected"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := parseServe(c.args, env(c.env), io.Discard)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || !c.check(cfg) {
				t.Fatalf("config %+v, err %v", cfg, err)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "(embedded sqlite)"},
		{"postgres://app:hunter2@db:5432/x", "postgres://app:xxxxx@db:5432/x"},
		{"postgres://app@db/x?sslmode=disable&password=hunter2", "postgres://app@db/x?password=xxxxx&sslmode=disable"},
		{"postgres://app@db/x?PassWord=hunter2", "postgres://app@db/x?PassWord=xxxxx"},
		{"postgres://postgres:hun%ter2@db/x", "(unparseable URL, not shown)"},
	} {
		got := redactURL(c.in)
		if got != c.want || strings.Contains(got, "hunter2") || strings.Contains(got, "hun%ter2") {
			t.Errorf("redactURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestBadDatabaseURLNotEchoed(t *testing.T) {
	_, err := parseServe([]string{"--database-url", "host=db password=hunter2"}, env(nil), io.Discard)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err %v", err)
	}
}

func TestHelpIsSuccess(t *testing.T) {
	for _, cmd := range []string{"serve", "token"} {
		if err := run([]string{cmd, "-h"}, env(nil), os.Stdout, devNull(t)); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%s -h: %v", cmd, err)
		}
		if err := run([]string{cmd, "--no-such-flag"}, env(nil), os.Stdout, devNull(t)); !errors.Is(err, errUsage) {
			t.Errorf("%s --no-such-flag: %v", cmd, err)
		}
	}
	if _, err := parseServe([]string{"--body-limit", "-5"}, env(nil), io.Discard); err == nil {
		t.Error("negative body limit accepted")
	}
}

func devNull(t *testing.T) *os.File {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestTokenWithoutKey: token never invents a key the server does not have.
func TestTokenWithoutKey(t *testing.T) {
	dir := t.TempDir()
	cfg, err := parseToken([]string{"--data-dir", dir, "--user", "a@example.com"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := mintToken(cfg, devNull(t)); err == nil || !strings.Contains(err.Error(), "userapps serve") {
		t.Fatalf("err %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "signing-key.pem")); err == nil {
		t.Fatal("token created a key")
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestServeAndShutdown runs serve as the binary does: key created 0600, a
// token from the token command works, and SIGTERM-style shutdown lets an
// in-flight request finish.
func TestServeAndShutdown(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg, err := parseServe([]string{"--addr", addr, "--data-dir", dir}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	base := "http://" + addr
	waitReady(t, base)

	for _, f := range []string{"signing-key.pem", "userapps.db"} {
		info, err := os.Stat(filepath.Join(dir, f))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v, want mode 0600", f, info, err)
		}
	}
	tcfg, err := parseToken([]string{"--data-dir", dir, "--user", "alice@example.com", "--ttl", "5m"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	tokFile, _ := os.CreateTemp(t.TempDir(), "tok")
	if err := mintToken(tcfg, tokFile); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(tokFile.Name())
	token := strings.TrimSpace(string(raw))

	// Start a request, send half its body, then ask the server to stop.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"name":"in-flight"}`
	fmt.Fprintf(conn, "POST /api/v1/user-applications HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", token, len(body), body[:5])
	time.Sleep(100 * time.Millisecond)
	cancel()
	time.Sleep(200 * time.Millisecond)
	if _, err := io.WriteString(conn, body[5:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request cut off: %v", err)
	}
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("in-flight request: %d", resp.StatusCode)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	for range 100 {
		if r, err := http.Get(base + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("server never became ready")
}

func TestTokenNeedsUser(t *testing.T) {
	if _, err := parseToken(nil, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "--user") {
		t.Fatalf("err %v", err)
	}
}
