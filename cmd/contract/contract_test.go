package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/runai-compat/userapps/server/servertest"
	"github.com/runai-compat/userapps/store/dbtest"
)

func suiteConfig(t *testing.T, s *servertest.Stack, url string) config {
	expired, _, err := s.Signer.Sign(jwt.MapClaims{"sub": "alice@example.com", "email": "alice@example.com", "roles": []any{}}, -time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return config{
		BaseURL: url, DirectURL: url, Spec: "../../openapi/runai.yaml",
		Token: s.Token(t, "alice@example.com", false), OtherToken: s.Token(t, "bob@example.com", false),
		AdminToken: s.Token(t, "root@example.com", true), ExpiredToken: expired,
		MaxNameLength: 255, Seed: 1,
	}
}

// The suite passes against the real stack on every engine.
func TestSuitePassesOnTheService(t *testing.T) {
	for _, e := range dbtest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			s := servertest.New(t, e, servertest.Options{})
			var out bytes.Buffer
			n, err := runSuite(context.Background(), suiteConfig(t, s, s.URL), &out)
			if err != nil || n != 0 {
				t.Fatalf("%d failures, err %v\n%s", n, err, out.String())
			}
		})
	}
}

// The suite fails when the service departs from the spec: each mutation
// breaks the responses in one way, and must be caught.
func TestSuiteCatchesBrokenResponses(t *testing.T) {
	mutations := []struct {
		name   string
		mutate func(status int, body any) (int, any)
		want   string
	}{
		{"required field missing", func(st int, b any) (int, any) {
			walkObjects(b, func(m map[string]any) { delete(m, "clientId") })
			return st, b
		}, "clientId"},
		{"wrong type", func(st int, b any) (int, any) {
			walkObjects(b, func(m map[string]any) {
				if _, ok := m["createdAt"]; ok {
					m["createdAt"] = 12
				}
			})
			return st, b
		}, "createdAt"},
		{"401 answered as 403", func(st int, b any) (int, any) {
			if st == 401 {
				walkObjects(b, func(m map[string]any) { m["code"] = 403 })
				return 403, b
			}
			return st, b
		}, "want 401"},
		{"unlisted status", func(st int, b any) (int, any) {
			if st == 404 {
				walkObjects(b, func(m map[string]any) { m["code"] = 410 })
				return 410, b
			}
			return st, b
		}, "not listed"},
		{"Error without message", func(st int, b any) (int, any) {
			walkObjects(b, func(m map[string]any) { delete(m, "message") })
			return st, b
		}, "message"},
		{"created item not listed", func(st int, b any) (int, any) {
			if arr, ok := b.([]any); ok && len(arr) > 0 {
				return st, arr[1:]
			}
			return st, b
		}, "missing from the list"},
	}
	s := servertest.New(t, dbtest.Engines()[0], servertest.Options{})
	target, _ := url.Parse(s.URL)
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			proxy := httputil.NewSingleHostReverseProxy(target)
			proxy.ModifyResponse = func(r *http.Response) error {
				data, err := io.ReadAll(r.Body)
				if err != nil {
					return err
				}
				var v any
				if json.Unmarshal(data, &v) == nil && strings.HasPrefix(r.Request.URL.Path, "/api/") {
					st, nv := m.mutate(r.StatusCode, v)
					r.StatusCode = st
					data, _ = json.Marshal(nv)
				}
				r.Body = io.NopCloser(bytes.NewReader(data))
				r.ContentLength = int64(len(data))
				r.Header.Set("Content-Length", strconv.Itoa(len(data)))
				return nil
			}
			front := httptest.NewServer(proxy)
			defer front.Close()
			var out bytes.Buffer
			n, err := runSuite(context.Background(), suiteConfig(t, s, front.URL), &out)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 || !strings.Contains(out.String(), m.want) {
				t.Fatalf("suite did not catch %q (%d failures, want one mentioning %q)\n%s", m.name, n, m.want, out.String())
			}
		})
	}
}

func walkObjects(v any, f func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		f(x)
	case []any:
		for _, e := range x {
			walkObjects(e, f)
		}
	}
}
