package coordinator

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/kinko-project/kinko/coordinator/audit"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// This file is the coordinator's side of the audit log (package audit):
// what each action records. Every action that has an SQL transaction
// appends its entry inside it, so the entry and the action commit
// together or not at all.

// RecordAudit appends an entry to the audit log, in a transaction of its
// own, for an action the coordinator's store does not see: a PSBT written
// to a file or shown as QR codes, treasury settings changed, a rebalance
// proposed. kind should be one of package audit's constants; detail is
// anything encoding/json can marshal.
func (c *Coordinator) RecordAudit(ctx context.Context, kind audit.Kind, subject string, detail any) error {
	return c.tx(ctx, func(t *sql.Tx) error { return auditTx(ctx, t, kind, subject, detail) })
}

// VerifyAudit verifies the audit log's chain and returns its head (see
// [audit.Verify]); with recorded not nil, also that the log still holds
// that earlier head ([audit.VerifyHead]). A broken chain is an
// *[audit.ChainError].
func (c *Coordinator) VerifyAudit(ctx context.Context, recorded *audit.Head) (audit.Head, error) {
	if recorded != nil {
		return audit.VerifyHead(ctx, c.db, *recorded)
	}
	return audit.Verify(ctx, c.db)
}

// ExportAudit writes the audit log's entries from since on (zero: all)
// to w ([audit.Export]) and returns how many it wrote.
func (c *Coordinator) ExportAudit(ctx context.Context, w io.Writer, since time.Time, format audit.Format) (int, error) {
	return audit.Export(ctx, c.db, w, since, format)
}

func auditTx(ctx context.Context, t *sql.Tx, kind audit.Kind, subject string, detail any) error {
	_, err := audit.Append(ctx, t, kind, subject, detail)
	return err
}

type walletDetail struct {
	Descriptor string `json:"descriptor"`
	Network    string `json:"network"`
	Policy     string `json:"policy"` // e.g. "2-of-3 wsh"
	Birthday   int64  `json:"birthday"`
}

func auditWalletAdded(ctx context.Context, t *sql.Tx, kind audit.Kind, name string, d *wallet.Descriptor, birthday int64) error {
	return auditTx(ctx, t, kind, name, walletDetail{
		Descriptor: d.String(), Network: d.Network().Name, Birthday: birthday,
		Policy: policy(d),
	})
}

func policy(d *wallet.Descriptor) string {
	return fmt.Sprintf("%d-of-%d %s", d.Threshold(), len(d.Keys()), d.ScriptType())
}

func auditAddress(ctx context.Context, t *sql.Tx, name string, index uint32, addr string) error {
	return auditTx(ctx, t, audit.AddressIssued, name, struct {
		Index   uint32 `json:"index"`
		Address string `json:"address"`
	}{index, addr})
}

type reorgDetail struct {
	Blocks   int   `json:"blocks"`
	ForkedAt int64 `json:"forked_at"`
}

func (c *Coordinator) auditSync(ctx context.Context, rep *SyncReport) error {
	d := struct {
		Tip           int64        `json:"tip"`
		TipHash       string       `json:"tip_hash,omitempty"`
		Wallets       int          `json:"wallets"`
		BlocksScanned int          `json:"blocks_scanned"`
		CoinsFound    int          `json:"coins_found"`
		MempoolCoins  int          `json:"mempool_coins"`
		Reorg         *reorgDetail `json:"reorg,omitempty"`
	}{rep.Tip, rep.TipHash, rep.Wallets, rep.Scanned, rep.Found, rep.Mempool, nil}
	if rep.Reorged > 0 {
		d.Reorg = &reorgDetail{rep.Reorged, rep.ForkedAt}
	}
	return c.RecordAudit(ctx, audit.Synced, "", d)
}

type outputDetail struct {
	Address string `json:"address"` // or "script:HEX"
	Amount  int64  `json:"amount_sat"`
	Change  bool   `json:"change,omitempty"`
}

// auditSessionOpened records a new session: its transaction's inputs and
// outputs, read from the session's PSBT.
func auditSessionOpened(ctx context.Context, t *sql.Tx, s *Session, net *wallet.Network) error {
	p, err := psbt.Parse(s.PSBT)
	if err != nil {
		return err
	}
	d := struct {
		Wallet  string         `json:"wallet"`
		TxID    string         `json:"txid"`
		Fee     int64          `json:"fee_sat"`
		VSize   int            `json:"vsize"`
		Inputs  []string       `json:"inputs"`
		Outputs []outputDetail `json:"outputs"`
	}{Wallet: s.Wallet, TxID: s.TxID, Fee: s.Fee, VSize: s.VSize}
	for _, in := range p.UnsignedTx.Inputs {
		d.Inputs = append(d.Inputs, in.PrevOut.String())
	}
	for j, out := range p.UnsignedTx.Outputs {
		addr, err := wallet.AddressFromScript(out.PkScript, net)
		if err != nil {
			addr = "script:" + hex.EncodeToString(out.PkScript)
		}
		d.Outputs = append(d.Outputs, outputDetail{Address: addr, Amount: out.Value, Change: len(p.Outputs[j].Bip32Derivation) > 0})
	}
	return auditTx(ctx, t, audit.SessionOpened, s.ID, d)
}

// auditImport records a partial PSBT imported into session id: how many
// inputs it signs, and the master fingerprint of every key that signed,
// found in the session's own PSBT p (the coordinator's derivations, not
// the signer's claims) by the signature's public key.
func auditImport(ctx context.Context, t *sql.Tx, id string, p, part *psbt.Packet, res *ImportResult, digest []byte) error {
	d := struct {
		Inputs       int      `json:"inputs_signed"`
		Signatures   int      `json:"signatures"`
		Added        int      `json:"added"`
		Fingerprints []string `json:"fingerprints"`
		Unknown      []string `json:"keys_without_derivation,omitempty"`
		Duplicate    bool     `json:"duplicate,omitempty"`
		SHA256       string   `json:"psbt_sha256"`
	}{Added: res.Added, Duplicate: res.Duplicate, SHA256: hex.EncodeToString(digest), Fingerprints: []string{}}
	// signer counts one signature by key: under fp, the fingerprint its
	// derivation in the session gives, or as unknown when it has none.
	signer := func(key []byte, fp [4]byte, known bool) {
		d.Signatures++
		if !known {
			d.Unknown = appendNew(d.Unknown, hex.EncodeToString(key))
			return
		}
		d.Fingerprints = appendNew(d.Fingerprints, hex.EncodeToString(fp[:]))
	}
	for i := range part.Inputs {
		in := &p.Inputs[i]
		if len(part.Inputs[i].PartialSigs) > 0 || len(part.Inputs[i].TaprootScriptSpendSig) > 0 {
			d.Inputs++
		}
		for _, s := range part.Inputs[i].TaprootScriptSpendSig {
			k := slices.IndexFunc(in.TaprootBip32Derivation, func(b psbt.TaprootBip32Derivation) bool { return bytes.Equal(b.XOnlyPubKey, s.XOnlyPubKey) })
			if k < 0 {
				signer(s.XOnlyPubKey, [4]byte{}, false)
			} else {
				signer(s.XOnlyPubKey, in.TaprootBip32Derivation[k].Fingerprint, true)
			}
		}
		for _, ps := range part.Inputs[i].PartialSigs {
			k := slices.IndexFunc(in.Bip32Derivation, func(b psbt.Bip32Derivation) bool { return bytes.Equal(b.PubKey, ps.PubKey) })
			if k < 0 {
				signer(ps.PubKey, [4]byte{}, false)
			} else {
				signer(ps.PubKey, in.Bip32Derivation[k].Fingerprint, true)
			}
		}
	}
	slices.Sort(d.Fingerprints)
	slices.Sort(d.Unknown)
	return auditTx(ctx, t, audit.SignatureImported, id, d)
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func auditFinalized(ctx context.Context, t *sql.Tx, id string, tx *psbt.Tx, nodeChecked bool) error {
	return auditTx(ctx, t, audit.Finalized, id, struct {
		TxID        string `json:"txid"`
		WTxID       string `json:"wtxid"`
		Bytes       int    `json:"bytes"`
		NodeChecked bool   `json:"node_checked"`
	}{tx.TxID().String(), tx.WTxID().String(), len(tx.Bytes()), nodeChecked})
}

func auditBroadcast(ctx context.Context, t *sql.Tx, id, txid string) error {
	return auditTx(ctx, t, audit.Broadcast, id, struct {
		TxID string `json:"txid"`
	}{txid})
}

func auditCancelled(ctx context.Context, t *sql.Tx, s *Session) error {
	return auditTx(ctx, t, audit.Cancelled, s.ID, struct {
		Wallet string `json:"wallet"`
		From   string `json:"from_state"`
		TxID   string `json:"txid"`
	}{s.Wallet, s.State, s.TxID})
}
