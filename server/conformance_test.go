package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/runai-compat/userapps/server/servertest"
	"github.com/runai-compat/userapps/store"
	"github.com/runai-compat/userapps/store/dbtest"
)

// Departures the contract suite found; each case pins the fix.

func TestJSONBodyMustBeOneValue(t *testing.T) {
	for _, e := range dbtest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			s := servertest.New(t, e, servertest.Options{})
			tok := s.Token(t, "alice@example.com", false)
			for _, body := range []string{`{"name":"ab"}}`, `{"name":"ab"} {"name":"cd"}`, `{"name":"ab"}x`} {
				r := s.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/user-applications", Token: tok, Body: body})
				if r.Status != http.StatusBadRequest {
					t.Errorf("POST %s -> %d %s, want 400", body, r.Status, r.Body)
				}
			}
			var apps []map[string]any
			s.Do(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/user-applications", Token: tok}).JSON(t, &apps)
			if len(apps) != 0 {
				t.Errorf("a malformed body created %v", apps)
			}
			// Whitespace around the one value is still fine.
			if r := s.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/user-applications", Token: tok, Body: " {\"name\":\"ab\"}\n"}); r.Status != http.StatusCreated {
				t.Errorf("POST with surrounding whitespace -> %d %s", r.Status, r.Body)
			}
		})
	}
}

// Names longer than the column were a 500 on Postgres (and stored on SQLite).
func TestNameLengthLimit(t *testing.T) {
	for _, e := range dbtest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			s := servertest.New(t, e, servertest.Options{})
			tok := s.Token(t, "alice@example.com", false)
			longest := "a" + strings.Repeat("-", store.MaxNameLength-2) + "z"
			if r := s.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/user-applications", Token: tok,
				Body: map[string]string{"name": longest}}); r.Status != http.StatusCreated {
				t.Errorf("name of %d chars -> %d %s, want 201", len(longest), r.Status, r.Body)
			}
			for _, n := range []int{store.MaxNameLength + 1, 10 * store.MaxNameLength} {
				r := s.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/user-applications", Token: tok,
					Body: map[string]string{"name": strings.Repeat("b", n)}})
				if r.Status != http.StatusBadRequest {
					t.Errorf("name of %d chars -> %d %s, want 400", n, r.Status, r.Body)
				}
			}
		})
	}
}

// Filters no stored value can match (NUL, invalid UTF-8) were a 500 on
// Postgres; they match nothing.
func TestAdminFiltersOnUnstorableValues(t *testing.T) {
	for _, e := range dbtest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			s := servertest.New(t, e, servertest.Options{})
			s.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/user-applications",
				Token: s.Token(t, "alice@example.com", false), Body: map[string]string{"name": "ab"}})
			admin := s.Token(t, "root@example.com", true)
			for _, q := range []string{"createdBy=%00", "createdBy=%FF", "clientId=%00", "clientId=a%00b", "clientId=%C3%28"} {
				r := s.Do(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/administration/user-applications?" + q, Token: admin})
				if r.Status != http.StatusOK || strings.TrimSpace(string(r.Body)) != "[]" {
					t.Errorf("?%s -> %d %s, want 200 []", q, r.Status, r.Body)
				}
			}
		})
	}
}

// A repeated filter was a 400, which the list operation does not list; the
// first value, the one the validator checked, is used.
func TestRepeatedQueryParameterUsesFirst(t *testing.T) {
	s := servertest.New(t, dbtest.Engines()[0], servertest.Options{})
	for _, u := range []string{"alice@example.com", "bob@example.com"} {
		s.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/user-applications",
			Token: s.Token(t, u, false), Body: map[string]string{"name": "ab"}})
	}
	var apps []map[string]any
	r := s.Do(t, servertest.Request{Method: http.MethodGet, Token: s.Token(t, "root@example.com", true),
		Path: "/api/v1/administration/user-applications?createdBy=bob@example.com&createdBy=alice@example.com"})
	if r.Status != http.StatusOK {
		t.Fatalf("-> %d %s, want 200", r.Status, r.Body)
	}
	r.JSON(t, &apps)
	if len(apps) != 1 || apps[0]["createdBy"] != "bob@example.com" {
		t.Errorf("got %v, want bob's application only", apps)
	}
}
