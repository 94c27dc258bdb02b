package coordinator

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kinko-project/kinko/coordinator/audit"
	"github.com/kinko-project/kinko/wallet"
)

// GapLimit is how many unused addresses past the last used one are
// watched on each branch.
const GapLimit = 20

// Wallet is a watch-only wallet held by the coordinator: a multisig, or a
// single key (wpkh, sh(wpkh)) such as an exchange's hot wallet.
type Wallet struct {
	Name        string
	Descriptor  *wallet.Descriptor
	Birthday    int64 // first block height scanned
	Scanned     int64 // last block height scanned
	NextReceive uint32
}

var walletName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CreateWallet stores a new watch-only wallet of any descriptor the
// wallet package parses, multisig or single key; it must be ranged with
// receive and change branches (<0;1>/*). Its coins are looked for from
// block height birthday on.
func (c *Coordinator) CreateWallet(ctx context.Context, name string, d *wallet.Descriptor, birthday int64) error {
	return c.addWallet(ctx, name, d, birthday, audit.WalletCreated)
}

// ImportWallet is CreateWallet for a wallet made elsewhere (an exchange's
// hot wallet, say), recorded in the audit log as imported.
func (c *Coordinator) ImportWallet(ctx context.Context, name string, d *wallet.Descriptor, birthday int64) error {
	return c.addWallet(ctx, name, d, birthday, audit.WalletImported)
}

func (c *Coordinator) addWallet(ctx context.Context, name string, d *wallet.Descriptor, birthday int64, kind audit.Kind) error {
	if !walletName.MatchString(name) {
		return fmt.Errorf("wallet name %q: use letters, digits, '.', '_' and '-' (at most 64)", name)
	}
	if !d.IsRange() || !d.HasChange() {
		return errors.New("a wallet needs a ranged descriptor with receive and change branches (<0;1>/*)")
	}
	if birthday < 0 {
		birthday = 0
	}
	return c.tx(ctx, func(t *sql.Tx) error {
		var n int
		if err := t.QueryRow(`SELECT count(*) FROM wallets WHERE name = ?`, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%q: %w", name, ErrWalletExists)
		}
		if _, err := t.Exec(`INSERT INTO wallets (name, descriptor, network, birthday, scanned, created) VALUES (?, ?, ?, ?, ?, ?)`,
			name, d.String(), d.Network().Name, birthday, birthday-1, now()); err != nil {
			return err
		}
		for _, change := range []bool{false, true} {
			if err := extendScripts(t, name, d, change, GapLimit-1); err != nil {
				return err
			}
		}
		return auditWalletAdded(ctx, t, kind, name, d, birthday)
	})
}

// extendScripts makes sure scripts up to index upto are derived and
// watched on one branch.
func extendScripts(t *sql.Tx, name string, d *wallet.Descriptor, change bool, upto uint32) error {
	_, _, err := extendWatched(t, name, d, change, upto, func(from, count uint32) ([][]byte, error) {
		return deriveScripts(d, change, from, count)
	})
	return err
}

// extendWatched is extendScripts returning the scripts it added, which
// are at indexes from, from+1, …, derived by derive.
func extendWatched(t *sql.Tx, name string, d *wallet.Descriptor, change bool, upto uint32, derive func(from, count uint32) ([][]byte, error)) (from uint32, added [][]byte, err error) {
	var have sql.NullInt64
	if err := t.QueryRow(`SELECT max(idx) FROM scripts WHERE wallet = ? AND change = ?`, name, change).Scan(&have); err != nil {
		return 0, nil, err
	}
	if have.Valid {
		from = uint32(have.Int64) + 1
	}
	if from > upto {
		return from, nil, nil
	}
	spks, err := derive(from, upto-from+1)
	if err != nil {
		return 0, nil, fmt.Errorf("derive wallet %q: %w", name, err)
	}
	// Many rows per INSERT: a statement's cost is mostly its own, not
	// its rows'.
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, 4*scriptsPerInsert)
	for start := 0; start < len(spks); start += scriptsPerInsert {
		part := spks[start:min(start+scriptsPerInsert, len(spks))]
		args = args[:0]
		for k, spk := range part {
			args = append(args, spk, name, change, from+uint32(start+k))
		}
		var err error
		if len(part) == scriptsPerInsert {
			if full == nil {
				if full, err = t.Prepare(insertScripts(scriptsPerInsert)); err != nil {
					return 0, nil, err
				}
			}
			_, err = full.Exec(args...)
		} else {
			_, err = t.Exec(insertScripts(len(part)), args...)
		}
		if err != nil {
			// Only one wallet may watch a script (it is the key).
			for _, spk := range part {
				var other string
				if t.QueryRow(`SELECT wallet FROM scripts WHERE script = ?`, spk).Scan(&other) == nil {
					return 0, nil, fmt.Errorf("wallet %q: %w: %q", name, ErrScriptsWatched, other)
				}
			}
			return 0, nil, fmt.Errorf("watch script: %w", err)
		}
	}
	return from, spks, nil
}

// scriptsPerInsert is how many scripts one INSERT adds (4 parameters each,
// far below SQLite's limit of 32,766).
const scriptsPerInsert = 128

// insertScripts is an INSERT of n scripts.
func insertScripts(n int) string {
	return `INSERT INTO scripts (script, wallet, change, idx) VALUES ` +
		strings.Repeat(`(?, ?, ?, ?), `, n-1) + `(?, ?, ?, ?)`
}

// deriveScripts is d.DeriveScriptPubKeys spread over the machine's cores
// when there are many to derive (a Descriptor is safe for concurrent use).
func deriveScripts(d *wallet.Descriptor, change bool, from, count uint32) ([][]byte, error) {
	workers := uint32(runtime.GOMAXPROCS(0))
	if count < 2*derivePart || workers < 2 {
		return d.DeriveScriptPubKeys(change, from, count)
	}
	// Parts of derivePart scripts taken in turn by one goroutine per
	// core: a core busy with something else (the scan) then takes fewer
	// parts rather than holding up the end.
	parts := (count + derivePart - 1) / derivePart
	out := make([][][]byte, parts)
	errs := make([]error, parts)
	var next atomic.Uint32
	var wg sync.WaitGroup
	for range min(workers, parts) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := next.Add(1) - 1; p < parts; p = next.Add(1) - 1 {
				start := p * derivePart
				out[p], errs[p] = d.DeriveScriptPubKeys(change, from+start, min(derivePart, count-start))
			}
		}()
	}
	wg.Wait()
	spks := make([][]byte, 0, count)
	for p := range out {
		if errs[p] != nil {
			return nil, errs[p]
		}
		spks = append(spks, out[p]...)
	}
	return spks, nil
}

// derivePart is how many scripts one goroutine of deriveScripts derives at
// a time.
const derivePart = 128

// Wallet returns the wallet called name.
func (c *Coordinator) Wallet(ctx context.Context, name string) (*Wallet, error) {
	return loadWallet(c.db.QueryRowContext(ctx, `SELECT name, descriptor, network, birthday, scanned, next_receive FROM wallets WHERE name = ?`, name), name)
}

func loadWallet(row *sql.Row, name string) (*Wallet, error) {
	var w Wallet
	var desc, netName string
	if err := row.Scan(&w.Name, &desc, &netName, &w.Birthday, &w.Scanned, &w.NextReceive); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%q: %w", name, ErrNoWallet)
		}
		return nil, err
	}
	net, err := wallet.ParseNetwork(netName)
	if err != nil {
		return nil, err
	}
	w.Descriptor, err = wallet.ParseDescriptor(desc, net)
	if err != nil {
		return nil, fmt.Errorf("stored wallet %q: %w", name, err)
	}
	return &w, nil
}

// Wallets returns the names of all wallets.
func (c *Coordinator) Wallets(ctx context.Context) ([]string, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT name FROM wallets ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// NextAddress hands out the wallet's next unused receive address and
// marks it as handed out, so it is never handed out twice.
func (c *Coordinator) NextAddress(ctx context.Context, name string) (string, uint32, error) {
	w, err := c.Wallet(ctx, name)
	if err != nil {
		return "", 0, err
	}
	var addr string
	var index uint32
	err = c.tx(ctx, func(t *sql.Tx) error {
		var next uint32
		if err := t.QueryRow(`SELECT next_receive FROM wallets WHERE name = ?`, name).Scan(&next); err != nil {
			return err
		}
		// Skip addresses that already received coins.
		for {
			var used bool
			err := t.QueryRow(`SELECT used FROM scripts WHERE wallet = ? AND change = 0 AND idx = ?`, name, next).Scan(&used)
			if errors.Is(err, sql.ErrNoRows) || (err == nil && !used) {
				break
			}
			if err != nil {
				return err
			}
			next++
		}
		d, err := w.Descriptor.Derive(false, next)
		if err != nil {
			return err
		}
		if err := extendScripts(t, name, w.Descriptor, false, next+GapLimit); err != nil {
			return err
		}
		if _, err := t.Exec(`UPDATE scripts SET used = 1 WHERE wallet = ? AND change = 0 AND idx = ?`, name, next); err != nil {
			return err
		}
		if _, err := t.Exec(`UPDATE wallets SET next_receive = ? WHERE name = ?`, next+1, name); err != nil {
			return err
		}
		if err := auditAddress(ctx, t, name, next, d.Address); err != nil {
			return err
		}
		addr, index = d.Address, next
		return nil
	})
	return addr, index, err
}

// Balance is a wallet's coins, confirmed and unconfirmed apart.
type Balance struct {
	Confirmed   int64
	Unconfirmed int64
	// Reserved is the part of the balance held by open signing sessions.
	Reserved int64
	// RolledBack is the part of Reserved whose confirming block the node
	// no longer has, nor its mempool the transaction: the chain went back
	// past an open session's coins (a reorg, a node restarted on another
	// chain). They are counted here, not in Unconfirmed, until a block
	// holds them again or the session is cancelled.
	RolledBack int64
	Coins      int
}

// Balance sums the wallet's unspent coins as of the last sync.
func (c *Coordinator) Balance(ctx context.Context, name string) (*Balance, error) {
	if _, err := c.Wallet(ctx, name); err != nil {
		return nil, err
	}
	var b Balance
	err := c.db.QueryRowContext(ctx, `SELECT
			coalesce(sum(CASE WHEN height > 0 THEN value ELSE 0 END), 0),
			coalesce(sum(CASE WHEN height = 0 AND NOT rolled THEN value ELSE 0 END), 0),
			coalesce(sum(CASE WHEN session IS NOT NULL THEN value ELSE 0 END), 0),
			coalesce(sum(CASE WHEN rolled THEN value ELSE 0 END), 0),
			count(*)
		FROM (SELECT *, height = 0 AND session IS NOT NULL AND txid NOT IN (SELECT txid FROM mempool) AS rolled
			FROM utxos WHERE wallet = ? AND spent_height IS NULL)`, name).Scan(&b.Confirmed, &b.Unconfirmed, &b.Reserved, &b.RolledBack, &b.Coins)
	if err != nil {
		return nil, storeErr(err)
	}
	return &b, nil
}

// Rescan makes the next Sync scan the wallet again from its birthday, with
// every script watched so far: coins paid to an address beyond the gap
// limit before the gap reached it are found that way. What is already
// known is kept; a rescan only adds.
func (c *Coordinator) Rescan(ctx context.Context, name string) error {
	res, err := c.db.ExecContext(ctx, `UPDATE wallets SET scanned = birthday - 1 WHERE name = ?`, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%q: %w", name, ErrNoWallet)
	}
	return nil
}

// SpendableCoins returns the wallet's coins that a spend may use now:
// confirmed (at least minConf times; 0 means 1), unspent, not reserved
// by a session and not frozen, as of the last sync.
func (c *Coordinator) SpendableCoins(ctx context.Context, name string, minConf int64) ([]Coin, error) {
	if minConf <= 0 {
		minConf = 1
	}
	var coins []Coin
	err := c.tx(ctx, func(t *sql.Tx) error {
		var scanned int64
		if err := t.QueryRow(`SELECT scanned FROM wallets WHERE name = ?`, name).Scan(&scanned); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%q: %w", name, ErrNoWallet)
			}
			return err
		}
		var err error
		coins, err = spendable(t, name, scanned-minConf+1)
		return err
	})
	return coins, err
}

// ScriptOwner returns the wallet watching the output script spk and
// whether it is on that wallet's change branch; "" when no wallet of the
// store watches it.
func (c *Coordinator) ScriptOwner(ctx context.Context, spk []byte) (string, bool, error) {
	var name string
	var change bool
	err := c.db.QueryRowContext(ctx, `SELECT wallet, change FROM scripts WHERE script = ?`, spk).Scan(&name, &change)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return name, change, err
}
