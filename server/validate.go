package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"
)

// principalSlot lets the validator's AuthenticationFunc hand the verified
// caller back to the middleware, which puts it on the request context.
type principalSlot struct{ p *Principal }

type slotKey struct{}

// validator checks every request against the merged spec before a handler
// runs: route, security (the bearer JWT), parameters, content type, body.
// Requests to paths in skip (health, JWKS, ...) are left alone.
func validator(spec *openapi3.T, auth Authenticator, skip map[string]bool) (echo.MiddlewareFunc, error) {
	spec.Servers = nil // match on path only, whatever host serves us
	router, err := gorillamux.NewRouter(spec)
	if err != nil {
		return nil, err
	}
	opts := &openapi3filter.Options{
		ExcludeRequestBody: true, // validated after security, see below
		AuthenticationFunc: func(ctx context.Context, in *openapi3filter.AuthenticationInput) error {
			if in.SecurityScheme == nil || in.SecurityScheme.Type != "http" || in.SecurityScheme.Scheme != "bearer" {
				return fmt.Errorf("unsupported security scheme %q", in.SecuritySchemeName)
			}
			raw, ok := bearerToken(in.RequestValidationInput.Request.Header.Get(echo.HeaderAuthorization))
			if !ok {
				return errUnauthenticated
			}
			p, err := auth.Verify(ctx, raw)
			if err != nil {
				return errUnauthenticated
			}
			if slot, ok := ctx.Value(slotKey{}).(*principalSlot); ok {
				slot.p = &p
			}
			return nil
		},
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if skip[req.URL.Path] {
				return next(c)
			}
			route, params, err := router.FindRoute(req)
			switch {
			case errors.Is(err, routers.ErrMethodNotAllowed):
				c.Response().Header().Set(echo.HeaderAllow, allowedMethods(router, req))
				return newAPIError(http.StatusMethodNotAllowed, "method not allowed", "")
			case err != nil:
				return newAPIError(http.StatusNotFound, "no such endpoint", "")
			}
			normalizeQuery(req, route)

			// Security and parameters first, so a bad token is a 401 whatever
			// the body; the body only for operations that take one.
			slot := &principalSlot{}
			ctx := context.WithValue(req.Context(), slotKey{}, slot)
			in := &openapi3filter.RequestValidationInput{Request: req.WithContext(ctx), PathParams: params, Route: route, Options: opts}
			if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
				return requestError(err)
			}
			if body := route.Operation.RequestBody; body != nil && body.Value != nil {
				if err := wellFormedJSON(in.Request); err != nil {
					return err
				}
				if err := openapi3filter.ValidateRequestBody(ctx, in, body.Value); err != nil {
					return requestError(err)
				}
			}
			if slot.p != nil {
				ctx = WithPrincipal(req.Context(), *slot.p)
			} else {
				ctx = req.Context()
			}
			// The validator may have replaced the body with a re-readable copy.
			c.SetRequest(in.Request.WithContext(ctx))
			return next(c)
		}
	}, nil
}

// allowedMethods lists the methods the spec defines for req's path, for the
// Allow header of a 405 (RFC 9110 section 15.5.6).
func allowedMethods(router routers.Router, req *http.Request) string {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := req.Clone(req.Context())
		probe.Method = m
		if _, _, err := router.FindRoute(probe); err == nil {
			allowed = append(allowed, m)
		}
	}
	return strings.Join(allowed, ", ")
}

// normalizeQuery rewrites the query string so the validator and the
// generated binder read the same values, and so a malformed query can never
// drop a filter (fail closed): a pair that does not decode keeps its raw
// text as its value (which matches nothing), ';' is an ordinary character,
// and a repeated scalar parameter keeps its first value.
func normalizeQuery(req *http.Request, route *routers.Route) {
	raw := req.URL.RawQuery
	if raw == "" {
		return
	}
	q := url.Values{}
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		q[k] = append(q[k], v)
	}
	for _, ps := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range ps {
			if p.Value == nil || p.Value.In != openapi3.ParameterInQuery || len(q[p.Value.Name]) < 2 {
				continue
			}
			if sch := p.Value.Schema; sch != nil && sch.Value != nil && sch.Value.Type.Is(openapi3.TypeArray) {
				continue
			}
			q[p.Value.Name] = q[p.Value.Name][:1]
		}
	}
	req.URL.RawQuery = q.Encode()
}

// wellFormedJSON lower-cases the media type (it is case-insensitive, but the
// generated binder compares it literally), refuses a charset other than
// UTF-8 (RFC 8259 section 8.1), and rejects a JSON body that is not exactly
// one JSON value: kin-openapi and the generated binder both decode only the
// first value, so `{"name":"ab"}}` would pass. The body is put back.
func wellFormedJSON(req *http.Request) error {
	ct := req.Header.Get(echo.HeaderContentType)
	if ct == "" {
		return nil // the body validator says what is missing
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return newAPIError(http.StatusBadRequest, "invalid Content-Type header", err.Error())
	}
	req.Header.Set(echo.HeaderContentType, mime.FormatMediaType(mt, params))
	if mt != echo.MIMEApplicationJSON && !strings.HasSuffix(mt, "+json") {
		return nil
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return newAPIError(http.StatusBadRequest, "invalid Content-Type: JSON must be UTF-8", "")
	}
	if req.Body == nil || req.Body == http.NoBody {
		return nil
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return requestError(err) // over the body limit: 413
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	if len(bytes.TrimSpace(body)) > 0 && !json.Valid(body) {
		return newAPIError(http.StatusBadRequest, "invalid request body: not a single well-formed JSON value", "")
	}
	return nil
}

// requestError maps a validation failure: bad credentials 401, an oversized
// body 413, everything else 400 with the validator's text as details.
func requestError(err error) error {
	var secErr *openapi3filter.SecurityRequirementsError
	var ae *apiError
	var he *echo.HTTPError
	switch {
	// Before security: kin-openapi may read the body while checking it, and
	// an oversized body must be a 413, not a token error.
	case errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge:
		return newAPIError(http.StatusRequestEntityTooLarge, "request body too large", "")
	case errors.As(err, &secErr):
		return errUnauthenticated
	case errors.As(err, &ae):
		return ae
	}
	return newAPIError(http.StatusBadRequest, badRequestMessage(err), err.Error())
}

// badRequestMessage says in one line what was wrong, naming the field; the
// validator's full text (with the schema) goes to details.
func badRequestMessage(err error) string {
	var reqErr *openapi3filter.RequestError
	if !errors.As(err, &reqErr) {
		return "invalid request"
	}
	var schemaErr *openapi3.SchemaError
	if errors.As(err, &schemaErr) {
		where := "request body"
		if reqErr.Parameter != nil {
			where = fmt.Sprintf("%s parameter %q", reqErr.Parameter.In, reqErr.Parameter.Name)
		}
		if ptr := schemaErr.JSONPointer(); len(ptr) > 0 {
			where += fmt.Sprintf(" field %q", strings.Join(ptr, "."))
		}
		return fmt.Sprintf("invalid %s: %s", where, schemaErr.Reason)
	}
	if reqErr.Parameter != nil {
		return fmt.Sprintf("invalid %s parameter %q: %s", reqErr.Parameter.In, reqErr.Parameter.Name, reqErr.Reason)
	}
	if reqErr.RequestBody != nil {
		msg := "invalid request body"
		if reqErr.Reason != "" {
			msg += ": " + reqErr.Reason
		} else if reqErr.Err != nil {
			msg += ": " + reqErr.Err.Error()
		}
		return msg
	}
	return "invalid request: " + reqErr.Error()
}
