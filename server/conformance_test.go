package server_test

import (
	"net/http"
	"testing"

	"github.com/runai-compat/userapps/server/servertest"
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
