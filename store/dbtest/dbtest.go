// Package dbtest gives tests a fresh, real database per test: the embedded
// SQLite always, and Postgres when USERAPPS_TEST_DATABASE_URL is set.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/runai-compat/userapps/store"
)

// EnvPostgres names the variable holding an admin URL of a Postgres server
// on which tests may create and drop databases.
const EnvPostgres = "USERAPPS_TEST_DATABASE_URL"

// Engine is one database a test can run on.
type Engine struct {
	Name string
	// URL returns a database URL for a new, empty database ("" is SQLite in
	// DataDir) and the data dir to use with it.
	New func(t testing.TB) (databaseURL, dataDir string)
}

// Engines lists SQLite, and Postgres when configured.
func Engines() []Engine {
	engines := []Engine{{Name: "sqlite", New: func(t testing.TB) (string, string) { return "", t.TempDir() }}}
	if base := os.Getenv(EnvPostgres); base != "" {
		engines = append(engines, Engine{Name: "postgres", New: func(t testing.TB) (string, string) {
			return FreshPostgres(t, base), t.TempDir()
		}})
	}
	return engines
}

// OpenStore opens a store on a fresh database of engine e and closes it when the test ends.
func OpenStore(t testing.TB, e Engine) *store.Store {
	t.Helper()
	dbURL, dir := e.New(t)
	s, err := store.Open(context.Background(), dbURL, dir)
	if err != nil {
		t.Fatalf("open %s store: %v", e.Name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// FreshPostgres creates a database with a random name on the server of base
// and drops it when the test ends.
func FreshPostgres(t testing.TB, base string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("%s is set but Postgres is unreachable: %v", EnvPostgres, err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "userapps_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgres, err)
	}
	u.Path = "/" + name
	return u.String()
}
