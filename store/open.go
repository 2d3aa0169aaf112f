package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	sqlitedriver "github.com/glebarez/go-sqlite"
	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	sqlite3 "modernc.org/sqlite/lib"
)

// This file is the one place where the two engines differ.

// SQLiteFile is the embedded database's file name inside the data dir.
const SQLiteFile = "userapps.db"

// Open connects to databaseURL (postgres:// or postgresql://), or, when it is
// empty, to the embedded SQLite file in dataDir, creating the dir if needed.
func Open(ctx context.Context, databaseURL, dataDir string) (*Store, error) {
	db, err := openDB(databaseURL, dataDir)
	if err != nil {
		return nil, err
	}
	s, err := New(ctx, db)
	if err != nil {
		if sqlDB, e := db.DB(); e == nil {
			sqlDB.Close()
		}
		return nil, err
	}
	return s, nil
}

// Engine names the engine behind a database URL, for logs.
func Engine(databaseURL string) string {
	if databaseURL == "" {
		return "sqlite"
	}
	return "postgres"
}

func openDB(databaseURL, dataDir string) (*gorm.DB, error) {
	cfg := &gorm.Config{
		TranslateError: true,
		Logger:         logger.Discard, // SQL (and its arguments) never reaches the logs
		NowFunc:        now,
	}
	switch {
	case databaseURL == "":
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
		// WAL lets readers run beside the writer; busy_timeout makes a second
		// writer wait (5 s, under the default request deadline, since SQLite's
		// wait does not watch the context) instead of failing; _txlock=immediate takes the write
		// lock when a transaction begins, so no transaction has to upgrade a
		// read snapshot (which SQLite can only refuse, not wait for).
		file := filepath.Join(dataDir, SQLiteFile)
		// Create the file 0600 before SQLite does (it would use 0644); its
		// -wal and -shm files take the same mode.
		if f, err := os.OpenFile(file, os.O_RDONLY|os.O_CREATE, 0o600); err == nil {
			f.Close()
		}
		dsn := "file:" + file +
			"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)" +
			"&_pragma=synchronous(NORMAL)&_txlock=immediate"
		db, err := gorm.Open(sqlite.Open(dsn), cfg)
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		return db, nil
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		db, err := gorm.Open(postgres.Open(databaseURL), cfg)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", redactErr(err, databaseURL))
		}
		sqlDB, err := db.DB()
		if err != nil {
			return nil, err
		}
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetMaxIdleConns(20)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		return db, nil
	default:
		return nil, errors.New("database URL must start with postgres:// or postgresql:// (leave it empty for the embedded SQLite)")
	}
}

// translate turns driver and GORM errors into this package's sentinels.
func translate(err error) error {
	var pgErr *pgconn.PgError
	var netErr net.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrConflict), errors.Is(err, ErrLimit), errors.Is(err, ErrUnavailable):
		return err
	case errors.Is(err, gorm.ErrRecordNotFound):
		return ErrNotFound
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return ErrConflict
	case errors.As(err, &pgErr) && pgErr.Code == "23505":
		return ErrConflict
	case errors.As(err, &pgErr) && (strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P03"):
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	case errors.Is(err, driver.ErrBadConn), errors.As(err, &netErr), isConnectErr(err),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF): // connection cut mid-query
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	case sqliteBusy(err):
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return err
}

// sqliteBusy: another process held the write lock past the busy timeout.
func sqliteBusy(err error) bool {
	var se *sqlitedriver.Error
	if !errors.As(err, &se) {
		return false
	}
	code := se.Code() & 0xff // extended codes keep the primary in the low byte
	return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
}

func isConnectErr(err error) bool {
	var ce *pgconn.ConnectError
	return errors.As(err, &ce)
}

// redactErr keeps a password in a DSN out of error messages and logs.
func redactErr(err error, dsn string) error {
	msg := err.Error()
	if i := strings.Index(dsn, "://"); i >= 0 {
		if j := strings.Index(dsn[i+3:], "@"); j >= 0 {
			msg = strings.ReplaceAll(msg, dsn[i+3:i+3+j], "***")
		}
	}
	return errors.New(msg)
}
