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
}

func (e *apiError) Error() string { return e.message }

func newAPIError(status int, message, details string) *apiError {
	return &apiError{status: status, message: message, details: details}
}

// errorBody builds the spec's Error JSON; code is the HTTP status.
func errorBody(status int, message, details string) gen.Error {
	body := gen.Error{Code: status, Message: message}
	if details != "" {
		body.Details = &details
	}
	return body
}

// errorHandler is the single place where an error becomes a response: the
// spec's Error JSON, with the status one table decides.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status, message, details := classify(err)
		if errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil {
			// The client went away; nobody reads this answer, nothing broke.
			log.Debug("request canceled by the client", "method", c.Request().Method, "path", c.Path())
		} else if status >= 500 {
			// The cause is logged once, here; the client gets a generic text.
			log.Error("request failed", "method", c.Request().Method, "path", c.Path(),
				"status", status, "err", err)
		}
		if status == http.StatusUnauthorized {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="userapps"`)
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(status)
			return
		}
		_ = c.JSON(status, errorBody(status, message, details))
	}
}

func classify(err error) (status int, message, details string) {
	var ae *apiError
	var he *echo.HTTPError
	var reqErr *openapi3filter.RequestError
	switch {
	case errors.As(err, &ae):
		return ae.status, ae.message, ae.details
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "user application not found", ""
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, "a user application with this name already exists", ""
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, "the database is unavailable, try again shortly", ""
	case errors.As(err, &reqErr):
		return http.StatusBadRequest, "invalid request", reqErr.Error()
	case errors.As(err, &he):
		msg := http.StatusText(he.Code)
		if s, ok := he.Message.(string); ok && s != "" {
			msg = s
		}
		switch {
		case he.Code >= 500:
			msg = http.StatusText(he.Code)
		case he.Code == http.StatusRequestEntityTooLarge:
			msg = "request body too large"
		}
		return he.Code, msg, ""
	}
	return http.StatusInternalServerError, "internal error", ""
}
