package server

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/runai-compat/userapps/gen"
	"github.com/runai-compat/userapps/store"
)

// A user application's clientId and secret are exchanged here for a token
// that acts as the user who created the application (see grant).

// errBadCredentials is every credential failure; clients are never told
// whether the clientId or the secret was wrong.
var errBadCredentials = errors.New("invalid client credentials")

// dummyHash stands in for the hash of an unknown clientId, so an unknown
// client costs the same comparison as a known one.
var dummyHash = func() []byte {
	_, h, err := newSecret()
	if err != nil {
		panic(err)
	}
	return h
}()

// grant checks a clientId and secret and issues the application's token:
// signed with the service key, acting as the creator (admin only if the
// creator was an admin when creating it), carrying the clientId as client_id
// and azp. A success records the application's lastLogin.
func (h *Handlers) grant(ctx context.Context, grantType, clientID, secret string) (string, error) {
	app, hash, err := h.store.Credentials(ctx, clientID)
	known := err == nil
	switch {
	case errors.Is(err, store.ErrNotFound):
		hash = dummyHash
	case err != nil:
		return "", err
	}
	if !secretMatches(secret, hash) || !known {
		reason := "wrong secret"
		if !known {
			reason = "unknown client"
		}
		h.log.Warn("token grant refused", "grant_type", grantType, "client_id", loggableClientID(clientID), "reason", reason)
		return "", errBadCredentials
	}
	if _, err := h.store.TouchLastLogin(ctx, app.ID); errors.Is(err, store.ErrNotFound) {
		h.log.Warn("token grant refused", "grant_type", grantType, "client_id", app.ClientID, "reason", "deleted during grant")
		return "", errBadCredentials
	} else if err != nil {
		return "", err
	}
	claims := h.claims.For(app.CreatedBy, app.CreatorAdmin)
	claims["client_id"] = app.ClientID
	claims["azp"] = app.ClientID
	tok, _, err := h.signer.Sign(claims, h.tokenTTL)
	return tok, err
}

// loggableClientID keeps a secret pasted into the clientId field out of the
// logs: clientIds are UUIDs, secrets never are.
func loggableClientID(id string) string {
	if _, err := uuid.Parse(id); err != nil {
		return "(not a clientId)"
	}
	return id
}

func (h *Handlers) expiresIn() int { return int(h.tokenTTL.Seconds()) }

// GrantToken is POST /api/v1/token: JSON, Run:ai's own shape. Field names
// match case-insensitively (Go's JSON decoding), as Run:ai's clients rely on:
// the Python client sends AppId/AppSecret, the docs clientId.
func (h *Handlers) GrantToken(ctx context.Context, req gen.GrantTokenRequestObject) (gen.GrantTokenResponseObject, error) {
	if req.Body == nil || req.Body.GrantType == nil {
		return nil, newAPIError(http.StatusBadRequest, "grantType is required", "")
	}
	var id, secret *string
	switch gt := *req.Body.GrantType; gt {
	case gen.TokenRequestGrantTypeEnumClientCredentials:
		id, secret = req.Body.ClientID, req.Body.ClientSecret
		if empty(id) || empty(secret) {
			return nil, newAPIError(http.StatusBadRequest, "grantType client_credentials requires clientID and clientSecret", "")
		}
	case gen.TokenRequestGrantTypeEnumAppToken:
		//lint:ignore SA1019 the deprecated app_token grant is still served, as Run:ai does
		id, secret = req.Body.AppID, req.Body.AppSecret
		if empty(id) || empty(secret) {
			return nil, newAPIError(http.StatusBadRequest, "grantType app_token requires appID and appSecret", "")
		}
	default:
		msg := "unsupported grantType: use client_credentials (or the deprecated app_token)"
		if gt.Valid() { // a value of the spec's enum, safe to repeat
			msg = "unsupported grantType " + string(gt) + ": use client_credentials (or the deprecated app_token)"
		}
		return nil, newAPIError(http.StatusBadRequest, msg, "")
	}
	tok, err := h.grant(ctx, string(*req.Body.GrantType), *id, *secret)
	if errors.Is(err, errBadCredentials) {
		return nil, newAPIError(http.StatusUnauthorized, "invalid client credentials", "")
	}
	if err != nil {
		return nil, err
	}
	exp := h.expiresIn()
	return gen.GrantToken200JSONResponse{AccessToken: &tok, ExpiresIn: &exp}, nil
}

// GrantTokenV2 is POST /api/v2/token: RFC 6749 client_credentials, with the
// client authenticated by HTTP Basic (client_secret_basic) or by
// client_id/client_secret in the form (client_secret_post), never both.
func (h *Handlers) GrantTokenV2(ctx context.Context, req gen.GrantTokenV2RequestObject) (gen.GrantTokenV2ResponseObject, error) {
	if req.Body == nil {
		return nil, newOAuth2Error(http.StatusBadRequest, gen.InvalidRequest, "grant_type is required")
	}
	if req.Body.GrantType != gen.GrantTokenV2FormdataBodyGrantTypeClientCredentials {
		return nil, newOAuth2Error(http.StatusBadRequest, gen.UnsupportedGrantType, "only grant_type=client_credentials is supported")
	}
	basic, hasBasic := basicCredentialsFrom(ctx)
	var id, secret string
	switch {
	case hasBasic && req.Body.ClientSecret != nil:
		return nil, newOAuth2Error(http.StatusBadRequest, gen.InvalidRequest,
			"client credentials given both in the Authorization header and in the body; use one")
	case hasBasic && req.Body.ClientId != nil && *req.Body.ClientId != basic.id:
		return nil, newOAuth2Error(http.StatusBadRequest, gen.InvalidRequest,
			"client_id in the body differs from the one in the Authorization header")
	case hasBasic:
		id, secret = basic.id, basic.secret
	case empty(req.Body.ClientId) || empty(req.Body.ClientSecret):
		return nil, newOAuth2Error(http.StatusUnauthorized, gen.InvalidClient,
			"client authentication required: client_id and client_secret in the body, or HTTP Basic")
	default:
		id, secret = *req.Body.ClientId, *req.Body.ClientSecret
	}
	tok, err := h.grant(ctx, string(req.Body.GrantType), id, secret)
	if errors.Is(err, errBadCredentials) {
		ae := newOAuth2Error(http.StatusUnauthorized, gen.InvalidClient, "client authentication failed")
		ae.basic = hasBasic
		return nil, ae
	}
	if err != nil {
		return nil, err
	}
	exp := h.expiresIn()
	return gen.GrantTokenV2200JSONResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: &exp}, nil
}

func empty(s *string) bool { return s == nil || *s == "" }

// basicCredentials are a client's id and secret from HTTP Basic.
type basicCredentials struct{ id, secret string }

type basicKey struct{}

func basicCredentialsFrom(ctx context.Context) (basicCredentials, bool) {
	b, ok := ctx.Value(basicKey{}).(basicCredentials)
	return b, ok
}

// oauth2FormParams are the parameters RFC 6749 allows only once, and only in
// the body.
var oauth2FormParams = []string{"grant_type", "client_id", "client_secret", "scope"}

// oauth2Request guards the OAuth2 token route where the HTTP request itself
// matters: parameters must not repeat or ride in the URL (RFC 6749 sections
// 3.2 and 2.3.1), and HTTP Basic credentials are decoded here (base64, then
// form-urlencoding, section 2.3.1) and handed to the handler on the context.
func oauth2Request(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if err := req.ParseForm(); err != nil {
			return newOAuth2Error(http.StatusBadRequest, gen.InvalidRequest, "malformed request body")
		}
		query := req.URL.Query()
		for _, p := range oauth2FormParams {
			if query.Has(p) {
				return newOAuth2Error(http.StatusBadRequest, gen.InvalidRequest, p+" must be sent in the request body, not the URL")
			}
			if len(req.PostForm[p]) > 1 {
				return newOAuth2Error(http.StatusBadRequest, gen.InvalidRequest, p+" is repeated")
			}
		}
		header := req.Header.Get(echo.HeaderAuthorization)
		if header == "" {
			return next(c)
		}
		scheme, rest, _ := strings.Cut(strings.TrimSpace(header), " ")
		if !strings.EqualFold(scheme, "Basic") {
			ae := newOAuth2Error(http.StatusUnauthorized, gen.InvalidClient,
				"unsupported client authentication: use HTTP Basic or client_id/client_secret in the body")
			ae.basic = true // advertise the scheme we do support
			return ae
		}
		creds, ok := parseBasic(strings.TrimSpace(rest))
		if !ok {
			ae := newOAuth2Error(http.StatusBadRequest, gen.InvalidRequest, "malformed HTTP Basic credentials")
			ae.basic = true
			return ae
		}
		c.SetRequest(req.WithContext(context.WithValue(req.Context(), basicKey{}, creds)))
		return next(c)
	}
}

// parseBasic decodes RFC 6749 section 2.3.1 Basic credentials: base64 of
// form-urlencoded id ":" form-urlencoded secret.
func parseBasic(encoded string) (basicCredentials, bool) {
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return basicCredentials{}, false
	}
	rawID, rawSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return basicCredentials{}, false
	}
	id, err1 := url.QueryUnescape(rawID)
	secret, err2 := url.QueryUnescape(rawSecret)
	if err1 != nil || err2 != nil || id == "" {
		return basicCredentials{}, false
	}
	return basicCredentials{id: id, secret: secret}, true
}
