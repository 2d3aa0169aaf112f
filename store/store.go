// Package store keeps user applications in a SQL database through GORM.
// It knows nothing of HTTP: callers get domain structs and sentinel errors.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Sentinel errors; the HTTP layer maps each to one status.
var (
	ErrNotFound    = errors.New("not found")
	ErrConflict    = errors.New("already exists")
	ErrLimit       = errors.New("limit reached")
	ErrUnavailable = errors.New("database unavailable")
)

// App is a user application as the rest of the program sees it. The secret
// itself is never here; only its hash travels, and only where it is checked.
type App struct {
	ID        string
	Name      string
	ClientID  string
	CreatedBy string
	// CreatorAdmin records whether the creator was an admin when the
	// application was created; tokens granted to it act with that role.
	CreatorAdmin bool
	CreatedAt    time.Time
	LastLogin    *time.Time
}

// NewApp is what Create needs; ID, ClientID and CreatedAt are chosen here.
type NewApp struct {
	Name         string
	CreatedBy    string
	CreatorAdmin bool
	SecretHash   []byte
}

// MaxNameLength is the size of the name column: the longest name stored.
const MaxNameLength = 255

// Filter narrows List; a nil field matches everything, a set one matches
// exactly (so a set empty string matches nothing).
type Filter struct {
	CreatedBy *string
	ClientID  *string
}

// appRow is the table layout; unexported so GORM tags never leak.
type appRow struct {
	ID           string    `gorm:"primaryKey;size:36"`
	Name         string    `gorm:"not null;size:255;uniqueIndex:ux_user_apps_owner_name,priority:2"`
	ClientID     string    `gorm:"not null;size:64;uniqueIndex:ux_user_apps_client_id"`
	CreatedBy    string    `gorm:"not null;size:320;uniqueIndex:ux_user_apps_owner_name,priority:1"`
	CreatorAdmin bool      `gorm:"not null;default:false"`
	SecretHash   []byte    `gorm:"not null"`
	CreatedAt    time.Time `gorm:"not null;autoCreateTime:false"`
	LastLogin    *time.Time
}

func (appRow) TableName() string { return "user_applications" }

// ownerRow counts each user's applications so the per-user limit is one
// conditional UPDATE: the database serialises it, no race can pass it.
type ownerRow struct {
	CreatedBy string `gorm:"primaryKey;size:320"`
	AppCount  int    `gorm:"not null;default:0"`
}

func (ownerRow) TableName() string { return "user_application_owners" }

// Store is the one implementation for both engines.
type Store struct {
	db *gorm.DB
}

// New wraps an opened database (see Open) and sets up the schema. Migrating
// is additive, so running it again on a database holding data is safe, and
// replicas starting together take turns (see migrate).
func New(ctx context.Context, db *gorm.DB) (*Store, error) {
	if err := migrate(ctx, db, &appRow{}, &ownerRow{}); err != nil {
		return nil, fmt.Errorf("migrate: %w", translate(err))
	}
	return &Store{db: db}, nil
}

// now is the store's clock, cut to microseconds: Postgres keeps no finer
// time, and a value must read back exactly as it was returned.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Create inserts an application for its creator, holding the limit of
// maxPerUser applications per creator (0 means no limit).
func (s *Store) Create(ctx context.Context, n NewApp, maxPerUser int) (App, error) {
	row := appRow{
		ID:           uuid.NewString(),
		Name:         n.Name,
		ClientID:     uuid.NewString(),
		CreatedBy:    n.CreatedBy,
		CreatorAdmin: n.CreatorAdmin,
		SecretHash:   n.SecretHash,
		CreatedAt:    now(),
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).
			Create(&ownerRow{CreatedBy: n.CreatedBy}).Error; err != nil {
			return err
		}
		inc := tx.Model(&ownerRow{}).Where("created_by = ?", n.CreatedBy)
		if maxPerUser > 0 {
			inc = inc.Where("app_count < ?", maxPerUser)
		}
		res := inc.Update("app_count", gorm.Expr("app_count + 1"))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrLimit
		}
		return tx.Create(&row).Error
	})
	if err != nil {
		return App{}, translate(err)
	}
	return row.toApp(), nil
}

// List returns the applications that match f, ordered by creation time and
// then id so pages and repeated calls agree.
func (s *Store) List(ctx context.Context, f Filter) ([]App, error) {
	if !storable(f.CreatedBy) || !storable(f.ClientID) {
		return []App{}, nil // no stored value can equal it, and Postgres would refuse the query
	}
	q := s.db.WithContext(ctx).Model(&appRow{})
	if f.CreatedBy != nil {
		q = q.Where("created_by = ?", *f.CreatedBy)
	}
	if f.ClientID != nil {
		q = q.Where("client_id = ?", *f.ClientID)
	}
	var rows []appRow
	if err := q.Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, translate(err)
	}
	apps := make([]App, len(rows))
	for i, r := range rows {
		apps[i] = r.toApp()
	}
	return apps, nil
}

// Get returns one application. owner == "" means any owner (administration);
// otherwise another owner's application is ErrNotFound, so existence is not leaked.
func (s *Store) Get(ctx context.Context, id, owner string) (App, error) {
	if !validID(id) {
		return App{}, ErrNotFound
	}
	var row appRow
	if err := scoped(s.db.WithContext(ctx), id, owner).Take(&row).Error; err != nil {
		return App{}, translate(err)
	}
	return row.toApp(), nil
}

// Delete removes one application (owner as in Get), gives its slot back,
// and returns what it removed.
func (s *Store) Delete(ctx context.Context, id, owner string) (App, error) {
	if !validID(id) {
		return App{}, ErrNotFound
	}
	var row appRow
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Returning the deleted row tells whose counter to decrement in the
		// same statement that removes it; both engines support RETURNING.
		res := scoped(tx, id, owner).Clauses(clause.Returning{}).Delete(&row)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return tx.Model(&ownerRow{}).Where("created_by = ? AND app_count > 0", row.CreatedBy).
			Update("app_count", gorm.Expr("app_count - 1")).Error
	})
	if err != nil {
		return App{}, translate(err)
	}
	return row.toApp(), nil
}

// SetSecretHash replaces the secret of one application (owner as in Get).
func (s *Store) SetSecretHash(ctx context.Context, id, owner string, hash []byte) error {
	if !validID(id) {
		return ErrNotFound
	}
	res := scoped(s.db.WithContext(ctx).Model(&appRow{}), id, owner).Update("secret_hash", hash)
	if res.Error != nil {
		return translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// Credentials returns an application and its secret hash by clientId, for
// checking a login.
func (s *Store) Credentials(ctx context.Context, clientID string) (App, []byte, error) {
	if !storable(&clientID) {
		return App{}, nil, ErrNotFound // Postgres would refuse the query; nothing stored can match
	}
	var row appRow
	if err := s.db.WithContext(ctx).Where("client_id = ?", clientID).Take(&row).Error; err != nil {
		return App{}, nil, translate(err)
	}
	return row.toApp(), row.SecretHash, nil
}

// TouchLastLogin records a successful login now and returns that time.
func (s *Store) TouchLastLogin(ctx context.Context, id string) (time.Time, error) {
	t := now()
	res := s.db.WithContext(ctx).Model(&appRow{}).Where("id = ?", id).Update("last_login", t)
	if res.Error != nil {
		return time.Time{}, translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return time.Time{}, ErrNotFound
	}
	return t, nil
}

// Exists reports whether an application is still there (for revocation).
func (s *Store) Exists(ctx context.Context, clientID string) (bool, error) {
	if !storable(&clientID) {
		return false, nil
	}
	var n int64
	if err := s.db.WithContext(ctx).Model(&appRow{}).Where("client_id = ?", clientID).Limit(1).Count(&n).Error; err != nil {
		return false, translate(err)
	}
	return n > 0, nil
}

// Ping checks that the database answers and holds our schema, for readiness.
func (s *Store) Ping(ctx context.Context) error {
	var n int64
	if err := s.db.WithContext(ctx).Model(&appRow{}).Limit(1).Count(&n).Error; err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// Close releases the connection pool.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

func scoped(q *gorm.DB, id, owner string) *gorm.DB {
	q = q.Where("id = ?", id)
	if owner != "" {
		q = q.Where("created_by = ?", owner)
	}
	return q
}

// storable reports whether a text value could be in a column at all:
// Postgres text holds neither NUL nor invalid UTF-8 (it errors on both).
func storable(v *string) bool {
	return v == nil || utf8.ValidString(*v) && !strings.ContainsRune(*v, 0)
}

// validID avoids a query for ids that cannot exist; ids are canonical UUIDs.
func validID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

func (r appRow) toApp() App {
	a := App{
		ID: r.ID, Name: r.Name, ClientID: r.ClientID, CreatedBy: r.CreatedBy,
		CreatorAdmin: r.CreatorAdmin, CreatedAt: r.CreatedAt.UTC(),
	}
	if r.LastLogin != nil {
		t := r.LastLogin.UTC()
		a.LastLogin = &t
	}
	return a
}

// HoldWriteLock takes the tables' write lock in a transaction and keeps it
// until release is closed. Tests use it to stall the database under a
// running service.
func (s *Store) HoldWriteLock(ctx context.Context, release <-chan struct{}) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if tx.Dialector.Name() == "postgres" {
			err = tx.Exec("LOCK TABLE user_applications, user_application_owners IN ACCESS EXCLUSIVE MODE").Error
		} else { // SQLite transactions here begin IMMEDIATE: the lock is already ours
			err = tx.Exec("UPDATE user_application_owners SET app_count = app_count").Error
		}
		if err != nil {
			return err
		}
		<-release
		return nil
	})
}

// Exec runs a raw statement. It exists for tests that break the database
// under a running service; the service itself never calls it.
func (s *Store) Exec(ctx context.Context, sql string) error {
	return s.db.WithContext(ctx).Exec(sql).Error
}
