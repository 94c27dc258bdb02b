package coordinator

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kinko-project/kinko/coordinator/audit"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// Labels, exported and imported in the format of BIP-329 (Wallet Labels
// Export Format): JSON Lines, one record a line, {"type", "ref",
// "label"}, with "spendable" on outputs. kinko keeps labels of
// transactions (tx, ref a txid), addresses (addr, the paying pay file's
// and the wallet's own) and outputs and inputs (output, input, ref
// TXID:VOUT); an output's "spendable": false is a frozen coin.
// Records of pubkeys and xpubs are counted and skipped.

// Label types kinko keeps.
const (
	LabelTx     = "tx"
	LabelAddr   = "addr"
	LabelInput  = "input"
	LabelOutput = "output"
)

// exportRecord is one BIP-329 record as ExportLabels writes it.
type exportRecord struct {
	Type  string `json:"type"`
	Ref   string `json:"ref"`
	Label string `json:"label,omitempty"`
	// Spendable, on an output, says whether the coin may be spent: false
	// is a frozen coin. Nil: not said.
	Spendable *bool `json:"spendable,omitempty"`
}

// MaxLabelsFile caps a BIP-329 file kinko reads.
const MaxLabelsFile = 16 << 20

// ErrLabelsFile is wrapped by a *LabelsFileError.
var ErrLabelsFile = errors.New("labels file refused")

// LabelsFileError lists everything wrong with a labels file; nothing of
// it was imported.
type LabelsFileError struct{ PayFileError }

func (e *LabelsFileError) Error() string {
	return strings.Replace(e.PayFileError.Error(), "pay file refused", "labels file refused", 1)
}

func (e *LabelsFileError) Unwrap() error { return ErrLabelsFile }

// labelRecord is a record as read: Label nil when the record has none
// (and so leaves the label kept as it is).
type labelRecord struct {
	Type      string  `json:"type"`
	Ref       string  `json:"ref"`
	Label     *string `json:"label"`
	Spendable *bool   `json:"spendable"`
	Origin    *string `json:"origin"` // optional; not kept
}

// parseLabels reads and checks a BIP-329 file for a wallet on net. It
// returns the records kinko keeps and how many it skipped (pubkey, xpub).
// Fields BIP-329 adds later (height, fee, keypath…) are ignored.
func parseLabels(r io.Reader, net *wallet.Network) ([]labelRecord, int, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxLabelsFile+1))
	if err != nil {
		return nil, 0, err
	}
	c := &payChecker{}
	if len(data) > MaxLabelsFile {
		c.problem(0, "larger than %d MiB", MaxLabelsFile>>20)
		return nil, 0, &LabelsFileError{c.errs}
	}
	var out []labelRecord
	skipped := 0
	for line, text := range bytes.Split(data, []byte("\n")) {
		line++
		if c.full() {
			break
		}
		text = bytes.TrimSpace(text)
		if len(text) == 0 {
			continue
		}
		var l labelRecord
		d := json.NewDecoder(bytes.NewReader(text))
		if err := d.Decode(&l); err != nil {
			c.problem(line, "not a JSON object: %v", err)
			continue
		}
		if d.More() {
			c.problem(line, "more than one JSON value")
			continue
		}
		switch l.Type {
		case "pubkey", "xpub":
			skipped++
			continue
		case LabelTx:
			if _, err := psbt.ParseHash(l.Ref); err != nil {
				c.problem(line, "tx ref %q: want a txid of 64 hex digits", l.Ref)
				continue
			}
		case LabelAddr:
			if len(l.Ref) > 100 {
				c.problem(line, "addr ref of %d bytes", len(l.Ref))
				continue
			}
			if _, err := wallet.ScriptFromAddress(l.Ref, net); err != nil {
				c.problem(line, "addr ref %q: %v", l.Ref, err)
				continue
			}
		case LabelInput, LabelOutput:
			if _, err := ParseOutPoint(l.Ref); err != nil {
				c.problem(line, "%s ref: %v", l.Type, err)
				continue
			}
		case "":
			c.problem(line, "no type")
			continue
		default:
			c.problem(line, "type %q: want tx, addr, pubkey, input, output or xpub", l.Type)
			continue
		}
		if l.Spendable != nil && l.Type != LabelOutput {
			c.problem(line, "spendable is only for outputs")
			continue
		}
		if l.Label != nil && (len(*l.Label) > MaxLabel || !utf8.ValidString(*l.Label) || strings.IndexFunc(*l.Label, unicode.IsControl) >= 0) {
			c.problem(line, "label: at most %d bytes of text without control characters", MaxLabel)
			continue
		}
		out = append(out, l)
	}
	if len(c.errs.Problems) > 0 {
		return nil, 0, &LabelsFileError{c.errs}
	}
	return out, skipped, nil
}

// LabelsImported tells what ImportLabels did.
type LabelsImported struct {
	Labels   int // labels set (an empty label removes one)
	Frozen   int // coins frozen or unfrozen by "spendable"
	Skipped  int // pubkey and xpub records
	NotCoins int // "spendable" on outputs that are no unspent coin of the wallet
}

// ImportLabels reads a BIP-329 file into wallet name's labels: each
// record's label replaces the one kept (an empty one removes it; a record
// without "label" leaves it), and an output's "spendable" freezes or
// unfreezes that coin of the wallet. Every line is checked first: a file
// with any problem is refused whole (a *LabelsFileError listing them).
// The import is one transaction, recorded in the audit log.
func (c *Coordinator) ImportLabels(ctx context.Context, name string, r io.Reader) (*LabelsImported, error) {
	w, err := c.Wallet(ctx, name)
	if err != nil {
		return nil, err
	}
	recs, skipped, err := parseLabels(r, w.Descriptor.Network())
	if err != nil {
		return nil, err
	}
	res := &LabelsImported{Skipped: skipped}
	err = c.tx(ctx, func(t *sql.Tx) error {
		var frozen, thawed []string
		for _, l := range recs {
			if l.Spendable != nil {
				op, _ := ParseOutPoint(l.Ref)
				n, err := setFrozen(t, name, op, !*l.Spendable)
				if errors.Is(err, ErrNoCoin) {
					res.NotCoins++
				} else if err != nil {
					return err
				}
				if n {
					res.Frozen++
					if *l.Spendable {
						thawed = append(thawed, l.Ref)
					} else {
						frozen = append(frozen, l.Ref)
					}
				}
			}
			if l.Label == nil {
				continue
			}
			if err := setLabel(t, name, l.Type, l.Ref, *l.Label); err != nil {
				return err
			}
			res.Labels++
		}
		return auditTx(ctx, t, audit.LabelsImported, name, struct {
			Labels   int      `json:"labels"`
			Frozen   []string `json:"frozen,omitempty"`
			Unfrozen []string `json:"unfrozen,omitempty"`
		}{res.Labels, frozen, thawed})
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func setLabel(t *sql.Tx, name, typ, ref, label string) error {
	if label == "" {
		_, err := t.Exec(`DELETE FROM labels WHERE wallet = ? AND type = ? AND ref = ?`, name, typ, ref)
		return err
	}
	_, err := t.Exec(`INSERT INTO labels (wallet, type, ref, label) VALUES (?, ?, ?, ?)
		ON CONFLICT (wallet, type, ref) DO UPDATE SET label = excluded.label`, name, typ, ref, label)
	return err
}

// setFrozen freezes or unfreezes one unspent coin of wallet name and
// tells whether that changed anything; ErrNoCoin if it is no such coin.
func setFrozen(t *sql.Tx, name string, op psbt.OutPoint, freeze bool) (bool, error) {
	var n int
	if err := t.QueryRow(`SELECT count(*) FROM utxos WHERE txid = ? AND vout = ? AND wallet = ? AND spent_height IS NULL`, op.Hash.String(), op.Index, name).Scan(&n); err != nil {
		return false, err
	}
	if n == 0 {
		return false, fmt.Errorf("%s: %w", op, ErrNoCoin)
	}
	var res sql.Result
	var err error
	if freeze {
		res, err = t.Exec(`INSERT OR IGNORE INTO frozen (txid, vout, wallet, since) VALUES (?, ?, ?, ?)`, op.Hash.String(), op.Index, name, now())
	} else {
		res, err = t.Exec(`DELETE FROM frozen WHERE txid = ? AND vout = ?`, op.Hash.String(), op.Index)
	}
	if err != nil {
		return false, err
	}
	k, _ := res.RowsAffected()
	return k == 1, nil
}

// ExportLabels writes wallet name's labels as BIP-329 JSON Lines, sorted
// by type and ref, each frozen coin as an output with "spendable": false
// (with its label, if any). It returns how many records it wrote.
func (c *Coordinator) ExportLabels(ctx context.Context, name string, w io.Writer) (int, error) {
	if _, err := c.Wallet(ctx, name); err != nil {
		return 0, err
	}
	rows, err := c.db.QueryContext(ctx, `SELECT type, ref, label, 0 FROM labels WHERE wallet = ?
			AND NOT (type = 'output' AND ref IN (SELECT txid || ':' || vout FROM frozen WHERE wallet = ?))
		UNION ALL
		SELECT 'output', f.txid || ':' || f.vout, coalesce(l.label, ''), 1 FROM frozen f
			LEFT JOIN labels l ON l.wallet = f.wallet AND l.type = 'output' AND l.ref = f.txid || ':' || f.vout
			WHERE f.wallet = ?
		ORDER BY 1, 2`, name, name, name)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	bw := bufio.NewWriter(w)
	n := 0
	no := false
	for rows.Next() {
		var l exportRecord
		var isFrozen bool
		if err := rows.Scan(&l.Type, &l.Ref, &l.Label, &isFrozen); err != nil {
			return n, err
		}
		if isFrozen {
			l.Spendable = &no
		}
		b, err := json.Marshal(l)
		if err != nil {
			return n, err
		}
		bw.Write(b)
		bw.WriteByte('\n')
		n++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// labelPayments keeps a pay file's labels as labels of the addresses paid.
func labelPayments(t *sql.Tx, name string, pays []Payment) error {
	for _, p := range pays {
		if p.Label == "" {
			continue
		}
		if err := setLabel(t, name, LabelAddr, p.Address, p.Label); err != nil {
			return err
		}
	}
	return nil
}
