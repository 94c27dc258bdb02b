package coordinator

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/kinko-project/kinko/coordinator/audit"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// This file is coin control: listing a wallet's coins, freezing the ones
// no spend may pick (the treasury's rebalance and sweeps included), and
// naming coins to use or avoid (SpendRequest.Coins and Exclude).

// CoinInfo is an unspent coin of a wallet, as `kinko coins` lists it.
type CoinInfo struct {
	Coin
	// Confirmations as of the last sync; 0 for a coin in the mempool.
	Confirmations int64
	Address       string
	Label         string // the output's label, or else its address's
	Session       string // the session reserving it; "" if none
	Frozen        bool
}

// ParseOutPoint reads an outpoint written TXID:VOUT.
func ParseOutPoint(s string) (psbt.OutPoint, error) {
	txid, vout, ok := strings.Cut(s, ":")
	if !ok {
		return psbt.OutPoint{}, fmt.Errorf("outpoint %q: want TXID:VOUT", s)
	}
	h, err := psbt.ParseHash(txid)
	if err != nil {
		return psbt.OutPoint{}, fmt.Errorf("outpoint %q: the txid is not 64 hex digits", s)
	}
	n, err := strconv.ParseUint(vout, 10, 32)
	if err != nil {
		return psbt.OutPoint{}, fmt.Errorf("outpoint %q: the output index is not a number", s)
	}
	return psbt.OutPoint{Hash: h, Index: uint32(n)}, nil
}

// Coins lists the wallet's unspent coins, confirmed or not, reserved or
// not, frozen or not, oldest first.
func (c *Coordinator) Coins(ctx context.Context, name string) ([]CoinInfo, error) {
	w, err := c.Wallet(ctx, name)
	if err != nil {
		return nil, err
	}
	rows, err := c.db.QueryContext(ctx, `SELECT u.txid, u.vout, u.value, u.script, u.change, u.idx, u.height,
			coalesce(u.session, ''), f.txid IS NOT NULL,
			coalesce((SELECT label FROM labels WHERE wallet = u.wallet AND type = 'output' AND ref = u.txid || ':' || u.vout), '')
		FROM utxos u LEFT JOIN frozen f ON f.txid = u.txid AND f.vout = u.vout
		WHERE u.wallet = ? AND u.spent_height IS NULL
		ORDER BY u.height = 0, u.height, u.txid, u.vout`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	net := w.Descriptor.Network()
	var out []CoinInfo
	for rows.Next() {
		var ci CoinInfo
		var txid string
		var spk []byte
		if err := rows.Scan(&txid, &ci.OutPoint.Index, &ci.Value, &spk, &ci.Change, &ci.Index, &ci.Height, &ci.Session, &ci.Frozen, &ci.Label); err != nil {
			return nil, err
		}
		if ci.OutPoint.Hash, err = psbt.ParseHash(txid); err != nil {
			return nil, err
		}
		if ci.Height > 0 {
			ci.Confirmations = max(w.Scanned-ci.Height+1, 0)
		}
		if ci.Address, err = wallet.AddressFromScript(spk, net); err != nil {
			return nil, err
		}
		out = append(out, ci)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	// An output without a label of its own shows its address's.
	for i := range out {
		if out[i].Label != "" {
			continue
		}
		err := c.db.QueryRowContext(ctx, `SELECT label FROM labels WHERE wallet = ? AND type = 'addr' AND ref = ?`, name, out[i].Address).Scan(&out[i].Label)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
	}
	return out, nil
}

// Freeze freezes (freeze true) or unfreezes the given coins: a frozen
// coin is never selected, by a spend, a sweep or a rebalance, until it is
// unfrozen; a coin frozen while a session reserves it stays in that
// session. Each must be an unspent coin of one of the store's wallets
// (ErrNoCoin otherwise, and nothing changes). Freezing a frozen coin, or
// unfreezing one that is not, changes nothing. It returns how many coins
// changed state. Each wallet's change is recorded in the audit log.
func (c *Coordinator) Freeze(ctx context.Context, ops []psbt.OutPoint, freeze bool) (int, error) {
	if len(ops) == 0 {
		return 0, errors.New("no coin given")
	}
	changed := 0
	err := c.tx(ctx, func(t *sql.Tx) error {
		byWallet := map[string][]string{}
		var wallets []string
		for _, op := range ops {
			var name string
			err := t.QueryRowContext(ctx, `SELECT wallet FROM utxos WHERE txid = ? AND vout = ? AND spent_height IS NULL`, op.Hash.String(), op.Index).Scan(&name)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%s is not an unspent coin of any wallet: %w", op, ErrNoCoin)
			}
			if err != nil {
				return err
			}
			changedOne, err := setFrozen(t, name, op, freeze)
			if err != nil {
				return err
			}
			if changedOne {
				changed++
				if byWallet[name] == nil {
					wallets = append(wallets, name)
				}
				byWallet[name] = append(byWallet[name], op.String())
			}
		}
		kind := audit.CoinsFrozen
		if !freeze {
			kind = audit.CoinsUnfrozen
		}
		for _, name := range wallets {
			if err := auditTx(ctx, t, kind, name, struct {
				Coins []string `json:"coins"`
			}{byWallet[name]}); err != nil {
				return err
			}
		}
		return nil
	})
	return changed, err
}

// excludeCoins drops the coins named in skip from coins; each must be a
// coin of the wallet, spent or not (a typo is refused, not ignored).
func excludeCoins(t *sql.Tx, coins []Coin, skip []psbt.OutPoint, name string) ([]Coin, error) {
	drop := make(map[psbt.OutPoint]bool, len(skip))
	for _, op := range skip {
		var n int
		if err := t.QueryRow(`SELECT count(*) FROM utxos WHERE txid = ? AND vout = ? AND wallet = ?`, op.Hash.String(), op.Index, name).Scan(&n); err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("coin %s to exclude is not a coin of wallet %q: %w", op, name, ErrNoCoin)
		}
		drop[op] = true
	}
	out := coins[:0:0]
	for _, c := range coins {
		if !drop[c.OutPoint] {
			out = append(out, c)
		}
	}
	return out, nil
}
