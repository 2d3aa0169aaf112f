// Package servertest runs the whole userapps HTTP stack (validator, auth,
// handlers, error mapping, real store) on a real listener for tests, and
// checks every response it receives against the merged spec.
package servertest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/golang-jwt/jwt/v5"

	"github.com/runai-compat/userapps/gen"
	"github.com/runai-compat/userapps/server"
	"github.com/runai-compat/userapps/server/jwtauth"
	"github.com/runai-compat/userapps/store"
	"github.com/runai-compat/userapps/store/dbtest"
)

// Issuer is the iss of the test stack's own tokens.
const Issuer = "userapps-test"

// Stack is one running service.
type Stack struct {
	URL    string
	Signer *jwtauth.Signer
	Store  *store.Store
	Server *httptest.Server
	spec   *openapi3.T
	router routers.Router
}

// Options tweaks a stack.
type Options struct {
	MaxAppsPerUser int
	BodyLimit      int64
	RequestTimeout time.Duration
	External       *jwtauth.External
	Claims         jwtauth.Claims
}

// New starts a stack on a fresh database of engine e.
func New(t testing.TB, e dbtest.Engine, o Options) *Stack {
	t.Helper()
	return NewWith(t, dbtest.OpenStore(t, e), NewSigner(t), o)
}

// NewSigner makes a signer with a fresh key and the test issuer.
func NewSigner(t testing.TB) *jwtauth.Signer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jwtauth.NewSigner(key, Issuer)
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

// NewWith starts a stack on a given store and signer (two replicas share both).
func NewWith(t testing.TB, st *store.Store, signer *jwtauth.Signer, o Options) *Stack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	verifier, err := jwtauth.NewVerifier(ctx, signer, o.External, o.Claims)
	if err != nil {
		t.Fatal(err)
	}
	if o.MaxAppsPerUser == 0 {
		o.MaxAppsPerUser = 20
	}
	e, err := server.New(server.Config{
		Store: st, Auth: verifier, Signer: signer, MaxAppsPerUser: o.MaxAppsPerUser, BodyLimit: o.BodyLimit, RequestTimeout: o.RequestTimeout,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	spec, err := gen.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	spec.Servers = nil
	router, err := gorillamux.NewRouter(spec)
	if err != nil {
		t.Fatal(err)
	}
	return &Stack{URL: srv.URL, Signer: signer, Store: st, Server: srv, spec: spec, router: router}
}

// Token mints a token for user, signed by the stack's key.
func (s *Stack) Token(t testing.TB, user string, admin bool) string {
	t.Helper()
	roles := []any{}
	if admin {
		roles = append(roles, "admin")
	}
	tok, _, err := s.Signer.Sign(jwt.MapClaims{"sub": user, "email": user, "roles": roles}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Response is what a request got back, already checked against the spec.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test on error.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Error decodes an Error body.
func (r *Response) Error(t testing.TB) gen.Error {
	t.Helper()
	var e gen.Error
	r.JSON(t, &e)
	return e
}

// Request describes one call; Body may be a string (sent as is) or any value
// (sent as JSON). ContentType defaults to application/json when Body is set.
type Request struct {
	Method      string
	Path        string
	Token       string
	Body        any
	ContentType string
	Header      http.Header
}

// Do sends r and checks the response against the merged spec.
func (s *Stack) Do(t testing.TB, r Request) *Response {
	t.Helper()
	var body io.Reader
	switch b := r.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(j)
	}
	req, err := http.NewRequest(r.Method, s.URL+r.Path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	if r.Body != nil && req.Header.Get("Content-Type") == "" {
		ct := r.ContentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := &Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
	s.CheckResponse(t, req, out)
	return out
}

// Statuses the service may answer outside an operation's listed ones; each
// is a documented departure (README, "Answers outside the spec").
var offSpecAllowed = map[int]bool{
	http.StatusRequestEntityTooLarge: true, // body over --body-limit
}

// CheckResponse fails the test unless resp is what the spec allows for req:
// a listed status and a body valid against that status's schema. Responses
// to paths outside the spec (unknown routes) must still be Error JSON.
func (s *Stack) CheckResponse(t testing.TB, req *http.Request, resp *Response) {
	t.Helper()
	route, params, err := s.router.FindRoute(req)
	if err != nil {
		if strings.HasPrefix(req.URL.Path, "/api/") {
			s.checkErrorBody(t, req, resp)
		}
		return
	}
	if offSpecAllowed[resp.Status] {
		s.checkErrorBody(t, req, resp)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.Status,
		Header:                 resp.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(resp.Body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s -> %d %s\nresponse is off-spec: %v", req.Method, req.URL.Path, resp.Status, resp.Body, err)
	}
	if resp.Status >= 400 {
		s.checkErrorBody(t, req, resp)
	}
}

// checkErrorBody requires the spec's Error schema with code == status.
func (s *Stack) checkErrorBody(t testing.TB, req *http.Request, resp *Response) {
	t.Helper()
	if resp.Status < 400 {
		return
	}
	if req.Method == http.MethodHead {
		return
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s -> %d: Content-Type %q, want application/json", req.Method, req.URL.Path, resp.Status, ct)
	}
	var v any
	if err := json.Unmarshal(resp.Body, &v); err != nil {
		t.Errorf("%s %s -> %d: body is not JSON: %s", req.Method, req.URL.Path, resp.Status, resp.Body)
		return
	}
	if err := s.spec.Components.Schemas["Error"].Value.VisitJSON(v); err != nil {
		t.Errorf("%s %s -> %d: body is not an Error: %v", req.Method, req.URL.Path, resp.Status, err)
	}
	if m, ok := v.(map[string]any); ok {
		if code, _ := m["code"].(float64); int(code) != resp.Status {
			t.Errorf("%s %s -> %d: Error.code %v != status", req.Method, req.URL.Path, resp.Status, m["code"])
		}
	}
}
