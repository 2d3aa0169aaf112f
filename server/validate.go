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
				return newAPIError(http.StatusMethodNotAllowed, "method not allowed", "")
			case err != nil:
				return newAPIError(http.StatusNotFound, "no such endpoint", "")
			}
			if err := wellFormedJSON(req); err != nil {
				return err
			}
			slot := &principalSlot{}
			ctx := context.WithValue(req.Context(), slotKey{}, slot)
			in := &openapi3filter.RequestValidationInput{Request: req.WithContext(ctx), PathParams: params, Route: route, Options: opts}
			if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
				return requestError(err)
			}
			firstQueryValues(req, route)
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

// wellFormedJSON rejects a JSON body that is not exactly one JSON value:
// kin-openapi and the generated binder both decode only the first value, so
// without this `{"name":"ab"}}` would be accepted. The body is put back for
// the validator to read again.
func wellFormedJSON(req *http.Request) error {
	if req.Body == nil || req.Body == http.NoBody {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if mt != echo.MIMEApplicationJSON && !strings.HasSuffix(mt, "+json") {
		return nil
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return requestError(err) // over the body limit: 413
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) > 0 && !json.Valid(body) {
		return newAPIError(http.StatusBadRequest, "invalid request body: not a single well-formed JSON value", "")
	}
	return nil
}

// firstQueryValues keeps only the first value of a repeated scalar query
// parameter: the one the validator read and checked. The generated binder
// would refuse the repeat with a 400 that the list operations do not list.
func firstQueryValues(req *http.Request, route *routers.Route) {
	q := req.URL.Query()
	changed := false
	for _, ps := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range ps {
			if p.Value == nil || p.Value.In != openapi3.ParameterInQuery || len(q[p.Value.Name]) < 2 {
				continue
			}
			if sch := p.Value.Schema; sch != nil && sch.Value != nil && sch.Value.Type.Is(openapi3.TypeArray) {
				continue
			}
			q[p.Value.Name] = q[p.Value.Name][:1]
			changed = true
		}
	}
	if changed {
		req.URL.RawQuery = q.Encode()
	}
}

// requestError maps a validation failure: bad credentials 401, an oversized
// body 413, everything else 400 with the validator's text as details.
func requestError(err error) error {
	var secErr *openapi3filter.SecurityRequirementsError
	var ae *apiError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &secErr):
		return errUnauthenticated
	case errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge:
		return newAPIError(http.StatusRequestEntityTooLarge, "request body too large", "")
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
