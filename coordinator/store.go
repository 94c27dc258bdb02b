package coordinator

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver
)

// DBName is the coordinator's database file inside its data directory.
const DBName = "kinko.db"

// Errors callers branch on.
var (
	ErrNoWallet     = errors.New("no such wallet")
	ErrWalletExists = errors.New("a wallet with that name exists")
	// ErrScriptsWatched means a new wallet would watch scripts another
	// wallet already watches (the same descriptor under another name, or
	// on another network of the same key versions).
	ErrScriptsWatched = errors.New("scripts already watched by another wallet")
	ErrNoSession      = errors.New("no such session")
	ErrSessionState   = errors.New("session is not in the right state")
	ErrDifferentTx    = errors.New("psbt is for another transaction than the session's")
	ErrInsufficient   = errors.New("insufficient funds")
	ErrNoNode         = errors.New("no node configured")
	ErrBadSignature   = errors.New("invalid partial signature")
	ErrNotAccepted    = errors.New("the node does not accept the transaction")
	ErrCoinsReserved  = errors.New("coins are reserved by another session")
	ErrNoSetting      = errors.New("no such setting")
	ErrNoCoin         = errors.New("no such coin")
)

// Coordinator is the online, watch-only side of kinko: wallets, coins,
// and signing sessions, all kept in one SQLite file.
type Coordinator struct {
	db *sql.DB
}

// Open opens (creating if needed) the coordinator's store in dir. Every
// change is committed durably (WAL, synchronous=FULL) before a call
// returns, so a stop of the process loses nothing that was reported done.
func Open(dir string) (*Coordinator, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dir, DBName)
	// _txlock=immediate: a transaction takes the write lock when it begins
	// (waiting for another process's), so a read in it is never stale by
	// the time it writes, and the audit log's appends take turns.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if err := migrate(context.Background(), db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &Coordinator{db: db}, nil
}

// Close closes the store.
func (c *Coordinator) Close() error { return c.db.Close() }

// tx runs fn in one SQL transaction, committed only if fn succeeds.
func (c *Coordinator) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	t, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(t); err != nil {
		t.Rollback()
		return err
	}
	return t.Commit()
}

func now() string { return time.Now().UTC().Format(time.RFC3339) }
