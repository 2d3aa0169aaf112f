package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runai-compat/userapps/server/servertest"
	"github.com/runai-compat/userapps/store"
	"github.com/runai-compat/userapps/store/dbtest"
)

// everyOperation lists one request per spec operation for app id.
func everyOperation(id string) []servertest.Request {
	return []servertest.Request{
		{Method: "GET", Path: "/api/v1/user-applications"},
		{Method: "POST", Path: "/api/v1/user-applications", Body: map[string]any{"name": "new-one"}},
		{Method: "GET", Path: "/api/v1/user-applications/" + id},
		{Method: "POST", Path: "/api/v1/user-applications/" + id + "/secret"},
		{Method: "DELETE", Path: "/api/v1/user-applications/" + id},
		{Method: "GET", Path: "/api/v1/administration/user-applications"},
		{Method: "DELETE", Path: "/api/v1/administration/user-applications/" + id},
	}
}

// TestInternalError breaks the real database under the service (its table
// is dropped): every operation answers 500 with a generic message that
// leaks no SQL.
func TestInternalError(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		s := servertest.New(t, e, servertest.Options{})
		admin := s.Token(t, root, true)
		app := create(t, s, admin, "doomed")
		if err := s.Store.Exec(context.Background(), "DROP TABLE user_applications"); err != nil {
			t.Fatal(err)
		}
		if got := s.Do(t, servertest.Request{Method: "GET", Path: "/readyz"}); got.Status != http.StatusServiceUnavailable {
			t.Errorf("readyz without the schema: %d", got.Status)
		}
		for _, r := range everyOperation(app.Id) {
			r.Token = admin
			got := s.Do(t, r)
			if got.Status != http.StatusInternalServerError {
				t.Errorf("%s %s: %d %s", r.Method, r.Path, got.Status, got.Body)
				continue
			}
			body := strings.ToLower(string(got.Body))
			for _, leak := range []string{"user_applications", "select", "table", "sql"} {
				if strings.Contains(body, leak) {
					t.Errorf("%s %s leaks %q: %s", r.Method, r.Path, leak, got.Body)
				}
			}
		}
	})
}

// TestDatabaseDown cuts the network between the service and Postgres: every
// operation answers 503, and /readyz says not ready; when the network
// returns, so does the service.
func TestDatabaseDown(t *testing.T) {
	base := os.Getenv(dbtest.EnvPostgres)
	if base == "" {
		t.Skip(dbtest.EnvPostgres + " not set: the network failure test needs Postgres")
	}
	dbURL := dbtest.FreshPostgres(t, base)
	u, _ := url.Parse(dbURL)
	proxy := newTCPProxy(t, u.Host)
	u.Host = proxy.addr
	st, err := store.Open(context.Background(), u.String(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := servertest.NewWith(t, st, servertest.NewSigner(t), servertest.Options{})
	admin := s.Token(t, root, true)
	app := create(t, s, admin, "survivor")

	proxy.cut()
	for _, r := range everyOperation(app.Id) {
		r.Token = admin
		if got := s.Do(t, r); got.Status != http.StatusServiceUnavailable {
			t.Errorf("%s %s with the database down: %d %s", r.Method, r.Path, got.Status, got.Body)
		}
	}
	if got := s.Do(t, servertest.Request{Method: "GET", Path: "/readyz"}); got.Status != http.StatusServiceUnavailable {
		t.Errorf("readyz with the database down: %d", got.Status)
	}
	proxy.restore()
	if got := list(t, s, admin); len(got) != 1 || got[0].Id != app.Id {
		t.Fatalf("after recovery: %+v", got)
	}
}

// TestStalledDatabase: a database that holds a lock and never answers gives
// 503 after the request deadline, never a hang.
func TestStalledDatabase(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		dbURL, dir := e.New(t)
		st, err := store.Open(context.Background(), dbURL, dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		s := servertest.NewWith(t, st, servertest.NewSigner(t), servertest.Options{RequestTimeout: 700 * time.Millisecond})
		tok := s.Token(t, alice, false)
		app := create(t, s, tok, "stalled")

		// A second connection takes the write lock and sits on it.
		locker, err := store.Open(context.Background(), dbURL, dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { locker.Close() })
		release := make(chan struct{})
		locked := make(chan error, 1)
		go func() {
			locked <- locker.HoldWriteLock(context.Background(), release)
		}()
		t.Cleanup(func() { close(release); <-locked })
		time.Sleep(200 * time.Millisecond)

		start := time.Now()
		r := s.Do(t, servertest.Request{Method: "POST", Path: "/api/v1/user-applications/" + app.Id + "/secret", Token: tok})
		if r.Status != http.StatusServiceUnavailable {
			t.Fatalf("write under a held lock: %d %s", r.Status, r.Body)
		}
		// Postgres stops at the deadline; SQLite's lock wait ignores the
		// context and ends at its 5 s busy timeout.
		if took := time.Since(start); took > 8*time.Second {
			t.Fatalf("took %v; the deadline is 700ms, the SQLite busy timeout 5s", took)
		}
	})
}

// tcpProxy forwards loopback connections to a target and can cut them all.
type tcpProxy struct {
	addr   string
	target string
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{addr: l.Addr().String(), target: target}
	t.Cleanup(func() { l.Close(); p.cut() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.down {
				p.mu.Unlock()
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *tcpProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}
