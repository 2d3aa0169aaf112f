package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/runai-compat/userapps/gen"
	"github.com/runai-compat/userapps/server"
	"github.com/runai-compat/userapps/server/servertest"
	"github.com/runai-compat/userapps/store/dbtest"
)

// Tokens: a user application's credentials are exchanged for a token that
// acts as the application's creator. Every test runs on every engine, over
// HTTP through the whole stack, and servertest checks every response
// against the merged spec.

type app struct{ id, clientID, secret string }

func createApp(t *testing.T, s *servertest.Stack, token, name string) app {
	t.Helper()
	r := s.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/user-applications", Token: token,
		Body: gen.CreateUserApplicationJSONRequestBody{Name: name}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create %s: %d %s", name, r.Status, r.Body)
	}
	var out gen.CreateUserApplication201JSONResponse
	r.JSON(t, &out)
	return app{id: out.Id, clientID: out.ClientId, secret: out.Secret}
}

// The four accepted ways to log in.
type grantForm struct {
	name string
	do   func(t *testing.T, s *servertest.Stack, id, secret string) *servertest.Response
}

func v1(t *testing.T, s *servertest.Stack, body any) *servertest.Response {
	t.Helper()
	return s.Do(t, servertest.Request{Method: http.MethodPost, Path: server.PathTokenV1, Body: body})
}

func v2(t *testing.T, s *servertest.Stack, form url.Values, header http.Header) *servertest.Response {
	t.Helper()
	return s.Do(t, servertest.Request{Method: http.MethodPost, Path: server.PathTokenV2, Body: form, Header: header})
}

func basicHeader(id, secret string) http.Header {
	raw := url.QueryEscape(id) + ":" + url.QueryEscape(secret)
	return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(raw))}}
}

var grantForms = []grantForm{
	{"v1 client_credentials", func(t *testing.T, s *servertest.Stack, id, secret string) *servertest.Response {
		return v1(t, s, map[string]string{"grantType": "client_credentials", "clientID": id, "clientSecret": secret})
	}},
	{"v1 client_credentials as the Run:ai docs spell it (clientId)", func(t *testing.T, s *servertest.Stack, id, secret string) *servertest.Response {
		return v1(t, s, map[string]string{"grantType": "client_credentials", "clientId": id, "clientSecret": secret})
	}},
	{"v1 app_token", func(t *testing.T, s *servertest.Stack, id, secret string) *servertest.Response {
		return v1(t, s, map[string]string{"grantType": "app_token", "appID": id, "appSecret": secret})
	}},
	{"v1 app_token as the runai Python client sends it (AppId/AppSecret)", func(t *testing.T, s *servertest.Stack, id, secret string) *servertest.Response {
		return v1(t, s, map[string]string{"grantType": "app_token", "AppId": id, "AppSecret": secret})
	}},
	{"v2 body credentials", func(t *testing.T, s *servertest.Stack, id, secret string) *servertest.Response {
		return v2(t, s, url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}, nil)
	}},
	{"v2 HTTP Basic", func(t *testing.T, s *servertest.Stack, id, secret string) *servertest.Response {
		return v2(t, s, url.Values{"grant_type": {"client_credentials"}}, basicHeader(id, secret))
	}},
}

// accessToken returns the token of a successful grant of either version,
// checking the token-response headers and expiresIn.
func accessToken(t *testing.T, r *servertest.Response, ttl time.Duration) string {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("grant: %d %s", r.Status, r.Body)
	}
	if cc, p := r.Header.Get("Cache-Control"), r.Header.Get("Pragma"); cc != "no-store" || p != "no-cache" {
		t.Errorf("Cache-Control %q, Pragma %q; want no-store, no-cache", cc, p)
	}
	var body map[string]any
	r.JSON(t, &body)
	tok, _ := body["accessToken"].(string)
	exp := body["expiresIn"]
	if tok == "" {
		tok, _ = body["access_token"].(string)
		exp = body["expires_in"]
		if body["token_type"] != "Bearer" {
			t.Errorf("token_type %v, want Bearer", body["token_type"])
		}
	}
	if tok == "" {
		t.Fatalf("no access token in %s", r.Body)
	}
	if exp != ttl.Seconds() {
		t.Errorf("expires in %v, want %v", exp, ttl.Seconds())
	}
	return tok
}

func claimsOf(t *testing.T, tok string) jwt.MapClaims {
	t.Helper()
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, c); err != nil {
		t.Fatalf("parse %s: %v", tok, err)
	}
	return c
}

func TestGrantEachFormThenCallEveryOperation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		const ttl = 15 * time.Minute
		s := servertest.New(t, e, servertest.Options{TokenTTL: ttl})
		a := createApp(t, s, s.Token(t, alice, false), "ci")
		admin := s.Token(t, root, true)
		for i, f := range grantForms {
			t.Run(f.name, func(t *testing.T) {
				before := time.Now().Unix()
				tok := accessToken(t, f.do(t, s, a.clientID, a.secret), ttl)

				c := claimsOf(t, tok)
				for k, want := range map[string]any{
					"iss": servertest.Issuer, "sub": alice, "email": alice, "client_id": a.clientID, "azp": a.clientID,
				} {
					if c[k] != want {
						t.Errorf("claim %s = %v, want %v", k, c[k], want)
					}
				}
				iat, _ := c["iat"].(float64)
				exp, _ := c["exp"].(float64)
				if int64(iat) < before || exp-iat != ttl.Seconds() || c["jti"] == "" || c["jti"] == nil {
					t.Errorf("iat %v exp %v jti %v: want iat >= %d, exp = iat + %v, a jti", iat, exp, c["jti"], before, ttl)
				}
				// The runai Python client reads exp by decoding the payload
				// with standard (not URL) base64; it must come out whole.
				payload := strings.Split(tok, ".")[1]
				if strings.ContainsAny(payload, "-_") {
					t.Errorf("payload %q has URL-alphabet characters the Python client cannot decode", payload)
				}

				// The token acts as alice on every operation.
				r := s.Do(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/user-applications", Token: tok})
				var list gen.GetUserApplications200JSONResponse
				r.JSON(t, &list)
				if r.Status != http.StatusOK || len(list) != 1+i || list[0].ClientId != a.clientID {
					t.Fatalf("list with granted token: %d %s", r.Status, r.Body)
				}
				child := createApp(t, s, tok, "child-"+string(rune('a'+i)))
				r = s.Do(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/user-applications/" + child.id, Token: tok})
				if r.Status != http.StatusOK {
					t.Errorf("get own child: %d %s", r.Status, r.Body)
				}
				r = s.Do(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/administration/user-applications",
					Token: admin})
				var all gen.GetUserApplicationsAdministration200JSONResponse
				r.JSON(t, &all)
				for _, x := range all {
					if x.Id == child.id && x.CreatedBy != alice {
						t.Errorf("child created by %q, want %q", x.CreatedBy, alice)
					}
				}
				r = s.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/user-applications/" + child.id + "/secret", Token: tok})
				if r.Status != http.StatusOK {
					t.Errorf("regenerate own child: %d %s", r.Status, r.Body)
				}
				// alice is no admin, so neither is her application's token.
				r = s.Do(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/administration/user-applications", Token: tok})
				if r.Status != http.StatusForbidden {
					t.Errorf("admin list with non-admin app token: %d %s", r.Status, r.Body)
				}
				r = s.Do(t, servertest.Request{Method: http.MethodDelete, Path: "/api/v1/administration/user-applications/" + child.id, Token: tok})
				if r.Status != http.StatusForbidden {
					t.Errorf("admin delete with non-admin app token: %d %s", r.Status, r.Body)
				}
				// Keep one child per form, so the list count above grows by one.
				other := createApp(t, s, tok, "doomed-"+string(rune('a'+i)))
				r = s.Do(t, servertest.Request{Method: http.MethodDelete, Path: "/api/v1/user-applications/" + other.id, Token: tok})
				if r.Status != http.StatusNoContent {
					t.Errorf("delete own app: %d %s", r.Status, r.Body)
				}
			})
		}
	})
}

func TestLastLogin(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		s := servertest.New(t, e, servertest.Options{})
		user, admin := s.Token(t, alice, false), s.Token(t, root, true)
		a := createApp(t, s, user, "ci")
		lastLogins := func() []*time.Time {
			var one gen.GetUserApplicationById200JSONResponse
			s.Do(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/user-applications/" + a.id, Token: user}).JSON(t, &one)
			var list gen.GetUserApplications200JSONResponse
			s.Do(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/user-applications", Token: user}).JSON(t, &list)
			var all gen.GetUserApplicationsAdministration200JSONResponse
			s.Do(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/administration/user-applications?clientId=" + a.clientID, Token: admin}).JSON(t, &all)
			if len(list) != 1 || len(all) != 1 {
				t.Fatalf("want the one app in both lists, got %d and %d", len(list), len(all))
			}
			return []*time.Time{one.LastLogin, list[0].LastLogin, all[0].LastLogin}
		}
		for i, l := range lastLogins() {
			if l != nil {
				t.Errorf("view %d: lastLogin %v before any login, want null", i, l)
			}
		}
		// A failed login is no login.
		if r := grantForms[0].do(t, s, a.clientID, "wrong"); r.Status != http.StatusUnauthorized {
			t.Fatalf("wrong secret: %d", r.Status)
		}
		for i, l := range lastLogins() {
			if l != nil {
				t.Errorf("view %d: lastLogin %v after a failed login, want null", i, l)
			}
		}
		var prev time.Time
		for _, f := range []grantForm{grantForms[0], grantForms[5]} {
			before := time.Now().UTC().Truncate(time.Microsecond)
			accessToken(t, f.do(t, s, a.clientID, a.secret), time.Hour)
			after := time.Now().UTC()
			for i, l := range lastLogins() {
				if l == nil || l.Before(before) || l.After(after) || l.Location() != time.UTC || !l.After(prev) {
					t.Errorf("%s, view %d: lastLogin %v, want UTC within [%v, %v] and after the previous %v", f.name, i, l, before, after, prev)
				}
			}
			prev = *lastLogins()[0]
		}
	})
}

func TestRegenerateRefusesOldSecretAtOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		s := servertest.New(t, e, servertest.Options{})
		user := s.Token(t, alice, false)
		a := createApp(t, s, user, "ci")
		for _, f := range grantForms {
			accessToken(t, f.do(t, s, a.clientID, a.secret), time.Hour)
		}
		r := s.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/user-applications/" + a.id + "/secret", Token: user})
		var regen gen.RegenerateUserApplicationSecret200JSONResponse
		r.JSON(t, &regen)
		if r.Status != http.StatusOK || regen.Secret == nil || *regen.Secret == a.secret {
			t.Fatalf("regenerate: %d %s", r.Status, r.Body)
		}
		for _, f := range grantForms {
			if r := f.do(t, s, a.clientID, a.secret); r.Status != http.StatusUnauthorized {
				t.Errorf("%s with the old secret: %d %s, want 401", f.name, r.Status, r.Body)
			}
			accessToken(t, f.do(t, s, a.clientID, *regen.Secret), time.Hour)
		}
	})
}

// waitRefused polls with tok until it is refused with 401, for at most the
// revocation cache's TTL and a margin; it returns how long that took.
func waitRefused(t *testing.T, s *servertest.Stack, tok string) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(server.RevocationCacheTTL + time.Second)
	for {
		r := s.Do(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/user-applications", Token: tok})
		if r.Status == http.StatusUnauthorized {
			if e := r.Error(t); e.Code != http.StatusUnauthorized || e.Message != "missing or invalid bearer token" {
				t.Errorf("refusal body %s", r.Body)
			}
			return time.Since(start)
		}
		if r.Status != http.StatusOK {
			t.Fatalf("while waiting for revocation: %d %s", r.Status, r.Body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("token of a deleted application still accepted after %v", time.Since(start))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDeleteRevokesTokensAndGrants(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		s := servertest.New(t, e, servertest.Options{})
		user, admin := s.Token(t, alice, false), s.Token(t, root, true)
		for _, by := range []string{"owner", "admin"} {
			t.Run("deleted by "+by, func(t *testing.T) {
				a := createApp(t, s, user, "ci-"+by)
				tokens := make([]string, len(grantForms))
				for i, f := range grantForms {
					tokens[i] = accessToken(t, f.do(t, s, a.clientID, a.secret), time.Hour)
				}
				// Warm the revocation cache with "exists" first.
				for _, tok := range tokens {
					if r := s.Do(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/user-applications", Token: tok}); r.Status != http.StatusOK {
						t.Fatalf("before delete: %d %s", r.Status, r.Body)
					}
				}
				req := servertest.Request{Method: http.MethodDelete, Path: "/api/v1/user-applications/" + a.id, Token: user}
				if by == "admin" {
					req = servertest.Request{Method: http.MethodDelete, Path: "/api/v1/administration/user-applications/" + a.id, Token: admin}
				}
				if r := s.Do(t, req); r.Status != http.StatusNoContent {
					t.Fatalf("delete: %d %s", r.Status, r.Body)
				}
				for _, f := range grantForms { // new grants fail at once
					if r := f.do(t, s, a.clientID, a.secret); r.Status != http.StatusUnauthorized {
						t.Errorf("%s after delete: %d %s", f.name, r.Status, r.Body)
					}
				}
				// The replica that deleted refuses at once (its cache is told).
				for _, tok := range tokens {
					if r := s.Do(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/user-applications", Token: tok}); r.Status != http.StatusUnauthorized {
						t.Errorf("same replica, token after delete: %d %s", r.Status, r.Body)
					}
				}
				// The user's own token (no client_id) is untouched.
				if r := s.Do(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/user-applications", Token: user}); r.Status != http.StatusOK {
					t.Errorf("user token after app delete: %d", r.Status)
				}
			})
		}
	})
}

// TestDeleteReachesOtherReplicas: a second server on the same database, whose
// cache said "exists", refuses the token within the cache TTL.
func TestDeleteReachesOtherReplicas(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		a := servertest.New(t, e, servertest.Options{})
		b := servertest.NewWith(t, a.Store, a.Signer, servertest.Options{})
		user := a.Token(t, alice, false)
		app := createApp(t, a, user, "shared")
		tok := accessToken(t, grantForms[0].do(t, a, app.clientID, app.secret), time.Hour)
		if r := b.Do(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/user-applications", Token: tok}); r.Status != http.StatusOK {
			t.Fatalf("replica b before delete: %d", r.Status)
		}
		if r := a.Do(t, servertest.Request{Method: http.MethodDelete, Path: "/api/v1/user-applications/" + app.id, Token: user}); r.Status != http.StatusNoContent {
			t.Fatalf("delete on a: %d", r.Status)
		}
		t.Logf("replica b refused after %v (TTL %v)", waitRefused(t, b, tok), server.RevocationCacheTTL)
	})
}

func TestTokenActsWithCreatorsAdminSnapshot(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		s := servertest.New(t, e, servertest.Options{})
		byAdmin := createApp(t, s, s.Token(t, root, true), "ops")
		byUser := createApp(t, s, s.Token(t, bob, false), "ci")
		for _, c := range []struct {
			app  app
			want int
		}{{byAdmin, http.StatusOK}, {byUser, http.StatusForbidden}} {
			for _, f := range grantForms {
				tok := accessToken(t, f.do(t, s, c.app.clientID, c.app.secret), time.Hour)
				r := s.Do(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/administration/user-applications", Token: tok})
				if r.Status != c.want {
					t.Errorf("%s: admin list: %d %s, want %d", f.name, r.Status, r.Body, c.want)
				}
			}
		}
	})
}

func TestBadGrants(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		logs := &servertest.SyncBuffer{}
		s := servertest.New(t, e, servertest.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
		a := createApp(t, s, s.Token(t, alice, false), "ci")
		// Secret-shaped values that must never come back or reach the logs.
		const wrong = "WRONG-zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
		unknown := "00000000-0000-4000-8000-000000000000"
		cc := func(id, secret string) map[string]any {
			return map[string]any{"grantType": "client_credentials", "clientID": id, "clientSecret": secret}
		}
		badCreds := gen.Error{Code: 401, Message: "invalid client credentials"}
		for _, c := range []struct {
			name string
			body any
			want gen.Error
		}{
			{"wrong secret", cc(a.clientID, wrong), badCreds},
			{"unknown client", cc(unknown, wrong), badCreds},
			{"secret pasted as clientID", cc(a.secret, a.secret), badCreds},
			{"app_token wrong secret", map[string]any{"grantType": "app_token", "appID": a.clientID, "appSecret": wrong}, badCreds},
			{"grantType missing", map[string]any{"clientID": a.clientID, "clientSecret": a.secret},
				gen.Error{Code: 400, Message: "grantType is required"}},
			{"empty body", "", gen.Error{Code: 400, Message: "grantType is required"}},
			{"unknown grantType", map[string]any{"grantType": "magic", "clientID": a.clientID, "clientSecret": a.secret},
				gen.Error{Code: 400, Message: `invalid request body field "grantType": value is not one of the allowed values ["app_token","client_credentials","refresh_token","exchange_token","password","external_token_exchange"]`}},
			{"unsupported grantType", map[string]any{"grantType": "password", "username": alice, "password": wrong},
				gen.Error{Code: 400, Message: "unsupported grantType password: use client_credentials (or the deprecated app_token)"}},
			{"grantType outside the enum through a case-variant key", map[string]any{"GrantType": wrong, "clientID": a.clientID},
				gen.Error{Code: 400, Message: "unsupported grantType: use client_credentials (or the deprecated app_token)"}},
			{"clientSecret missing", map[string]any{"grantType": "client_credentials", "clientID": a.clientID},
				gen.Error{Code: 400, Message: "grantType client_credentials requires clientID and clientSecret"}},
			{"app_token with client fields", map[string]any{"grantType": "app_token", "clientID": a.clientID, "clientSecret": a.secret},
				gen.Error{Code: 400, Message: "grantType app_token requires appID and appSecret"}},
			{"clientSecret not a string", map[string]any{"grantType": "client_credentials", "clientID": a.clientID, "clientSecret": 42},
				gen.Error{Code: 400, Message: `invalid request body field "clientSecret": value must be a string`}},
			{"not JSON", `{"grantType":"client_credentials","clientSecret":` + wrong,
				gen.Error{Code: 400, Message: "invalid request body: not a single well-formed JSON value"}},
		} {
			t.Run("v1 "+c.name, func(t *testing.T) {
				r := v1(t, s, c.body)
				if got := r.Error(t); r.Status != c.want.Code || got.Code != c.want.Code || got.Message != c.want.Message || got.Details != nil {
					t.Errorf("got %d %s, want %d %+v", r.Status, r.Body, c.want.Code, c.want)
				}
				if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("WWW-Authenticate") != "" {
					t.Errorf("headers %v: want Cache-Control no-store and no Bearer challenge", r.Header)
				}
			})
		}

		form := func(kv ...string) url.Values {
			v := url.Values{}
			for i := 0; i < len(kv); i += 2 {
				v.Add(kv[i], kv[i+1])
			}
			return v
		}
		basicRealm := `Basic realm="userapps", charset="UTF-8"`
		for _, c := range []struct {
			name      string
			path      string
			body      any
			header    http.Header
			status    int
			want      gen.OAuth2ErrorError
			desc      string
			challenge string
		}{
			{"wrong secret in body", "", form("grant_type", "client_credentials", "client_id", a.clientID, "client_secret", wrong), nil,
				401, gen.InvalidClient, "client authentication failed", ""},
			{"unknown client in body", "", form("grant_type", "client_credentials", "client_id", unknown, "client_secret", wrong), nil,
				401, gen.InvalidClient, "client authentication failed", ""},
			{"wrong secret by Basic", "", form("grant_type", "client_credentials"), basicHeader(a.clientID, wrong),
				401, gen.InvalidClient, "client authentication failed", basicRealm},
			{"unknown client by Basic", "", form("grant_type", "client_credentials"), basicHeader(unknown, wrong),
				401, gen.InvalidClient, "client authentication failed", basicRealm},
			{"no client authentication", "", form("grant_type", "client_credentials"), nil,
				401, gen.InvalidClient, "client authentication required: client_id and client_secret in the body, or HTTP Basic", ""},
			{"client_secret missing", "", form("grant_type", "client_credentials", "client_id", a.clientID), nil,
				401, gen.InvalidClient, "client authentication required: client_id and client_secret in the body, or HTTP Basic", ""},
			{"Basic with bad base64", "", form("grant_type", "client_credentials"), http.Header{"Authorization": {"Basic %%%not-base64"}},
				400, gen.InvalidRequest, "malformed HTTP Basic credentials", ""},
			{"Basic without a colon", "", form("grant_type", "client_credentials"),
				http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(a.clientID))}},
				400, gen.InvalidRequest, "malformed HTTP Basic credentials", ""},
			{"Bearer instead of client authentication", "", form("grant_type", "client_credentials"), http.Header{"Authorization": {"Bearer x.y.z"}},
				401, gen.InvalidClient, "unsupported client authentication: use HTTP Basic or client_id/client_secret in the body", basicRealm},
			{"both Basic and body credentials", "", form("grant_type", "client_credentials", "client_id", a.clientID, "client_secret", a.secret),
				basicHeader(a.clientID, a.secret),
				400, gen.InvalidRequest, "client credentials given both in the Authorization header and in the body; use one", ""},
			{"Basic and a different body client_id", "", form("grant_type", "client_credentials", "client_id", unknown),
				basicHeader(a.clientID, a.secret),
				400, gen.InvalidRequest, "client_id in the body differs from the one in the Authorization header", ""},
			{"grant_type missing", "", form("client_id", a.clientID, "client_secret", a.secret), nil,
				400, gen.InvalidRequest, `invalid request body field "grant_type": property "grant_type" is missing`, ""},
			{"unknown grant_type", "", form("grant_type", "magic", "client_id", a.clientID, "client_secret", wrong), nil,
				400, gen.UnsupportedGrantType, `invalid request body field "grant_type": value is not one of the allowed values ["authorization_code","client_credentials","password","refresh_token"]`, ""},
			{"unsupported grant_type", "", form("grant_type", "password", "username", alice, "password", wrong), nil,
				400, gen.UnsupportedGrantType, "only grant_type=client_credentials is supported", ""},
			{"repeated client_secret", "", form("grant_type", "client_credentials", "client_id", a.clientID, "client_secret", a.secret, "client_secret", wrong), nil,
				400, gen.InvalidRequest, "client_secret is repeated", ""},
			{"secret in the URL", "?client_secret=" + wrong, form("grant_type", "client_credentials", "client_id", a.clientID), nil,
				400, gen.InvalidRequest, "client_secret must be sent in the request body, not the URL", ""},
			{"JSON instead of a form", "", `{"grant_type":"client_credentials","client_secret":"` + wrong + `"}`, nil,
				400, gen.InvalidRequest, `invalid request: header Content-Type has unexpected value "application/json"`, ""},
		} {
			t.Run("v2 "+c.name, func(t *testing.T) {
				r := s.Do(t, servertest.Request{Method: http.MethodPost, Path: server.PathTokenV2 + c.path, Body: c.body, Header: c.header})
				got := r.OAuth2Error(t)
				if r.Status != c.status || got.Error != c.want || got.ErrorDescription == nil || *got.ErrorDescription != c.desc {
					t.Errorf("got %d %s, want %d %s %q", r.Status, r.Body, c.status, c.want, c.desc)
				}
				if ch := r.Header.Get("WWW-Authenticate"); ch != c.challenge {
					t.Errorf("WWW-Authenticate %q, want %q", ch, c.challenge)
				}
				if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Pragma") != "no-cache" {
					t.Errorf("headers %v: want Cache-Control no-store, Pragma no-cache", r.Header)
				}
			})
		}

		// No secret, right or wrong, in any answer above (checked in their
		// bodies by exact match) or in the logs; each refusal logged once.
		out := logs.String()
		for _, secret := range []string{wrong, a.secret} {
			if strings.Contains(out, secret) {
				t.Errorf("a secret reached the logs:\n%s", out)
			}
		}
		if n := strings.Count(out, `"msg":"token grant refused"`); n != 8 {
			t.Errorf("%d refusals logged, want 8 (one per credential failure):\n%s", n, out)
		}
		if !strings.Contains(out, `"client_id":"`+a.clientID+`"`) || !strings.Contains(out, `"reason":"unknown client"`) {
			t.Errorf("refusals should name the clientId and reason:\n%s", out)
		}
	})
}

func TestDiscoveryDocument(t *testing.T) {
	e := dbtest.Engines()[0]
	for _, c := range []struct {
		name, public string
		header       http.Header
		want         func(s *servertest.Stack) string
	}{
		{"derived from the request", "", nil, func(s *servertest.Stack) string { return s.URL }},
		{"behind a TLS proxy", "", http.Header{"X-Forwarded-Proto": {"https"}},
			func(s *servertest.Stack) string { return "https://" + strings.TrimPrefix(s.URL, "http://") }},
		{"configured", "https://userapps.example.com/", nil, func(*servertest.Stack) string { return "https://userapps.example.com" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := servertest.New(t, e, servertest.Options{PublicURL: c.public})
			r := s.Do(t, servertest.Request{Method: http.MethodGet, Path: server.PathOpenIDConfig, Header: c.header})
			var doc map[string]any
			r.JSON(t, &doc)
			base := c.want(s)
			want := map[string]any{
				"issuer": servertest.Issuer, "jwks_uri": base + "/.well-known/jwks.json", "token_endpoint": base + "/api/v2/token",
				"grant_types_supported":                 []any{"client_credentials"},
				"token_endpoint_auth_methods_supported": []any{"client_secret_basic", "client_secret_post"},
			}
			gotJSON, _ := json.Marshal(doc)
			wantJSON, _ := json.Marshal(want)
			if r.Status != http.StatusOK || !bytes.Equal(gotJSON, wantJSON) {
				t.Errorf("got %d %s\nwant %s", r.Status, gotJSON, wantJSON)
			}
			// Built from the request's Host, it must not be cached for others.
			if cc := r.Header.Get("Cache-Control"); (c.public == "") != (cc == "no-store") {
				t.Errorf("Cache-Control %q with public URL %q", cc, c.public)
			}
		})
	}
}

// TestUnstorableCredentials: clientIds no database can hold (NUL, invalid
// UTF-8) are just wrong credentials, on Postgres too (it refused the query: 500).
func TestUnstorableCredentials(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		s := servertest.New(t, e, servertest.Options{})
		for _, id := range []string{"\x00", "a\x00b", "\xff", "\xc3\x28"} {
			if r := v2(t, s, url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {"x"}}, nil); r.Status != http.StatusUnauthorized {
				t.Errorf("v2 form client_id %q: %d %s", id, r.Status, r.Body)
			}
			if r := v2(t, s, url.Values{"grant_type": {"client_credentials"}}, basicHeader(id, "x")); r.Status != http.StatusUnauthorized {
				t.Errorf("v2 Basic client_id %q: %d %s", id, r.Status, r.Body)
			}
		}
		if r := v1(t, s, `{"grantType":"client_credentials","clientID":"\u0000","clientSecret":"x"}`); r.Status != http.StatusUnauthorized {
			t.Errorf("v1 clientID NUL: %d %s", r.Status, r.Body)
		}
	})
}

// TestTokenErrorEdges: a 413 on a token route is no-store too, and a field
// of the wrong type is said in the spec's terms, not the binder's.
func TestTokenErrorEdges(t *testing.T) {
	e := dbtest.Engines()[0]
	s := servertest.New(t, e, servertest.Options{BodyLimit: 512})
	big := s.Do(t, servertest.Request{Method: http.MethodPost, Path: server.PathTokenV1, Body: `{"clientID":"` + strings.Repeat("x", 1024) + `"}`})
	if big.Status != http.StatusRequestEntityTooLarge || big.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("oversized v1 grant: %d, Cache-Control %q", big.Status, big.Header.Get("Cache-Control"))
	}
	r := v1(t, s, `{"GRANTTYPE":5}`)
	if msg := r.Error(t).Message; r.Status != http.StatusBadRequest || strings.Contains(msg, "Unmarshal") || strings.Contains(msg, "gen.") {
		t.Errorf("wrong-typed field: %d %q", r.Status, msg)
	}
}

func TestRevocationCheckFailureIsNot401(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		s := servertest.New(t, e, servertest.Options{})
		a := createApp(t, s, s.Token(t, alice, false), "ci")
		tok := accessToken(t, grantForms[4].do(t, s, a.clientID, a.secret), time.Hour)
		if err := s.Store.Close(); err != nil {
			t.Fatal(err)
		}
		// The database cannot say whether the application exists: that is
		// the service's failure, not a bad token.
		r := s.Do(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/user-applications", Token: tok})
		if got := r.Error(t); r.Status != http.StatusInternalServerError || got.Message != "internal error" {
			t.Errorf("got %d %s, want 500 internal error", r.Status, r.Body)
		}
	})
}

// The public runai Python client (runapy) logs in with
// {"grantType":"app_token","AppId":...,"AppSecret":...}, reads accessToken,
// decodes the JWT payload with standard base64 (not URL-safe) plus "==" to
// find exp, then sends content-type: application/json and the bearer token
// on every call, bodyless GET, POST and DELETE included.
func TestRunaiPythonClientShape(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		s := servertest.New(t, e, servertest.Options{})
		a := createApp(t, s, s.Token(t, alice, false), "sdk")
		r := s.Do(t, servertest.Request{Method: http.MethodPost, Path: server.PathTokenV1,
			Body:   `{"grantType": "app_token", "AppId": "` + a.clientID + `", "AppSecret": "` + a.secret + `"}`,
			Header: http.Header{"Accept": {"*/*"}, "Content-Type": {"application/json"}}})
		var resp map[string]any
		r.JSON(t, &resp)
		tok, _ := resp["accessToken"].(string)
		if r.Status != http.StatusOK || tok == "" {
			t.Fatalf("login: %d %s", r.Status, r.Body)
		}

		payload := strings.Split(tok, ".")[1]
		if strings.ContainsAny(payload, "-_") { // Python's b64decode would drop them and garble the rest
			t.Fatalf("payload %q is not standard base64", payload)
		}
		raw, err := base64.StdEncoding.DecodeString(payload + strings.Repeat("=", (4-len(payload)%4)%4))
		var claims struct {
			Exp int64 `json:"exp"`
		}
		if err != nil || json.Unmarshal(raw, &claims) != nil || claims.Exp <= time.Now().Unix() {
			t.Fatalf("payload: %v %s", err, raw)
		}

		headers := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + tok}}
		other := createApp(t, s, s.Token(t, alice, false), "other")
		for _, c := range []struct {
			method, path string
			want         int
		}{
			{http.MethodGet, "/api/v1/user-applications", http.StatusOK},
			{http.MethodGet, "/api/v1/user-applications/" + other.id, http.StatusOK},
			{http.MethodPost, "/api/v1/user-applications/" + other.id + "/secret", http.StatusOK},
			{http.MethodDelete, "/api/v1/user-applications/" + other.id, http.StatusNoContent},
		} {
			if r := s.Do(t, servertest.Request{Method: c.method, Path: c.path, Header: headers}); r.Status != c.want {
				t.Errorf("%s %s: %d %s, want %d", c.method, c.path, r.Status, r.Body, c.want)
			}
		}
	})
}
