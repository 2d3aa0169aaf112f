package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/runai-compat/userapps/gen"
	"github.com/runai-compat/userapps/server/jwtauth"
	"github.com/runai-compat/userapps/store"
)

// Storer is what the handlers need from the store.
type Storer interface {
	Create(ctx context.Context, n store.NewApp, maxPerUser int) (store.App, error)
	List(ctx context.Context, f store.Filter) ([]store.App, error)
	Get(ctx context.Context, id, owner string) (store.App, error)
	Delete(ctx context.Context, id, owner string) (store.App, error)
	SetSecretHash(ctx context.Context, id, owner string, hash []byte) error
	Ping(ctx context.Context) error
	// For the token routes and revocation.
	Credentials(ctx context.Context, clientID string) (store.App, []byte, error)
	TouchLastLogin(ctx context.Context, id string) (time.Time, error)
	Exists(ctx context.Context, clientID string) (bool, error)
}

// Handlers implements the generated strict server interface.
type Handlers struct {
	store          Storer
	maxAppsPerUser int
	signer         *jwtauth.Signer
	claims         jwtauth.Claims
	tokenTTL       time.Duration
	log            *slog.Logger
	// revoked tells this replica's revocation cache at once that an
	// application is gone (other replicas learn it within its TTL).
	revoked func(clientID string)
}

var _ gen.StrictServerInterface = (*Handlers)(nil)

// caller returns the authenticated principal; the validator guarantees one on
// every spec operation, so its absence is a wiring bug, not a client error.
func caller(ctx context.Context) (Principal, error) {
	p, ok := PrincipalFrom(ctx)
	if !ok || p.User == "" {
		return Principal{}, errUnauthenticated
	}
	return p, nil
}

func (h *Handlers) GetUserApplications(ctx context.Context, _ gen.GetUserApplicationsRequestObject) (gen.GetUserApplicationsResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	apps, err := h.store.List(ctx, store.Filter{CreatedBy: &p.User})
	if err != nil {
		return nil, err
	}
	out := make(gen.GetUserApplications200JSONResponse, len(apps))
	for i, a := range apps {
		out[i] = toUserApp(a)
	}
	return out, nil
}

func (h *Handlers) CreateUserApplication(ctx context.Context, req gen.CreateUserApplicationRequestObject) (gen.CreateUserApplicationResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.Body == nil { // the validator requires a body; keep the handler safe anyway
		return nil, newAPIError(http.StatusBadRequest, "request body is required", "")
	}
	if n := len(req.Body.Name); n > store.MaxNameLength { // the pattern allows ASCII only: bytes = characters
		return nil, newAPIError(http.StatusBadRequest,
			fmt.Sprintf("invalid request body field \"name\": %d characters, at most %d are allowed", n, store.MaxNameLength), "")
	}
	secret, hash, err := newSecret()
	if err != nil {
		return nil, err
	}
	app, err := h.store.Create(ctx, store.NewApp{
		Name: req.Body.Name, CreatedBy: p.User, CreatorAdmin: p.Admin, SecretHash: hash,
	}, h.maxAppsPerUser)
	if errors.Is(err, store.ErrLimit) {
		return nil, newAPIError(http.StatusBadRequest,
			fmt.Sprintf("limit reached: a user may hold at most %d applications", h.maxAppsPerUser), "")
	}
	if err != nil {
		return nil, err
	}
	return gen.CreateUserApplication201JSONResponse{
		Id: app.ID, ClientId: app.ClientID, Name: app.Name, Secret: secret, CreatedAt: timePtr(app.CreatedAt),
	}, nil
}

func (h *Handlers) GetUserApplicationById(ctx context.Context, req gen.GetUserApplicationByIdRequestObject) (gen.GetUserApplicationByIdResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	app, err := h.store.Get(ctx, req.AppId, p.User)
	if err != nil {
		return nil, err
	}
	return gen.GetUserApplicationById200JSONResponse(toUserApp(app)), nil
}

func (h *Handlers) DeleteUserApplicationById(ctx context.Context, req gen.DeleteUserApplicationByIdRequestObject) (gen.DeleteUserApplicationByIdResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.delete(ctx, req.AppId, p.User); err != nil {
		return nil, err
	}
	return gen.DeleteUserApplicationById204Response{}, nil
}

func (h *Handlers) RegenerateUserApplicationSecret(ctx context.Context, req gen.RegenerateUserApplicationSecretRequestObject) (gen.RegenerateUserApplicationSecretResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	secret, hash, err := newSecret()
	if err != nil {
		return nil, err
	}
	if err := h.store.SetSecretHash(ctx, req.AppId, p.User, hash); err != nil {
		return nil, err
	}
	return gen.RegenerateUserApplicationSecret200JSONResponse{Secret: &secret}, nil
}

func (h *Handlers) GetUserApplicationsAdministration(ctx context.Context, req gen.GetUserApplicationsAdministrationRequestObject) (gen.GetUserApplicationsAdministrationResponseObject, error) {
	apps, err := h.store.List(ctx, store.Filter{ClientID: req.Params.ClientId, CreatedBy: req.Params.CreatedBy})
	if err != nil {
		return nil, err
	}
	out := make(gen.GetUserApplicationsAdministration200JSONResponse, len(apps))
	for i, a := range apps {
		out[i] = toUserAppAdministration(a)
	}
	return out, nil
}

func (h *Handlers) DeleteUserApplicationByIdAdministration(ctx context.Context, req gen.DeleteUserApplicationByIdAdministrationRequestObject) (gen.DeleteUserApplicationByIdAdministrationResponseObject, error) {
	if err := h.delete(ctx, req.AppId, ""); err != nil {
		return nil, err
	}
	return gen.DeleteUserApplicationByIdAdministration204Response{}, nil
}

func (h *Handlers) delete(ctx context.Context, id, owner string) error {
	app, err := h.store.Delete(ctx, id, owner)
	if err != nil {
		return err
	}
	if h.revoked != nil {
		h.revoked(app.ClientID)
	}
	return nil
}

func toUserApp(a store.App) gen.UserApp {
	return gen.UserApp{Id: a.ID, ClientId: a.ClientID, Name: a.Name, CreatedAt: timePtr(a.CreatedAt), LastLogin: a.LastLogin}
}

func toUserAppAdministration(a store.App) gen.UserAppAdministration {
	return gen.UserAppAdministration{
		Id: a.ID, ClientId: a.ClientID, Name: a.Name, CreatedBy: a.CreatedBy,
		CreatedAt: timePtr(a.CreatedAt), LastLogin: a.LastLogin,
	}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
