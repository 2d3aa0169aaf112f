package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runai-compat/userapps/gen"
	"github.com/runai-compat/userapps/server/servertest"
	"github.com/runai-compat/userapps/store/dbtest"
)

const (
	alice = "alice@example.com"
	bob   = "bob@example.com"
	root  = "root@example.com"
)

// forEachEngine runs fn on SQLite and, when configured, on Postgres.
func forEachEngine(t *testing.T, fn func(t *testing.T, e dbtest.Engine)) {
	for _, e := range dbtest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, e)
		})
	}
}

func create(t *testing.T, s *servertest.Stack, token, name string) gen.UserAppPostResponse {
	t.Helper()
	r := s.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/user-applications", Token: token, Body: map[string]any{"name": name}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create %q: %d %s", name, r.Status, r.Body)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("create answer (it holds the secret) may be cached: Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	var out gen.UserAppPostResponse
	r.JSON(t, &out)
	return out
}

func list(t *testing.T, s *servertest.Stack, token string) []gen.UserApp {
	t.Helper()
	r := s.Do(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/user-applications", Token: token})
	if r.Status != http.StatusOK {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	var out []gen.UserApp
	r.JSON(t, &out)
	return out
}

func adminList(t *testing.T, s *servertest.Stack, token, query string) []gen.UserAppAdministration {
	t.Helper()
	r := s.Do(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/administration/user-applications" + query, Token: token})
	if r.Status != http.StatusOK {
		t.Fatalf("admin list %s: %d %s", query, r.Status, r.Body)
	}
	var out []gen.UserAppAdministration
	r.JSON(t, &out)
	return out
}

// TestLifecycle walks one application through every operation.
func TestLifecycle(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		s := servertest.New(t, e, servertest.Options{})
		tok := s.Token(t, alice, false)
		before := time.Now().UTC().Add(-time.Second)

		app := create(t, s, tok, "my-app")
		if app.Name != "my-app" || app.Id == "" || app.ClientId == "" || app.ClientId == app.Id {
			t.Fatalf("create returned %+v", app)
		}
		if len(app.Secret) < 43 { // 256 bits in base64url
			t.Fatalf("secret %q shorter than 256 bits", app.Secret)
		}
		if app.CreatedAt == nil || app.CreatedAt.Before(before) || app.CreatedAt.After(time.Now().Add(time.Second)) {
			t.Fatalf("createdAt %v not now", app.CreatedAt)
		}

		got := list(t, s, tok)
		if len(got) != 1 || got[0].Id != app.Id || got[0].ClientId != app.ClientId || got[0].Name != "my-app" ||
			!got[0].CreatedAt.Equal(*app.CreatedAt) || got[0].LastLogin != nil {
			t.Fatalf("list = %+v, want the created app", got)
		}
		// lastLogin must be present as null, not omitted (required + nullable).
		raw := s.Do(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/user-applications/" + app.Id, Token: tok})
		if raw.Status != http.StatusOK || !strings.Contains(string(raw.Body), `"lastLogin":null`) {
			t.Fatalf("get: %d %s", raw.Status, raw.Body)
		}
		if strings.Contains(string(raw.Body), "secret") {
			t.Fatalf("get leaks the secret: %s", raw.Body)
		}

		regen := s.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/user-applications/" + app.Id + "/secret", Token: tok})
		if regen.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("regenerate answer may be cached: Cache-Control %q", regen.Header.Get("Cache-Control"))
		}
		var sec struct{ Secret string }
		regen.JSON(t, &sec)
		if regen.Status != http.StatusOK || len(sec.Secret) < 43 || sec.Secret == app.Secret {
			t.Fatalf("regenerate: %d %s", regen.Status, regen.Body)
		}

		del := s.Do(t, servertest.Request{Method: http.MethodDelete, Path: "/api/v1/user-applications/" + app.Id, Token: tok})
		if del.Status != http.StatusNoContent || len(del.Body) != 0 {
			t.Fatalf("delete: %d %q", del.Status, del.Body)
		}
		for _, r := range []servertest.Request{
			{Method: http.MethodGet, Path: "/api/v1/user-applications/" + app.Id},
			{Method: http.MethodDelete, Path: "/api/v1/user-applications/" + app.Id},
			{Method: http.MethodPost, Path: "/api/v1/user-applications/" + app.Id + "/secret"},
		} {
			r.Token = tok
			if got := s.Do(t, r); got.Status != http.StatusNotFound {
				t.Errorf("%s after delete: %d %s", r.Method, got.Status, got.Body)
			}
		}
		if got := list(t, s, tok); len(got) != 0 {
			t.Fatalf("list after delete = %+v", got)
		}
		// The name is free again after delete.
		create(t, s, tok, "my-app")
	})
}

// TestErrors covers each error status the spec lists, per operation.
func TestErrors(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		s := servertest.New(t, e, servertest.Options{BodyLimit: 1024})
		tok := s.Token(t, alice, false)
		admin := s.Token(t, root, true)
		bobs := create(t, s, s.Token(t, bob, false), "bobs-app")
		mine := create(t, s, tok, "taken")
		unknown := "6f1c2a7e-1b7d-4c59-9f3e-2b8b3f1d0a11"

		cases := []struct {
			name    string
			req     servertest.Request
			status  int
			message string // substring of Error.message
		}{
			// 401: every operation, no token.
			{"list no token", servertest.Request{Method: "GET", Path: "/api/v1/user-applications"}, 401, "bearer"},
			{"create no token", servertest.Request{Method: "POST", Path: "/api/v1/user-applications", Body: map[string]any{"name": "x1"}}, 401, "bearer"},
			{"get no token", servertest.Request{Method: "GET", Path: "/api/v1/user-applications/" + mine.Id}, 401, "bearer"},
			{"delete no token", servertest.Request{Method: "DELETE", Path: "/api/v1/user-applications/" + mine.Id}, 401, "bearer"},
			{"regenerate no token", servertest.Request{Method: "POST", Path: "/api/v1/user-applications/" + mine.Id + "/secret"}, 401, "bearer"},
			{"admin list no token", servertest.Request{Method: "GET", Path: "/api/v1/administration/user-applications"}, 401, "bearer"},
			{"admin delete no token", servertest.Request{Method: "DELETE", Path: "/api/v1/administration/user-applications/" + mine.Id}, 401, "bearer"},
			{"garbled token", servertest.Request{Method: "GET", Path: "/api/v1/user-applications", Token: "not.a.jwt"}, 401, "bearer"},
			{"basic scheme", servertest.Request{Method: "GET", Path: "/api/v1/user-applications", Header: http.Header{"Authorization": {"Basic YTpi"}}}, 401, "bearer"},
			// 403: administration without the admin role.
			{"admin list as user", servertest.Request{Method: "GET", Path: "/api/v1/administration/user-applications", Token: tok}, 403, "administrator"},
			{"admin delete as user", servertest.Request{Method: "DELETE", Path: "/api/v1/administration/user-applications/" + bobs.Id, Token: tok}, 403, "administrator"},
			// 404: unknown, malformed and other users' ids.
			{"get unknown", servertest.Request{Method: "GET", Path: "/api/v1/user-applications/" + unknown, Token: tok}, 404, "not found"},
			{"get malformed", servertest.Request{Method: "GET", Path: "/api/v1/user-applications/not-a-uuid", Token: tok}, 404, "not found"},
			{"get uppercase id", servertest.Request{Method: "GET", Path: "/api/v1/user-applications/" + strings.ToUpper(mine.Id), Token: tok}, 404, "not found"},
			{"get other user's", servertest.Request{Method: "GET", Path: "/api/v1/user-applications/" + bobs.Id, Token: tok}, 404, "not found"},
			{"delete other user's", servertest.Request{Method: "DELETE", Path: "/api/v1/user-applications/" + bobs.Id, Token: tok}, 404, "not found"},
			{"delete malformed", servertest.Request{Method: "DELETE", Path: "/api/v1/user-applications/%27%20or%201=1", Token: tok}, 404, "not found"},
			{"regenerate other user's", servertest.Request{Method: "POST", Path: "/api/v1/user-applications/" + bobs.Id + "/secret", Token: tok}, 404, "not found"},
			{"regenerate unknown", servertest.Request{Method: "POST", Path: "/api/v1/user-applications/" + unknown + "/secret", Token: tok}, 404, "not found"},
			{"admin delete unknown", servertest.Request{Method: "DELETE", Path: "/api/v1/administration/user-applications/" + unknown, Token: admin}, 404, "not found"},
			{"admin delete malformed", servertest.Request{Method: "DELETE", Path: "/api/v1/administration/user-applications/x", Token: admin}, 404, "not found"},
			// 409: same name, same user.
			{"create duplicate", servertest.Request{Method: "POST", Path: "/api/v1/user-applications", Token: tok, Body: map[string]any{"name": "taken"}}, 409, "already exists"},
			// 400: body problems on create.
			{"create no body", servertest.Request{Method: "POST", Path: "/api/v1/user-applications", Token: tok}, 400, "body"},
			{"create empty body", servertest.Request{Method: "POST", Path: "/api/v1/user-applications", Token: tok, Body: ""}, 400, "body"},
			{"create non-JSON", servertest.Request{Method: "POST", Path: "/api/v1/user-applications", Token: tok, Body: "{name:"}, 400, "body"},
			{"create text/plain", servertest.Request{Method: "POST", Path: "/api/v1/user-applications", Token: tok, Body: `{"name":"ok-name"}`, ContentType: "text/plain"}, 400, "Content-Type"},
			{"create missing name", servertest.Request{Method: "POST", Path: "/api/v1/user-applications", Token: tok, Body: map[string]any{}}, 400, "name"},
			{"create name not string", servertest.Request{Method: "POST", Path: "/api/v1/user-applications", Token: tok, Body: map[string]any{"name": 42}}, 400, "name"},
			{"create name null", servertest.Request{Method: "POST", Path: "/api/v1/user-applications", Token: tok, Body: `{"name":null}`}, 400, "name"},
			{"create array body", servertest.Request{Method: "POST", Path: "/api/v1/user-applications", Token: tok, Body: `[]`}, 400, "body"},
			// Outside the spec: unknown routes and methods are Error JSON too.
			{"unknown path", servertest.Request{Method: "GET", Path: "/api/v1/nope", Token: tok}, 404, "no such endpoint"},
			{"unknown method", servertest.Request{Method: "PUT", Path: "/api/v1/user-applications", Token: tok}, 405, "method not allowed"},
			{"body too large", servertest.Request{Method: "POST", Path: "/api/v1/user-applications", Token: tok, Body: `{"name":"` + strings.Repeat("a", 2048) + `"}`}, 413, "too large"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := s.Do(t, c.req)
				if r.Status != c.status {
					t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
				}
				if got := r.Error(t); !strings.Contains(strings.ToLower(got.Message), strings.ToLower(c.message)) {
					t.Errorf("message %q does not mention %q", got.Message, c.message)
				}
				if c.status == 405 && r.Header.Get("Allow") != "GET, POST" {
					t.Errorf("405 with Allow %q, want \"GET, POST\"", r.Header.Get("Allow"))
				}
				if c.status == 401 && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("401 without WWW-Authenticate: Bearer")
				}
			})
		}
		// Nothing above changed state: alice still has exactly "taken", bob "bobs-app".
		all := adminList(t, s, admin, "")
		if len(all) != 2 {
			t.Fatalf("state changed by bad requests: %+v", all)
		}
	})
}

// TestNamePattern checks ^[a-z][-_a-z0-9]*[a-z0-9]$ at its edges.
func TestNamePattern(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		s := servertest.New(t, e, servertest.Options{MaxAppsPerUser: 100})
		tok := s.Token(t, alice, false)
		cases := []struct {
			name string
			ok   bool
		}{
			{"ab", true}, {"a1", true}, {"a-b", true}, {"a_b", true}, {"a--__--9", true},
			{"app-2024_prod", true}, {"z" + strings.Repeat("-_0", 80) + "z", true},
			{"a", false}, {"", false}, {"1ab", false}, {"-ab", false}, {"_ab", false},
			{"ab-", false}, {"ab_", false}, {"Ab", false}, {"aB", false}, {"a b", false},
			{"a.b", false}, {"a/b", false}, {"ä-b", false}, {"ab\n", false}, {"ab\x00", false},
		}
		for _, c := range cases {
			r := s.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/user-applications", Token: tok, Body: map[string]any{"name": c.name}})
			want := http.StatusBadRequest
			if c.ok {
				want = http.StatusCreated
			}
			if r.Status != want {
				t.Errorf("name %q: status %d, want %d: %s", c.name, r.Status, want, r.Body)
			}
		}
		var valid int
		for _, c := range cases {
			if c.ok {
				valid++
			}
		}
		if got := len(list(t, s, tok)); got != valid {
			t.Fatalf("%d apps stored, want %d: invalid names must change nothing", got, valid)
		}
	})
}

// TestIsolation: users see and touch only their own; names are per user.
func TestIsolation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		s := servertest.New(t, e, servertest.Options{})
		a, b := s.Token(t, alice, false), s.Token(t, bob, false)
		aApp := create(t, s, a, "shared-name")
		bApp := create(t, s, b, "shared-name") // different users may reuse a name
		if aApp.Id == bApp.Id || aApp.ClientId == bApp.ClientId {
			t.Fatal("two users got the same app")
		}
		if got := list(t, s, a); len(got) != 1 || got[0].Id != aApp.Id {
			t.Fatalf("alice sees %+v", got)
		}
		if got := list(t, s, b); len(got) != 1 || got[0].Id != bApp.Id {
			t.Fatalf("bob sees %+v", got)
		}
		// Bob cannot delete or rotate Alice's app; it survives intact.
		s.Do(t, servertest.Request{Method: "DELETE", Path: "/api/v1/user-applications/" + aApp.Id, Token: b})
		s.Do(t, servertest.Request{Method: "POST", Path: "/api/v1/user-applications/" + aApp.Id + "/secret", Token: b})
		if got := list(t, s, a); len(got) != 1 {
			t.Fatalf("alice's app gone after bob's attempts: %+v", got)
		}
	})
}

// concurrently releases n requests at once and counts their statuses;
// check, when set, looks at each response.
func concurrently(t *testing.T, s *servertest.Stack, n int, req func(i int) servertest.Request, check func(*servertest.Response)) map[int]int {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	count := map[int]int{}
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := s.Do(t, req(i))
			if check != nil {
				check(r)
			}
			mu.Lock()
			count[r.Status]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return count
}

// TestConcurrentSameName: one 201, the rest 409, one row.
func TestConcurrentSameName(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		s := servertest.New(t, e, servertest.Options{})
		tok := s.Token(t, alice, false)
		const n = 16
		count := concurrently(t, s, n, func(int) servertest.Request {
			return servertest.Request{Method: "POST", Path: "/api/v1/user-applications", Token: tok, Body: map[string]any{"name": "race"}}
		}, nil)
		if count[201] != 1 || count[409] != n-1 {
			t.Fatalf("statuses %v, want one 201 and %d 409", count, n-1)
		}
		if got := list(t, s, tok); len(got) != 1 {
			t.Fatalf("%d rows", len(got))
		}
	})
}

// TestLimit: the per-user limit holds, also under concurrent creates, and
// frees a slot on delete.
func TestLimit(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		const max = 3
		s := servertest.New(t, e, servertest.Options{MaxAppsPerUser: max})
		tok := s.Token(t, alice, false)
		const n = 12
		count := concurrently(t, s, n, func(i int) servertest.Request {
			return servertest.Request{Method: "POST", Path: "/api/v1/user-applications", Token: tok, Body: map[string]any{"name": fmt.Sprintf("app-%d", i)}}
		}, func(r *servertest.Response) {
			if r.Status == 400 && !strings.Contains(r.Error(t).Message, fmt.Sprint(max)) {
				t.Errorf("limit message does not name the limit: %s", r.Body)
			}
		})
		if count[201] != max || count[400] != n-max {
			t.Fatalf("statuses %v, want %d×201 and %d×400", count, max, n-max)
		}
		apps := list(t, s, tok)
		if len(apps) != max {
			t.Fatalf("%d apps stored, limit %d", len(apps), max)
		}
		// Another user is not affected by Alice's limit.
		create(t, s, s.Token(t, bob, false), "bobs")
		// Deleting one frees one slot, exactly.
		s.Do(t, servertest.Request{Method: "DELETE", Path: "/api/v1/user-applications/" + apps[0].Id, Token: tok})
		create(t, s, tok, "again")
		r := s.Do(t, servertest.Request{Method: "POST", Path: "/api/v1/user-applications", Token: tok, Body: map[string]any{"name": "one-too-many"}})
		if r.Status != http.StatusBadRequest {
			t.Fatalf("over the limit after delete+create: %d %s", r.Status, r.Body)
		}
	})
}

// TestOrder: own list is ordered by createdAt, then id.
func TestOrder(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		s := servertest.New(t, e, servertest.Options{})
		tok := s.Token(t, alice, false)
		var want []string
		for i := range 5 {
			want = append(want, create(t, s, tok, fmt.Sprintf("n-%d", 4-i)).Id)
		}
		got := list(t, s, tok)
		for i := range got {
			if got[i].Id != want[i] {
				t.Fatalf("order %v, want creation order %v", got, want)
			}
			if i > 0 && got[i].CreatedAt.Before(*got[i-1].CreatedAt) {
				t.Fatalf("createdAt not ascending: %v", got)
			}
		}
	})
}

// TestAdministration: admin sees everyone with createdBy, filters combine,
// and can delete any app.
func TestAdministration(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		s := servertest.New(t, e, servertest.Options{})
		a, b, admin := s.Token(t, alice, false), s.Token(t, bob, false), s.Token(t, root, true)
		a1 := create(t, s, a, "one")
		create(t, s, a, "two")
		b1 := create(t, s, b, "one")

		all := adminList(t, s, admin, "")
		if len(all) != 3 {
			t.Fatalf("admin list %+v", all)
		}
		owners := map[string]string{}
		for _, x := range all {
			owners[x.Id] = x.CreatedBy
			if x.LastLogin != nil || x.CreatedAt == nil {
				t.Errorf("bad timestamps %+v", x)
			}
		}
		if owners[a1.Id] != alice || owners[b1.Id] != bob {
			t.Fatalf("createdBy wrong: %v", owners)
		}
		for _, c := range []struct {
			query string
			want  []string
		}{
			{"?createdBy=" + alice, []string{a1.Id, ""}},
			{"?createdBy=" + bob, []string{b1.Id}},
			{"?clientId=" + a1.ClientId, []string{a1.Id}},
			{"?clientId=" + a1.ClientId + "&createdBy=" + alice, []string{a1.Id}},
			{"?clientId=" + a1.ClientId + "&createdBy=" + bob, nil},
			{"?createdBy=ALICE@example.com", nil}, // exact match
			{"?createdBy=", nil},                  // set but empty matches nothing: fail closed
			{"?clientId=", nil},
			{"?createdBy=alice", nil},
			{"?clientId=nope", nil},
		} {
			got := adminList(t, s, admin, c.query)
			if len(got) != len(c.want) {
				t.Errorf("%s: %d results %+v, want %d", c.query, len(got), got, len(c.want))
				continue
			}
			if len(c.want) > 0 && got[0].Id != c.want[0] {
				t.Errorf("%s: first %s, want %s", c.query, got[0].Id, c.want[0])
			}
		}
		// An admin's own list holds only the admin's apps.
		if got := list(t, s, admin); len(got) != 0 {
			t.Fatalf("admin's own list %+v", got)
		}
		del := s.Do(t, servertest.Request{Method: "DELETE", Path: "/api/v1/administration/user-applications/" + b1.Id, Token: admin})
		if del.Status != http.StatusNoContent || len(del.Body) != 0 {
			t.Fatalf("admin delete: %d %s", del.Status, del.Body)
		}
		if got := list(t, s, b); len(got) != 0 {
			t.Fatalf("bob still sees %+v", got)
		}
		if got := s.Do(t, servertest.Request{Method: "DELETE", Path: "/api/v1/administration/user-applications/" + b1.Id, Token: admin}); got.Status != 404 {
			t.Fatalf("second admin delete: %d", got.Status)
		}
	})
}

// TestUnauthenticatedEndpoints: health, readiness and JWKS need no token.
func TestUnauthenticatedEndpoints(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		s := servertest.New(t, e, servertest.Options{})
		for _, p := range []string{"/healthz", "/readyz", "/.well-known/jwks.json"} {
			if r := s.Do(t, servertest.Request{Method: "GET", Path: p}); r.Status != 200 {
				t.Errorf("%s: %d %s", p, r.Status, r.Body)
			}
		}
		var jwks struct {
			Keys []map[string]any `json:"keys"`
		}
		s.Do(t, servertest.Request{Method: "GET", Path: "/.well-known/jwks.json"}).JSON(t, &jwks)
		if len(jwks.Keys) != 1 || jwks.Keys[0]["kid"] != s.Signer.KeyID() || jwks.Keys[0]["alg"] != "ES256" || jwks.Keys[0]["d"] != nil {
			t.Fatalf("jwks %+v", jwks)
		}
		// Readiness follows the database.
		s.Store.Close()
		if r := s.Do(t, servertest.Request{Method: "GET", Path: "/readyz"}); r.Status != http.StatusServiceUnavailable {
			t.Fatalf("readyz with the database closed: %d", r.Status)
		}
		if r := s.Do(t, servertest.Request{Method: "GET", Path: "/healthz"}); r.Status != http.StatusOK {
			t.Fatalf("healthz with the database closed: %d", r.Status)
		}
	})
}

// TestContentTypeVariants: JSON with parameters is JSON; extra fields are
// allowed (the schema does not forbid them) and ignored.
func TestContentTypeVariants(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		s := servertest.New(t, e, servertest.Options{})
		tok := s.Token(t, alice, false)
		for i, c := range []struct {
			ct   string
			body string
			want int
		}{
			{"application/json; charset=utf-8", `{"name":"cs-a"}`, 201},
			{"Application/JSON", `{"name":"cs-b"}`, 201},
			{"application/json", `{"name":"cs-c","secret":"mine","createdBy":"mallory"}`, 201},
			{"application/x-www-form-urlencoded", `name=cs-d`, 400},
			{"application/json", `{"name":"cs-e"} trailing`, 400},
		} {
			r := s.Do(t, servertest.Request{Method: "POST", Path: "/api/v1/user-applications", Token: tok, Body: c.body, ContentType: c.ct})
			if r.Status != c.want {
				t.Errorf("case %d (%s %s): %d %s", i, c.ct, c.body, r.Status, r.Body)
			}
		}
		// The extra fields changed nothing: the owner is the caller.
		r := s.Do(t, servertest.Request{Method: "GET", Path: "/api/v1/administration/user-applications?createdBy=mallory", Token: s.Token(t, root, true)})
		if r.Status != 200 || string(r.Body) != "[]\n" && string(r.Body) != "[]" {
			t.Fatalf("body fields set the owner: %s", r.Body)
		}
	})
}

// TestQueryAndBodyEdges: a malformed query never drops a filter (fail
// closed); operations without a request body ignore whatever body and
// Content-Type they get instead of answering an unlisted 400; a bad token
// is a 401 whatever the body.
func TestQueryAndBodyEdges(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		s := servertest.New(t, e, servertest.Options{BodyLimit: 1024})
		tok, admin := s.Token(t, alice, false), s.Token(t, root, true)
		app := create(t, s, tok, "edge")
		for _, q := range []string{"?createdBy=nobody;x", "?createdBy=%zz", "?createdBy=nobody&createdBy=" + alice, "?clientId=%", "?clientId=a%2"} {
			if got := adminList(t, s, admin, q); len(got) != 0 {
				t.Errorf("%s: %d results, want none (fail closed)", q, len(got))
			}
		}
		if got := adminList(t, s, admin, "?createdBy="+alice+"&createdBy=nobody"); len(got) != 1 {
			t.Errorf("repeated filter: first value wins, got %d results", len(got))
		}
		for _, r := range []servertest.Request{
			{Method: "GET", Path: "/api/v1/user-applications", Body: "{", ContentType: "application/json"},
			{Method: "GET", Path: "/api/v1/user-applications/" + app.Id, Body: "x", ContentType: ";;;"},
			{Method: "GET", Path: "/api/v1/administration/user-applications", Body: strings.Repeat("x", 512), ContentType: "text/plain"},
		} {
			if r.Path == "/api/v1/administration/user-applications" {
				r.Token = admin
			} else {
				r.Token = tok
			}
			if got := s.Do(t, r); got.Status != http.StatusOK {
				t.Errorf("%s %s with a stray body: %d %s", r.Method, r.Path, got.Status, got.Body)
			}
		}
		bad := s.Do(t, servertest.Request{Method: "POST", Path: "/api/v1/user-applications", Token: "garbage", Body: "{", ContentType: "application/json"})
		if bad.Status != http.StatusUnauthorized {
			t.Errorf("bad token and bad body: %d, want 401", bad.Status)
		}
		latin := s.Do(t, servertest.Request{Method: "POST", Path: "/api/v1/user-applications", Token: tok, Body: `{"name":"latin"}`, ContentType: "application/json; charset=latin1"})
		if latin.Status != http.StatusBadRequest {
			t.Errorf("charset=latin1: %d", latin.Status)
		}
	})
}
