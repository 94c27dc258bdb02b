package coordinator

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"modernc.org/sqlite" // the pure-Go SQLite driver
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
	ErrBadPSBT        = errors.New("not a valid psbt")
)

// StoreError is a failure of the coordinator's own database (a disk that
// is full or read-only, a lock held past the busy timeout, a damaged
// file), as opposed to a failure of the node or a refused input. The CLI
// gives it exit status 7.
type StoreError struct{ Err error }

func (e *StoreError) Error() string { return e.Err.Error() }
func (e *StoreError) Unwrap() error { return e.Err }

// IsStoreError reports whether err is, or comes from, a failure of the
// coordinator's database.
func IsStoreError(err error) bool {
	var se *StoreError
	var le *sqlite.Error
	return errors.As(err, &se) || errors.As(err, &le)
}

// storeErr marks an error that comes from SQLite as a StoreError.
func storeErr(err error) error {
	var se *StoreError
	if err == nil || errors.As(err, &se) || !IsStoreError(err) && !errors.Is(err, sql.ErrTxDone) && !errors.Is(err, sql.ErrConnDone) {
		return err
	}
	return &StoreError{Err: err}
}

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
		return nil, &StoreError{fmt.Errorf("create data directory: %w", err)}
	}
	path := filepath.Join(dir, DBName)
	// A new store is created 0600: it holds no secret, but its xpubs and
	// addresses tell who owns what. (SQLite would create it 0644, and
	// gives its -wal and -shm files the mode of the store.) An existing
	// store keeps the mode its operator gave it.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, &StoreError{fmt.Errorf("create %s: %w", path, err)}
	}
	// _txlock=immediate: a transaction takes the write lock when it begins
	// (waiting for another process's), so a read in it is never stale by
	// the time it writes, and the audit log's appends take turns.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, &StoreError{fmt.Errorf("open %s: %w", path, err)}
	}
	db.SetMaxOpenConns(1)
	if err := migrate(context.Background(), db, path+".lock"); err != nil {
		db.Close()
		return nil, &StoreError{fmt.Errorf("open %s: %w", path, err)}
	}
	return &Coordinator{db: db}, nil
}

// OpenReadOnly opens an existing store in dir for reading only: for
// commands that change nothing, when the data directory cannot be written
// (a read-only mount, a copy on a backup disk). Whatever would write
// fails with a StoreError. A store in WAL mode whose directory is
// read-only and holds no shared-memory file is opened as immutable.
func OpenReadOnly(dir string) (*Coordinator, error) {
	path := filepath.Join(dir, DBName)
	if _, err := os.Stat(path); err != nil {
		return nil, &StoreError{fmt.Errorf("open %s: %w", path, err)}
	}
	var lastErr error
	for _, mode := range []string{"mode=ro", "immutable=1"} {
		db, err := sql.Open("sqlite", "file:"+path+"?"+mode+"&_pragma=busy_timeout(10000)&_pragma=query_only(1)")
		if err != nil {
			return nil, &StoreError{fmt.Errorf("open %s: %w", path, err)}
		}
		db.SetMaxOpenConns(1)
		if lastErr = checkVersion(context.Background(), db); lastErr == nil {
			return &Coordinator{db: db}, nil
		}
		db.Close()
		if errors.Is(lastErr, ErrStoreTooNew) || errors.Is(lastErr, ErrStoreTooOld) {
			break
		}
	}
	return nil, &StoreError{fmt.Errorf("open %s read-only: %w", path, lastErr)}
}

// Close closes the store.
func (c *Coordinator) Close() error { return c.db.Close() }

// tx runs fn in one SQL transaction, committed only if fn succeeds.
func (c *Coordinator) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	t, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return storeErr(err)
	}
	if err := fn(t); err != nil {
		t.Rollback()
		return storeErr(err)
	}
	return storeErr(t.Commit())
}

func now() string { return time.Now().UTC().Format(time.RFC3339) }
