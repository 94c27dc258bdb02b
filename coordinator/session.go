package coordinator

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/kinko-project/kinko/coordinator/chain"
	"github.com/kinko-project/kinko/internal/psbt"
)

// Session states. A session moves open → finalized → broadcast, or to
// cancelled, which releases its coins. A session in a fee bump's family
// (one replacing another, or replaced) becomes replaced when a conflicting
// transaction of the family confirms.
const (
	StateOpen      = "open"
	StateFinalized = "finalized"
	StateBroadcast = "broadcast"
	StateCancelled = "cancelled"
	StateReplaced  = "replaced"
)

// Session is one signing session: a PSBT the coordinator built, the
// partial signatures imported so far, and what became of it.
type Session struct {
	ID     string
	Wallet string
	State  string
	// TxID is the unsigned transaction's id. Only for native segwit is
	// it also the id of the transaction finally broadcast.
	TxID          string
	PSBT          []byte // the coordinator's PSBT, combined with every import
	Fee           int64
	VSize         int
	Created       string
	FinalTx       []byte
	BroadcastTxID string
	Parts         int // partial PSBTs imported
	// Replaces is the session this one replaces (a fee bump, RBF).
	Replaces string
	// Parent is the session whose unconfirmed change this one spends to
	// pay for both (CPFP).
	Parent string
	// Selection says which coin selection chose the inputs, and why.
	Selection string
	// RolledBack counts the session's coins whose confirming block the
	// node no longer has, nor its mempool the transaction: the chain went
	// back past them. Its transaction
	// may never be valid again; see Balance.RolledBack.
	RolledBack int
}

// Session loads the session with the given id.
func (c *Coordinator) Session(ctx context.Context, id string) (*Session, error) {
	return loadSession(ctx, c.db, id)
}

type queryer interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func loadSession(ctx context.Context, db queryer, id string) (*Session, error) {
	var s Session
	var final []byte
	var btx, replaces, parent sql.NullString
	err := db.QueryRowContext(ctx, `SELECT id, wallet, state, txid, psbt, fee, vsize, created, final_tx, broadcast_txid,
		(SELECT count(*) FROM session_parts WHERE session = sessions.id), replaces, parent, selection,
		(SELECT count(*) FROM utxos WHERE session = sessions.id AND height = 0 AND spent_height IS NULL
			AND txid NOT IN (SELECT txid FROM mempool)) FROM sessions WHERE id = ?`, id).
		Scan(&s.ID, &s.Wallet, &s.State, &s.TxID, &s.PSBT, &s.Fee, &s.VSize, &s.Created, &final, &btx, &s.Parts, &replaces, &parent, &s.Selection, &s.RolledBack)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%q: %w", id, ErrNoSession)
	}
	if err != nil {
		return nil, err
	}
	s.FinalTx, s.BroadcastTxID = final, btx.String
	s.Replaces, s.Parent = replaces.String, parent.String
	return &s, nil
}

// Sessions lists the sessions of every wallet, newest first.
func (c *Coordinator) Sessions(ctx context.Context) ([]*Session, error) {
	return c.sessions(ctx, `SELECT id FROM sessions ORDER BY created DESC, id`)
}

// PendingSessions lists the sessions not yet broadcast nor cancelled
// (open or finalized), newest first.
func (c *Coordinator) PendingSessions(ctx context.Context) ([]*Session, error) {
	return c.sessions(ctx, `SELECT id FROM sessions WHERE state IN (?, ?) ORDER BY created DESC, id`, StateOpen, StateFinalized)
}

func (c *Coordinator) sessions(ctx context.Context, q string, args ...any) ([]*Session, error) {
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	var out []*Session
	for _, id := range ids {
		s, err := c.Session(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// InputStatus is how far one input's signing has come.
type InputStatus struct {
	Have, Need int
}

// Status tells, per input, how many valid signatures the session holds
// of how many are needed.
func (s *Session) Status() ([]InputStatus, error) {
	p, err := psbt.Parse(s.PSBT)
	if err != nil {
		return nil, err
	}
	st := make([]InputStatus, len(p.Inputs))
	for i := range p.Inputs {
		if ts, ok := taprootStatus(p, i); ok {
			st[i] = ts
			continue
		}
		spent, err := p.SpentScript(i)
		if err != nil {
			return nil, err
		}
		st[i] = InputStatus{Have: len(p.Inputs[i].PartialSigs), Need: spent.Threshold}
	}
	return st, nil
}

// ImportResult tells what an import added.
type ImportResult struct {
	Added     int // new signatures
	Duplicate bool
}

// Import adds a partial PSBT to the session, or the signatures of a
// finalized PSBT, of the signed transaction (raw bytes) or of
// kinko-signer's compact reply (airgap.SigReply; ErrBadReply when it
// does not decode). It must be for
// the session's transaction (ErrDifferentTx otherwise), and every
// signature it carries
// must be a valid signature, by one of the wallet's keys for that input,
// of that input (ErrBadSignature otherwise, and nothing is added). The
// same PSBT twice is harmless. The import is committed durably before
// Import returns.
func (c *Coordinator) Import(ctx context.Context, id string, raw []byte) (*ImportResult, error) {
	if bytes.HasPrefix(raw, []byte("psbt\xff")) {
		if _, err := psbt.Parse(raw); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadPSBT, err)
		}
	}
	res := &ImportResult{}
	err := c.tx(ctx, func(t *sql.Tx) error {
		s, err := loadSession(ctx, t, id)
		if err != nil {
			return err
		}
		if s.State != StateOpen {
			return fmt.Errorf("session %s is %s: %w", id, s.State, ErrSessionState)
		}
		p, err := psbt.Parse(s.PSBT)
		if err != nil {
			return err
		}
		part, err := readPart(raw, p)
		if err != nil {
			return err
		}
		if !bytes.Equal(p.UnsignedTx.BytesNoWitness(), part.UnsignedTx.BytesNoWitness()) {
			return fmt.Errorf("psbt spends %s, session %s is %s: %w", part.UnsignedTx.TxID(), id, s.TxID, ErrDifferentTx)
		}
		if err := checkPartialSigs(p, part); err != nil {
			return err
		}
		if err := checkTapSigs(p, part); err != nil {
			return err
		}
		before := countSigs(p)
		// Only signatures are taken from a signer: everything else in
		// the session's PSBT is the coordinator's own.
		sigsOnly, err := psbt.New(p.UnsignedTx.Copy())
		if err != nil {
			return err
		}
		for i := range part.Inputs {
			sigsOnly.Inputs[i].PartialSigs = part.Inputs[i].PartialSigs
			sigsOnly.Inputs[i].TaprootScriptSpendSig = part.Inputs[i].TaprootScriptSpendSig
		}
		if err := psbt.Combine(p, sigsOnly); err != nil {
			return err
		}
		res.Added = countSigs(p) - before
		blob, err := p.Serialize()
		if err != nil {
			return err
		}
		digest := sha256.Sum256(raw)
		// Kept as it came only when it added a signature: a PSBT that
		// adds none would grow the store and tell nothing new.
		var have int
		if err := t.QueryRow(`SELECT count(*) FROM session_parts WHERE session = ? AND digest = ?`, id, digest[:]).Scan(&have); err != nil {
			return err
		}
		res.Duplicate = have > 0
		if res.Added > 0 && !res.Duplicate {
			if _, err := t.Exec(`INSERT INTO session_parts (session, digest, psbt, imported) VALUES (?, ?, ?, ?)`, id, digest[:], raw, now()); err != nil {
				return err
			}
		}
		if err := auditImport(ctx, t, id, p, part, res, digest[:]); err != nil {
			return err
		}
		_, err = t.Exec(`UPDATE sessions SET psbt = ?, updated = ? WHERE id = ?`, blob, now(), id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func countSigs(p *psbt.Packet) int {
	n := 0
	for i := range p.Inputs {
		n += len(p.Inputs[i].PartialSigs) + len(p.Inputs[i].TaprootScriptSpendSig)
	}
	return n
}

// checkPartialSigs verifies every partial signature of part against the
// session's PSBT p: the key must be one of the input's multisig keys, or
// for a single-key input the key its output pays to, and the signature
// valid for the input's sighash (BIP-143 over the witness script, or over
// the P2WPKH scriptCode; legacy over the P2SH redeem script).
func checkPartialSigs(p, part *psbt.Packet) error {
	cache := psbt.NewSigHashCache(p.UnsignedTx)
	for i := range part.Inputs {
		if len(part.Inputs[i].PartialSigs) == 0 {
			continue
		}
		spent, err := p.SpentScript(i)
		if err != nil {
			return err
		}
		for _, ps := range part.Inputs[i].PartialSigs {
			if err := checkPartialSig(p, cache, spent, i, ps); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkPartialSig verifies one partial signature ps of input i, whose
// spent script is spent, as checkPartialSigs does.
func checkPartialSig(p *psbt.Packet, cache *psbt.SigHashCache, spent *psbt.SpentScript, i int, ps psbt.PartialSig) error {
	if !spent.HasKey(ps.PubKey) {
		return fmt.Errorf("input %d: key %x is not one of the wallet's keys for this input: %w", i, ps.PubKey, ErrBadSignature)
	}
	if len(ps.Sig) < 9 {
		return fmt.Errorf("input %d: signature by %x is too short: %w", i, ps.PubKey, ErrBadSignature)
	}
	ht := psbt.SigHashType(ps.Sig[len(ps.Sig)-1])
	want := p.Inputs[i].SighashType
	if want == 0 {
		want = psbt.SigHashAll
	}
	if ht != want {
		return fmt.Errorf("input %d: signature by %x has sighash type %#x, the session asks for %#x: %w", i, ps.PubKey, uint32(ht), uint32(want), ErrBadSignature)
	}
	hash, err := spent.SigHash(cache, ht)
	if err != nil {
		return fmt.Errorf("input %d: %w", i, err)
	}
	sig, err := ecdsa.ParseDERSignature(ps.Sig[:len(ps.Sig)-1])
	if err != nil {
		return fmt.Errorf("input %d: signature by %x: %v: %w", i, ps.PubKey, err, ErrBadSignature)
	}
	pub, err := btcec.ParsePubKey(ps.PubKey)
	if err != nil {
		return fmt.Errorf("input %d: key %x: %v: %w", i, ps.PubKey, err, ErrBadSignature)
	}
	if !sig.Verify(hash[:], pub) {
		return fmt.Errorf("input %d: signature by %x does not verify: %w", i, ps.PubKey, ErrBadSignature)
	}
	return nil
}

// Finalize combines the session's signatures into a complete transaction
// (exactly the threshold of signatures per input; the one signature of a
// single-key input), checks it against the
// node with testmempoolaccept, and records it. node may be nil to skip
// the node's check.
func (c *Coordinator) Finalize(ctx context.Context, id string, node *chain.Client) (*Session, error) {
	s, err := c.Session(ctx, id)
	if err != nil {
		return nil, err
	}
	if s.State != StateOpen && s.State != StateFinalized {
		return nil, fmt.Errorf("session %s is %s: %w", id, s.State, ErrSessionState)
	}
	p, err := psbt.Parse(s.PSBT)
	if err != nil {
		return nil, err
	}
	if err := psbt.Finalize(p); err != nil {
		return nil, err
	}
	tx, err := psbt.Extract(p)
	if err != nil {
		return nil, err
	}
	if err := verifyScripts(p, tx); err != nil {
		return nil, err
	}
	raw := tx.Bytes()
	if node != nil {
		ok, reason, err := node.TestMempoolAccept(raw)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: %s", ErrNotAccepted, reason)
		}
	}
	if err := c.tx(ctx, func(t *sql.Tx) error {
		if _, err := t.Exec(`UPDATE sessions SET state = ?, final_tx = ?, updated = ? WHERE id = ?`, StateFinalized, raw, now(), id); err != nil {
			return err
		}
		return auditFinalized(ctx, t, id, tx, node != nil)
	}); err != nil {
		return nil, err
	}
	return c.Session(ctx, id)
}

// Broadcast sends the session's finalized transaction and records its
// txid; its coins are marked spent.
func (c *Coordinator) Broadcast(ctx context.Context, id string, node *chain.Client) (string, error) {
	s, err := c.Session(ctx, id)
	if err != nil {
		return "", err
	}
	if s.State == StateBroadcast {
		return s.BroadcastTxID, nil
	}
	if s.State != StateFinalized {
		return "", fmt.Errorf("session %s is %s, finalize it first: %w", id, s.State, ErrSessionState)
	}
	if node == nil {
		return "", ErrNoNode
	}
	txid, err := node.Broadcast(s.FinalTx)
	if err != nil {
		return "", err
	}
	err = c.tx(ctx, func(t *sql.Tx) error {
		if _, err := t.Exec(`UPDATE sessions SET state = ?, broadcast_txid = ?, updated = ? WHERE id = ?`, StateBroadcast, txid, now(), id); err != nil {
			return err
		}
		if err := auditBroadcast(ctx, t, id, txid); err != nil {
			return err
		}
		_, err := t.Exec(`UPDATE utxos SET spent_txid = ?, spent_height = 0 WHERE session = ? AND spent_height IS NULL`, txid, id)
		return err
	})
	return txid, err
}

// Cancel abandons an open session and releases its coins.
func (c *Coordinator) Cancel(ctx context.Context, id string) error {
	return c.tx(ctx, func(t *sql.Tx) error {
		s, err := loadSession(ctx, t, id)
		if err != nil {
			return err
		}
		if s.State != StateOpen && s.State != StateFinalized {
			return fmt.Errorf("session %s is %s: %w", id, s.State, ErrSessionState)
		}
		if _, err := t.Exec(`UPDATE sessions SET state = ?, updated = ? WHERE id = ?`, StateCancelled, now(), id); err != nil {
			return err
		}
		if err := auditCancelled(ctx, t, s); err != nil {
			return err
		}
		_, err = t.Exec(`UPDATE utxos SET session = NULL WHERE session = ?`, id)
		return err
	})
}
