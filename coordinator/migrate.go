package coordinator

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/kinko-project/kinko/coordinator/audit"
	"github.com/kinko-project/kinko/internal/flock"
	"github.com/pressly/goose/v3"
)

// The store's schema is versioned and upgraded by goose
// (github.com/pressly/goose/v3): each step is a file of migrations/
// (SQL, embedded) or a Go step below, numbered; goose records the steps
// applied in the table goose_db_version and runs each missing one in its
// own SQL transaction, in order, when the store is opened. Steps only go
// up: a store is never migrated down.
//
// A new table or column is a new file, migrations/000NN_what.sql, with
// the next free number and a "-- +goose Up" line; nothing else needs
// changing. Steps 2 and 3 are in Go because they depend on what a store
// made before versioning already holds (step 2) or on DDL another
// package owns (step 3).

//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrStoreTooNew means the store was upgraded by a newer kinko than this
// one: this program does not know its schema and does not touch it.
var ErrStoreTooNew = errors.New("the store was made by a newer version of kinko")

// goMigrations are the steps written in Go.
func goMigrations() []*goose.Migration {
	return []*goose.Migration{
		// 2: blocks.time, the header's timestamp. Stores made before it
		// was part of the CREATE TABLE of step 1 lack the column.
		goose.NewGoMigration(2, &goose.GoFunc{RunTx: addBlockTimes}, nil),
		// 3: the audit log's table and triggers. Package audit owns its
		// DDL (audit.Schema, which only adds), so that the log's format
		// and its table are described in one place; migrate also runs it
		// on every open, to put back triggers someone dropped.
		goose.NewGoMigration(3, &goose.GoFunc{RunTx: func(ctx context.Context, t *sql.Tx) error {
			_, err := t.ExecContext(ctx, audit.Schema)
			return err
		}}, nil),
	}
}

func addBlockTimes(ctx context.Context, t *sql.Tx) error {
	var n int
	if err := t.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('blocks') WHERE name = 'time'`).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	_, err := t.ExecContext(ctx, `ALTER TABLE blocks ADD COLUMN time INTEGER NOT NULL DEFAULT 0`)
	return err
}

func newMigrator(db *sql.DB) (*goose.Provider, error) {
	files, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectSQLite3, db, files,
		goose.WithDisableGlobalRegistry(true),
		goose.WithGoMigrations(goMigrations()...))
}

// ErrStoreTooOld means a store that needs an upgrade was opened
// read-only, where it cannot take one.
var ErrStoreTooOld = errors.New("the store needs an upgrade")

// checkVersion refuses a store whose schema is not exactly this
// program's, for a read-only open, which cannot upgrade it.
func checkVersion(ctx context.Context, db *sql.DB) error {
	var have sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(version_id) FROM goose_db_version WHERE is_applied`).Scan(&have); err != nil {
		return fmt.Errorf("%w: no schema version (%v)", ErrStoreTooOld, err)
	}
	p, err := newMigrator(db)
	if err != nil {
		return err
	}
	src := p.ListSources()
	want := src[len(src)-1].Version
	switch {
	case have.Int64 > want:
		return fmt.Errorf("%w: its schema is version %d, this kinko knows up to %d", ErrStoreTooNew, have.Int64, want)
	case have.Int64 < want:
		return fmt.Errorf("%w: its schema is version %d, this kinko's is %d; open it once where it can be written", ErrStoreTooOld, have.Int64, want)
	}
	return nil
}

// migrate brings the store in db up to the last step, one at a time, or
// refuses a store of a newer version with ErrStoreTooNew. It holds an
// advisory lock on lockPath throughout: two kinko processes opening one
// store that needs an upgrade (a new one, or after kinko was upgraded)
// would otherwise both run its steps, and the second fail on what the
// first made. goose locks only Postgres and MySQL.
func migrate(ctx context.Context, db *sql.DB, lockPath string) error {
	unlock, err := flock.Lock(ctx, lockPath)
	if err != nil {
		return fmt.Errorf("lock the store to check its schema: %w", err)
	}
	defer unlock()
	p, err := newMigrator(db)
	if err != nil {
		return err
	}
	have, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	src := p.ListSources()
	if want := src[len(src)-1].Version; have > want {
		return fmt.Errorf("%w: its schema is version %d, this kinko knows up to %d", ErrStoreTooNew, have, want)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("upgrade the schema: %w", err)
	}
	// The audit log's triggers are put back on every open, as before
	// migrations: someone with the file may have dropped them. (The
	// schema only adds, so this changes nothing otherwise.)
	return audit.Init(ctx, db)
}
