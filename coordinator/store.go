package coordinator

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kinko-project/kinko/coordinator/audit"
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

const schema = `
CREATE TABLE IF NOT EXISTS wallets (
	name TEXT PRIMARY KEY,
	descriptor TEXT NOT NULL,
	network TEXT NOT NULL,
	birthday INTEGER NOT NULL,
	scanned INTEGER NOT NULL,
	next_receive INTEGER NOT NULL DEFAULT 0,
	created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scripts (
	script BLOB PRIMARY KEY,
	wallet TEXT NOT NULL REFERENCES wallets(name),
	change INTEGER NOT NULL,
	idx INTEGER NOT NULL,
	used INTEGER NOT NULL DEFAULT 0,
	UNIQUE (wallet, change, idx)
);
CREATE TABLE IF NOT EXISTS blocks (
	height INTEGER PRIMARY KEY,
	hash TEXT NOT NULL,
	time INTEGER NOT NULL DEFAULT 0   -- the header's timestamp, Unix seconds
);
CREATE TABLE IF NOT EXISTS txs (
	txid TEXT PRIMARY KEY,
	raw BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS utxos (
	txid TEXT NOT NULL,
	vout INTEGER NOT NULL,
	wallet TEXT NOT NULL REFERENCES wallets(name),
	value INTEGER NOT NULL,
	script BLOB NOT NULL,
	change INTEGER NOT NULL,
	idx INTEGER NOT NULL,
	height INTEGER NOT NULL,          -- 0: in the mempool
	spent_txid TEXT,
	spent_height INTEGER,             -- NULL: unspent; 0: spent in the mempool
	session TEXT,                     -- reserved by this signing session
	PRIMARY KEY (txid, vout)
);
-- Covers the balance and treasury queries, which read every coin
-- of a wallet: no table lookup per coin.
DROP INDEX IF EXISTS utxos_wallet;
CREATE INDEX IF NOT EXISTS utxos_wallet_unspent ON utxos(wallet, spent_height, height, value, session, spent_txid);
CREATE TABLE IF NOT EXISTS sessions (
	id TEXT PRIMARY KEY,
	wallet TEXT NOT NULL REFERENCES wallets(name),
	created TEXT NOT NULL,
	state TEXT NOT NULL,
	txid TEXT NOT NULL,
	psbt BLOB NOT NULL,
	fee INTEGER NOT NULL,
	vsize INTEGER NOT NULL,
	final_tx BLOB,
	broadcast_txid TEXT,
	updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
	key TEXT PRIMARY KEY,
	value BLOB NOT NULL,
	updated TEXT NOT NULL
);
-- Mempool transactions already examined, so a sync reads only new ones.
-- keys holds 8-byte hashes of the transaction's output scripts and spent
-- outpoints: when scripts or coins are added, only the transactions whose
-- keys match are read again.
CREATE TABLE IF NOT EXISTS mempool (
	txid TEXT PRIMARY KEY,
	ours INTEGER NOT NULL,
	keys BLOB NOT NULL
) WITHOUT ROWID;
-- The highest rowids of scripts and utxos when the mempool was last read.
CREATE TABLE IF NOT EXISTS mempool_marks (
	name TEXT PRIMARY KEY,
	rowid INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS session_parts (
	session TEXT NOT NULL REFERENCES sessions(id),
	digest BLOB NOT NULL,
	psbt BLOB NOT NULL,
	imported TEXT NOT NULL,
	PRIMARY KEY (session, digest)
);
`

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
	// _txlock=immediate: a transaction takes the write lock when it begins
	// (waiting for another process's), so a read in it is never stale by
	// the time it writes, and the audit log's appends take turns.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, &StoreError{fmt.Errorf("open %s: %w", path, err)}
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, &StoreError{fmt.Errorf("open %s: %w", path, err)}
	}
	if err := addBlockTimes(db); err != nil {
		db.Close()
		return nil, &StoreError{fmt.Errorf("open %s: %w", path, err)}
	}
	if err := audit.Init(context.Background(), db); err != nil {
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
		var n int
		if lastErr = db.QueryRow(`SELECT count(*) FROM wallets`).Scan(&n); lastErr == nil {
			return &Coordinator{db: db}, nil
		}
		db.Close()
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

// addBlockTimes gives a store made before blocks had a time column that
// column. It is the one upgrade step so far; schema versions and a
// migration library come with the next change of an existing table.
func addBlockTimes(db *sql.DB) error {
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pragma_table_info('blocks') WHERE name = 'time'`).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	_, err := db.Exec(`ALTER TABLE blocks ADD COLUMN time INTEGER NOT NULL DEFAULT 0`)
	return err
}
