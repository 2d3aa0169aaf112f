package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"github.com/runai-compat/userapps/gen"
	"github.com/runai-compat/userapps/store"
)

// apiError is an error that already knows its status and client message.
type apiError struct {
	status  int
	message string
	details string
	// oauth is the RFC 6749 error code for routes that answer OAuth2Error;
	// empty means the default for the status (see oauth2Code).
	oauth gen.OAuth2ErrorError
	// basic is set when the client authenticated with HTTP Basic: a 401 then
	// challenges with Basic (RFC 6749 section 5.2).
	basic bool
}

func (e *apiError) Error() string { return e.message }

func newAPIError(status int, message, details string) *apiError {
	return &apiError{status: status, message: message, details: details}
}

// newOAuth2Error is an error of the token routes with its RFC 6749 code.
func newOAuth2Error(status int, code gen.OAuth2ErrorError, message string) *apiError {
	return &apiError{status: status, message: message, oauth: code}
}

// errorBody builds the spec's Error JSON; code is the HTTP status.
func errorBody(status int, message, details string) gen.Error {
	body := gen.Error{Code: status, Message: message}
	if details != "" {
		body.Details = &details
	}
	return body
}

// errorHandler is the single place where an error becomes a response. It is
// route-aware: the token routes carry secrets, so their errors never echo
// request values (no details) and never challenge with Bearer; the OAuth2
// token route answers its 400 and 401 as the spec's OAuth2Error (RFC 6749
// section 5.2); everything else is the spec's Error JSON.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		ae := classify(err)
		path := c.Request().URL.Path
		tokenRoute := tokenPath(path)
		if errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil {
			// The client went away; nobody reads this answer, nothing broke.
			log.Debug("request canceled by the client", "method", c.Request().Method, "path", c.Path())
		} else if ae.status >= 500 {
			// The cause is logged once, here; the client gets a generic text.
			log.Error("request failed", "method", c.Request().Method, "path", c.Path(),
				"status", ae.status, "err", err)
		}
		if tokenRoute {
			ae.details = ""
		}
		if ae.status == http.StatusUnauthorized {
			switch {
			case ae.basic:
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Basic realm="userapps", charset="UTF-8"`)
			case !tokenRoute:
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="userapps"`)
			}
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(ae.status)
			return
		}
		if path == PathTokenV2 && (ae.status == http.StatusBadRequest || ae.status == http.StatusUnauthorized) {
			msg := ae.message
			_ = c.JSON(ae.status, gen.OAuth2Error{Error: oauth2Code(ae), ErrorDescription: &msg})
			return
		}
		_ = c.JSON(ae.status, errorBody(ae.status, ae.message, ae.details))
	}
}

// oauth2Code is the RFC 6749 code of an error: its own, or by status.
func oauth2Code(ae *apiError) gen.OAuth2ErrorError {
	switch {
	case ae.oauth != "":
		return ae.oauth
	case ae.status == http.StatusUnauthorized:
		return gen.InvalidClient
	}
	return gen.InvalidRequest
}

// classify decides status and client text for any error, in one table.
func classify(err error) *apiError {
	var ae *apiError
	var he *echo.HTTPError
	var reqErr *openapi3filter.RequestError
	switch {
	case errors.As(err, &ae):
		cp := *ae
		return &cp
	case errors.Is(err, store.ErrNotFound):
		return newAPIError(http.StatusNotFound, "user application not found", "")
	case errors.Is(err, store.ErrConflict):
		return newAPIError(http.StatusConflict, "a user application with this name already exists", "")
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return newAPIError(http.StatusServiceUnavailable, "the database is unavailable, try again shortly", "")
	case errors.As(err, &reqErr):
		return newAPIError(http.StatusBadRequest, "invalid request", reqErr.Error())
	case errors.As(err, &he):
		msg := http.StatusText(he.Code)
		if s, ok := he.Message.(string); ok && s != "" {
			msg = s
		}
		if he.Code == http.StatusBadRequest && he.Internal != nil {
			// The generated binder's own words (Go type names, offsets):
			// say what is wrong in the spec's terms instead.
			msg = "invalid request body: a field has the wrong type"
		}
		switch {
		case he.Code >= 500:
			msg = http.StatusText(he.Code)
		case he.Code == http.StatusRequestEntityTooLarge:
			msg = "request body too large"
		}
		return newAPIError(he.Code, msg, "")
	}
	return newAPIError(http.StatusInternalServerError, "internal error", "")
}
