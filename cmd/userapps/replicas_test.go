package main

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runai-compat/userapps/gen"
	"github.com/runai-compat/userapps/server"
	"github.com/runai-compat/userapps/server/servertest"
	"github.com/runai-compat/userapps/store/dbtest"
)

// Two `serve` processes on one Postgres database, sharing one signing key,
// behave as one service: a token granted by one is accepted by the other,
// and a delete on one revokes the application's tokens on the other.
func TestTwoReplicasActAsOneService(t *testing.T) {
	base := os.Getenv(dbtest.EnvPostgres)
	if base == "" {
		t.Skipf("%s is not set: replicas need a shared Postgres", dbtest.EnvPostgres)
	}
	bin := buildUserapps(t)
	dbURL := dbtest.FreshPostgres(t, base)
	keyFile := filepath.Join(t.TempDir(), "signing-key.pem")

	// Started together on an empty database: both migrate at once.
	pa, pb := launch(t, bin, dbURL, keyFile), launch(t, bin, dbURL, keyFile)
	a, b := pa.ready(t), pb.ready(t)

	// A user token from the `token` command, signed with the shared key.
	out, err := exec.Command(bin, "token", "--signing-key-file", keyFile, "--user", "alice@example.com").Output()
	if err != nil {
		t.Fatalf("token command: %v", err)
	}
	user := strings.TrimSpace(string(out))

	r := a.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/user-applications", Token: user,
		Body: gen.CreateUserApplicationJSONRequestBody{Name: "ci"}})
	var app gen.CreateUserApplication201JSONResponse
	r.JSON(t, &app)
	if r.Status != http.StatusCreated {
		t.Fatalf("create on A: %d %s", r.Status, r.Body)
	}

	grantV2 := func(s *servertest.Stack) *servertest.Response {
		return s.Do(t, servertest.Request{Method: http.MethodPost, Path: server.PathTokenV2, Body: url.Values{
			"grant_type": {"client_credentials"}, "client_id": {app.ClientId}, "client_secret": {app.Secret}}})
	}
	list := func(s *servertest.Stack, tok string) int {
		return s.Do(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/user-applications", Token: tok}).Status
	}
	var fromA, fromB struct {
		AccessToken string `json:"access_token"`
	}
	if r := grantV2(a); r.Status != http.StatusOK {
		t.Fatalf("grant on A: %d %s", r.Status, r.Body)
	} else {
		r.JSON(t, &fromA)
	}
	if r := grantV2(b); r.Status != http.StatusOK {
		t.Fatalf("grant on B: %d %s", r.Status, r.Body)
	} else {
		r.JSON(t, &fromB)
	}
	if list(b, fromA.AccessToken) != http.StatusOK || list(a, fromB.AccessToken) != http.StatusOK {
		t.Fatal("a token granted by one replica is refused by the other")
	}

	// Delete on B; A refuses the token it granted within the revocation
	// cache's TTL (A has just cached "exists"), and refuses new grants at once.
	if r := b.Do(t, servertest.Request{Method: http.MethodDelete, Path: "/api/v1/user-applications/" + app.Id, Token: user}); r.Status != http.StatusNoContent {
		t.Fatalf("delete on B: %d %s", r.Status, r.Body)
	}
	if r := grantV2(a); r.Status != http.StatusUnauthorized {
		t.Errorf("grant on A after delete on B: %d %s", r.Status, r.Body)
	}
	start := time.Now()
	for list(a, fromA.AccessToken) != http.StatusUnauthorized {
		if time.Since(start) > server.RevocationCacheTTL+time.Second {
			t.Fatalf("A still accepts the deleted application's token after %v", time.Since(start))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("A refused the token %v after the delete on B", time.Since(start))
}

func buildUserapps(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build userapps: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "userapps")
	cmd := exec.Command(goBin, "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// serveProc is a `userapps serve` process running until the test ends.
type serveProc struct {
	addr string
	logs *servertest.SyncBuffer
	done chan struct{}
}

// launch starts `userapps serve` on a free loopback port.
func launch(t *testing.T, bin, dbURL, keyFile string) *serveProc {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	logs := &servertest.SyncBuffer{}
	cmd := exec.Command(bin, "serve", "--addr", addr, "--database-url", dbURL,
		"--signing-key-file", keyFile, "--data-dir", t.TempDir())
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("serve %s logs:\n%s", addr, logs)
		}
	})

	return &serveProc{addr: addr, logs: logs, done: done}
}

// ready waits until the process answers /readyz and returns a
// spec-checking client for it.
func (p *serveProc) ready(t *testing.T) *servertest.Stack {
	t.Helper()
	addr, logs, done := p.addr, p.logs, p.done
	baseURL := "http://" + addr
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+server.PathReadyz, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return servertest.Attach(t, baseURL)
			}
		}
		select {
		case <-done:
			t.Fatalf("serve %s exited:\n%s", addr, logs)
		case <-ctx.Done():
			t.Fatalf("serve %s not ready: %v\n%s", addr, err, logs)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
