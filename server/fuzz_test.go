package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/runai-compat/userapps/gen"
	"github.com/runai-compat/userapps/server/servertest"
	"github.com/runai-compat/userapps/store"
	"github.com/runai-compat/userapps/store/dbtest"
)

// Fuzz targets for the request path, through the whole stack (validator,
// auth, handlers, error mapping, the database). servertest checks every response
// against the merged spec, so an off-spec answer fails the target, as do a
// crash and a 5xx. Seed corpora live in testdata/fuzz/<Target>/; CI runs each
// target for a bounded time (make fuzz).

// fuzzStack runs on Postgres when USERAPPS_TEST_DATABASE_URL is set (CI
// sets it: Postgres refuses text that SQLite stores), else on SQLite.
func fuzzStack(f *testing.F) *servertest.Stack {
	engines := dbtest.Engines()
	return servertest.New(f, engines[len(engines)-1], servertest.Options{MaxAppsPerUser: 1 << 30})
}

var fuzzUsers atomic.Int64

// freshUser gives each input its own user, so inputs do not interfere.
func freshUser() string { return fmt.Sprintf("fuzz-%d@example.com", fuzzUsers.Add(1)) }

func noServerError(t *testing.T, what string, r *servertest.Response) {
	t.Helper()
	if r.Status >= 500 {
		t.Fatalf("%s -> %d %s", what, r.Status, r.Body)
	}
}

// namePattern is the create schema's pattern, read from the spec.
func namePattern(f *testing.F) *regexp.Regexp {
	spec, err := gen.GetSpec()
	if err != nil {
		f.Fatal(err)
	}
	return regexp.MustCompile(spec.Components.Schemas["UserAppCreationRequest"].Value.Properties["name"].Value.Pattern)
}

// FuzzCreateName: a name is created exactly when the spec's pattern accepts
// it and it fits the column; once created it is listed under that name.
func FuzzCreateName(f *testing.F) {
	s := fuzzStack(f)
	pattern := namePattern(f)
	f.Fuzz(func(t *testing.T, name string) {
		tok := s.Token(t, freshUser(), false)
		r := s.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/user-applications", Token: tok,
			Body: map[string]string{"name": name}})
		noServerError(t, fmt.Sprintf("POST name %q", name), r)
		valid := pattern.MatchString(name) && len(name) <= store.MaxNameLength
		if valid != (r.Status == http.StatusCreated) {
			t.Fatalf("POST name %q (valid per spec: %v) -> %d %s", name, valid, r.Status, r.Body)
		}
		if !valid {
			return
		}
		var apps []gen.UserApp
		s.Do(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/user-applications", Token: tok}).JSON(t, &apps)
		if len(apps) != 1 || apps[0].Name != name {
			t.Fatalf("created %q, listed %+v", name, apps)
		}
	})
}

// FuzzCreateBody: any body, under any of the content types a client might
// send, gets a listed answer; a 201 only for a body the schema accepts.
func FuzzCreateBody(f *testing.F) {
	s := fuzzStack(f)
	pattern := namePattern(f)
	ctypes := []string{"application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", "application/octet-stream"}
	f.Fuzz(func(t *testing.T, body []byte, ct uint8) {
		ctype := ctypes[int(ct)%len(ctypes)]
		req := servertest.Request{Method: http.MethodPost, Path: "/api/v1/user-applications",
			Token: s.Token(t, freshUser(), false), Body: body, ContentType: ctype}
		r := s.Do(t, req)
		noServerError(t, fmt.Sprintf("POST [%s] %q", ctype, body), r)
		if r.Status != http.StatusCreated {
			return
		}
		var v struct {
			Name *string `json:"name"`
		}
		if !strings.HasPrefix(ctype, "application/json") || !json.Valid(body) || json.Unmarshal(body, &v) != nil ||
			v.Name == nil || !pattern.MatchString(*v.Name) {
			t.Fatalf("POST [%s] %q was accepted: %s", ctype, body, r.Body)
		}
	})
}

// FuzzAppID: ids that name nothing the caller owns are a 404 (or another
// listed 4xx), on every operation that takes one.
func FuzzAppID(f *testing.F) {
	s := fuzzStack(f)
	f.Fuzz(func(t *testing.T, id string) {
		tok := s.Token(t, freshUser(), false)
		admin := s.Token(t, "root@example.com", true)
		esc := url.PathEscape(id)
		for _, c := range []struct{ method, path, token string }{
			{http.MethodGet, "/api/v1/user-applications/" + esc, tok},
			{http.MethodDelete, "/api/v1/user-applications/" + esc, tok},
			{http.MethodPost, "/api/v1/user-applications/" + esc + "/secret", tok},
			{http.MethodDelete, "/api/v1/administration/user-applications/" + esc, admin},
		} {
			r := s.Do(t, servertest.Request{Method: c.method, Path: c.path, Token: c.token})
			noServerError(t, fmt.Sprintf("%s %s", c.method, c.path), r)
			if r.Status < 400 {
				t.Fatalf("%s %s (nothing exists) -> %d %s", c.method, c.path, r.Status, r.Body)
			}
		}
	})
}

// FuzzAuthorization: only the exact valid bearer token gets in; anything else
// is a 401 with the Error body.
func FuzzAuthorization(f *testing.F) {
	s := fuzzStack(f)
	valid := s.Token(f, "alice@example.com", false)
	f.Fuzz(func(t *testing.T, header string, withValid bool) {
		if withValid {
			header = strings.ReplaceAll(header, "TOKEN", valid)
		}
		if !validHeaderValue(header) {
			t.Skip("not sendable as a header value")
		}
		r := s.Do(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/user-applications",
			Header: http.Header{"Authorization": {header}}})
		noServerError(t, fmt.Sprintf("Authorization %q", header), r)
		ok := r.Status == http.StatusOK
		scheme, tok, _ := strings.Cut(strings.TrimSpace(header), " ")
		wellFormed := strings.EqualFold(scheme, "bearer") && strings.TrimSpace(tok) == valid
		if ok != wellFormed || (!ok && r.Status != http.StatusUnauthorized) {
			t.Fatalf("Authorization %q -> %d %s", header, r.Status, r.Body)
		}
	})
}

// validHeaderValue is what net/http will send (RFC 9110 field-value).
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// FuzzGrant: any clientId and secret, through each way of sending them, is
// refused with a listed 4xx (never a 5xx, never a token), and the answer
// never repeats the secret.
func FuzzGrant(f *testing.F) {
	s := fuzzStack(f)
	for _, seed := range []struct {
		id, secret string
		how        uint8
	}{
		{"6f1c2a7e-1b7d-4c59-9f3e-2b8b3f1d0a11", "x", 0}, {"", "", 1}, {"\x00", "s", 2}, {"\xff\xfe", "s", 3},
		{"a:b", "c%00d", 2}, {"%", "%zz", 1}, {strings.Repeat("i", 5000), "s", 0},
	} {
		f.Add(seed.id, seed.secret, seed.how)
	}
	f.Fuzz(func(t *testing.T, id, secret string, how uint8) {
		var r *servertest.Response
		switch how % 4 {
		case 0:
			r = v1(t, s, map[string]string{"grantType": "client_credentials", "clientID": id, "clientSecret": secret})
		case 1:
			r = v1(t, s, map[string]string{"grantType": "app_token", "appID": id, "appSecret": secret})
		case 2:
			r = v2(t, s, url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}, nil)
		default:
			r = v2(t, s, url.Values{"grant_type": {"client_credentials"}}, basicHeader(id, secret))
		}
		noServerError(t, fmt.Sprintf("grant %d id %q", how%4, id), r)
		if r.Status != http.StatusBadRequest && r.Status != http.StatusUnauthorized && r.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("grant %d id %q secret %q -> %d %s", how%4, id, secret, r.Status, r.Body)
		}
		if len(secret) >= 4 && strings.Contains(string(r.Body), secret) {
			t.Fatalf("answer repeats the secret %q: %s", secret, r.Body)
		}
	})
}
