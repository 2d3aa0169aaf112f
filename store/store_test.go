package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/runai-compat/userapps/store"
	"github.com/runai-compat/userapps/store/dbtest"
)

func forEachEngine(t *testing.T, fn func(t *testing.T, e dbtest.Engine)) {
	for _, e := range dbtest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, e)
		})
	}
}

// TestReopen: setting up the schema again on a database that holds data
// keeps the data and the constraints.
func TestReopen(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		ctx := context.Background()
		dbURL, dir := e.New(t)
		s1, err := store.Open(ctx, dbURL, dir)
		if err != nil {
			t.Fatal(err)
		}
		app, err := s1.Create(ctx, store.NewApp{Name: "kept", CreatedBy: "a", SecretHash: []byte{1}}, 2)
		if err != nil {
			t.Fatal(err)
		}
		s1.Close()

		for range 2 {
			s2, err := store.Open(ctx, dbURL, dir)
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			got, err := s2.Get(ctx, app.ID, "a")
			if err != nil || got.Name != "kept" || !got.CreatedAt.Equal(app.CreatedAt) || got.ClientID != app.ClientID {
				t.Fatalf("after reopen: %+v, %v (want %+v)", got, err, app)
			}
			if _, err := s2.Create(ctx, store.NewApp{Name: "kept", CreatedBy: "a", SecretHash: []byte{1}}, 2); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("unique (createdBy, name) lost after reopen: %v", err)
			}
			s2.Close()
		}
	})
}

func TestCredentialsAndLastLogin(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		ctx := context.Background()
		s := dbtest.OpenStore(t, e)
		app, err := s.Create(ctx, store.NewApp{Name: "x1", CreatedBy: "a", CreatorAdmin: true, SecretHash: []byte("h1")}, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, hash, err := s.Credentials(ctx, app.ClientID)
		if err != nil || string(hash) != "h1" || !got.CreatorAdmin || got.LastLogin != nil {
			t.Fatalf("credentials: %+v %q %v", got, hash, err)
		}
		if err := s.SetSecretHash(ctx, app.ID, "someone-else", []byte("h2")); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("set secret as another owner: %v", err)
		}
		if err := s.SetSecretHash(ctx, app.ID, "a", []byte("h2")); err != nil {
			t.Fatal(err)
		}
		if _, hash, _ := s.Credentials(ctx, app.ClientID); string(hash) != "h2" {
			t.Fatalf("hash not replaced: %q", hash)
		}
		at, err := s.TouchLastLogin(ctx, app.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, err = s.Get(ctx, app.ID, "")
		if err != nil || got.LastLogin == nil || !got.LastLogin.Equal(at) || got.LastLogin.Location().String() != "UTC" {
			t.Fatalf("lastLogin %v, want %v UTC (%v)", got.LastLogin, at, err)
		}
		if ok, err := s.Exists(ctx, app.ClientID); !ok || err != nil {
			t.Fatalf("exists: %v %v", ok, err)
		}
		gone, err := s.Delete(ctx, app.ID, "")
		if err != nil || gone.ClientID != app.ClientID || gone.CreatedBy != "a" {
			t.Fatalf("delete returned %+v, %v", gone, err)
		}
		if ok, _ := s.Exists(ctx, app.ClientID); ok {
			t.Fatal("exists after delete")
		}
		if _, _, err := s.Credentials(ctx, app.ClientID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("credentials after delete: %v", err)
		}
		if _, err := s.TouchLastLogin(ctx, app.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("touch after delete: %v", err)
		}
	})
}

func TestOpenRejectsUnknownURL(t *testing.T) {
	if _, err := store.Open(context.Background(), "mysql://x", t.TempDir()); err == nil {
		t.Fatal("mysql:// accepted")
	}
}

// TestUnavailable: a Postgres that does not answer is ErrUnavailable, and
// the password in the URL stays out of the error.
func TestUnavailable(t *testing.T) {
	_, err := store.Open(context.Background(), "postgres://u:s3cret-pw@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", t.TempDir())
	if err == nil {
		t.Fatal("opened a database on port 1")
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Fatalf("password in error: %v", err)
	}
}
