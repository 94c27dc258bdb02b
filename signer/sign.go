package signer

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/kinko-project/kinko/airgap"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// Default fee caps: a PSBT paying more is refused unless the operator
// raises the cap for that run.
const (
	DefaultMaxFee     = 5_000_000 // 0.05 BTC
	DefaultMaxFeeRate = 1000      // sat/vB
	MaxFeeRateCap     = 100_000   // the highest cap a run may raise the rate cap to, sat/vB
)

// Change outputs at an index far past the inputs' are a classic way to
// hide funds where the wallet will never look.
const (
	changeGapWarn   = 20
	changeGapRefuse = 1000
)

// Options adjust one signing run.
type Options struct {
	// MaxFee and MaxFeeRate cap the fee; zero means the defaults.
	MaxFee     int64
	MaxFeeRate float64
	// AllowSighash lets inputs ask for a sighash type other than ALL for
	// this run only. Without it such a PSBT is refused.
	AllowSighash bool
	// Now is the time used for daily policy limits; zero means time.Now.
	Now time.Time
	// Workers is how many inputs are checked and signed at once; zero
	// means GOMAXPROCS. The result, or the refusal, is the same for any
	// number.
	Workers int
}

// ErrDeclined is returned when the operator does not approve the review.
var ErrDeclined = errors.New("declined by the operator")

// Approver is shown the review before anything is signed; a non-nil
// error (typically wrapping ErrDeclined) stops the signing.
type Approver func(*Review) error

// plan is what Review worked out: which inputs to sign, with what.
type plan struct {
	review  *Review
	wallet  *registered
	keys    *keyCache
	inputs  []inputPlan
	outputs []int

	tapCache *psbt.TaprootSigHashCache // a tr() wallet's signature hashes
}

type inputPlan struct {
	index   int
	path    wallet.Path
	pubKey  []byte
	derived *wallet.Derived
	amount  int64
	hashTyp psbt.SigHashType
	tap     *tapPlan // taproot inputs only (taproot.go)
}

// keyCache derives keys from the master, keeping each parent key so that
// the inputs of one wallet cost one child derivation each, not a whole
// path.
type keyCache struct {
	master  *wallet.ExtendedKey
	parents map[string]*wallet.ExtendedKey
}

func newKeyCache(master *wallet.ExtendedKey) *keyCache {
	return &keyCache{master: master, parents: make(map[string]*wallet.ExtendedKey)}
}

// parent returns the key at p without its last step, derived once. Its
// public key is computed here, so that deriving its children (which
// reads it) is then safe from several goroutines at once.
func (c *keyCache) parent(p wallet.Path) (*wallet.ExtendedKey, error) {
	if len(p) == 0 {
		return nil, errors.New("the empty path has no parent")
	}
	parent := p[:len(p)-1]
	key := parent.String()
	if pk, ok := c.parents[key]; ok {
		return pk, nil
	}
	pk, err := c.master.Derive(parent)
	if err != nil {
		return nil, err
	}
	pk.PublicKey()
	c.parents[key] = pk
	return pk, nil
}

// zero wipes every parent key the cache derived (children are wiped by
// whoever derived them).
func (c *keyCache) zero() {
	for _, k := range c.parents {
		k.Zero()
	}
}

// registered is a parsed registered wallet and the signer's key in it.
type registered struct {
	RegisteredWallet
	desc   *wallet.Descriptor
	origin wallet.KeyOrigin // the signer's own key's origin in the wallet
}

func (ks *Keystore) registeredWallets(master *wallet.ExtendedKey) ([]*registered, error) {
	var out []*registered
	for _, rw := range ks.data.Wallets {
		d, err := rw.parse()
		if err != nil {
			return nil, err
		}
		origin, err := ownKey(d, master)
		if err != nil {
			return nil, fmt.Errorf("registered wallet %q: %w", rw.Name, err)
		}
		out = append(out, &registered{RegisteredWallet: rw, desc: d, origin: origin})
	}
	return out, nil
}

// ErrNotOurWallet is returned when a wallet holds no key of this seed.
var ErrNotOurWallet = errors.New("the wallet holds no key of this seed at the path it claims")

// ownKey finds the signer's key in d: a key whose origin names the
// master's fingerprint and which re-derives from the seed at that path.
func ownKey(d *wallet.Descriptor, master *wallet.ExtendedKey) (wallet.KeyOrigin, error) {
	fp := master.Fingerprint()
	found := false
	for _, k := range d.Keys() {
		if k.Origin.Fingerprint != fp {
			continue
		}
		found = true
		x, err := master.Derive(k.Origin.Path)
		if err != nil {
			return wallet.KeyOrigin{}, fmt.Errorf("derive %s: %w", k.Origin.Path, err)
		}
		same := bytes.Equal(x.PublicKey(), k.Key.PublicKey()) && bytes.Equal(x.ChainCode(), k.Key.ChainCode())
		x.Zero()
		if same {
			return k.Origin, nil
		}
	}
	if found {
		return wallet.KeyOrigin{}, fmt.Errorf("a key claims fingerprint %s but does not re-derive from this seed: %w", fp, ErrNotOurWallet)
	}
	return wallet.KeyOrigin{}, fmt.Errorf("no key with fingerprint %s: %w", fp, ErrNotOurWallet)
}

// Sign reviews p against the registered wallets, asks approve, and signs
// every input of the wallet. It returns a PSBT carrying only the
// unsigned transaction and this signer's partial signatures, which is all
// a coordinator needs back. Nothing is signed when an error is returned.
//
// The signing is appended to the keystore's hash-chained [History] (the
// caller saves the keystore before the PSBT leaves); a history whose
// chain is broken makes Sign fail with a [HistoryError], since the daily
// limit counts from it.
func (ks *Keystore) Sign(p *psbt.Packet, opts Options, approve Approver) (*psbt.Packet, *Review, error) {
	if _, err := ks.data.History.Verify(); err != nil {
		return nil, nil, err
	}
	master, err := ks.Master(wallet.Mainnet)
	if err != nil {
		return nil, nil, err
	}
	defer master.Zero()
	keys := newKeyCache(master)
	defer keys.zero()
	pl, err := ks.review(p, opts, keys)
	if err != nil {
		return nil, nil, err
	}
	if approve != nil {
		if err := approve(pl.review); err != nil {
			return nil, pl.review, err
		}
	}
	out, err := signPlan(p, pl, workers(opts.Workers))
	if err != nil {
		return nil, pl.review, err
	}
	ks.data.History = ks.data.History.appendEntry(HistoryEntry{
		Time: opts.now(), Wallet: pl.wallet.Name, TxID: p.UnsignedTx.TxID().String(),
		Spent: pl.review.External + pl.review.Fee, Outputs: historyOutputs(pl.review),
	})
	return out, pl.review, nil
}

// Review works out what p does, exactly as Sign would, without signing.
func (ks *Keystore) Review(p *psbt.Packet, opts Options) (*Review, error) {
	master, err := ks.Master(wallet.Mainnet)
	if err != nil {
		return nil, err
	}
	defer master.Zero()
	keys := newKeyCache(master)
	defer keys.zero()
	pl, err := ks.review(p, opts, keys)
	if err != nil {
		return nil, err
	}
	return pl.review, nil
}

func (o Options) now() time.Time {
	if o.Now.IsZero() {
		return time.Now().UTC()
	}
	return o.Now
}

func (ks *Keystore) review(p *psbt.Packet, opts Options, keys *keyCache) (*plan, error) {
	master := keys.master
	if p == nil || p.UnsignedTx == nil {
		return nil, refuse("psbt", "no unsigned transaction")
	}
	tx := p.UnsignedTx
	if len(tx.Inputs) == 0 || len(tx.Outputs) == 0 {
		return nil, refuse("transaction", "has no inputs or no outputs")
	}
	if len(p.Inputs) != len(tx.Inputs) || len(p.Outputs) != len(tx.Outputs) {
		return nil, refuse("psbt", "map counts do not match the transaction")
	}
	wallets, err := ks.registeredWallets(master)
	if err != nil {
		return nil, err
	}
	if len(wallets) == 0 {
		return nil, refuse("psbt", "no wallet is registered on this signer (register one with 'kinko-signer register')")
	}
	// Derivations in Electrum's form are read as full origins here, and
	// every check below runs on them as on any (electrum.go).
	if p, err = ks.electrumOrigins(p, wallets); err != nil {
		return nil, err
	}
	fp := master.Fingerprint()
	pl := &plan{keys: keys}
	// Each input's own checks (its previous transaction, its keys and
	// script re-derived, its sighash) run in parallel; what depends on
	// other inputs is checked here, in input order, so the refusal is
	// the first in order whatever the scheduling.
	pre := prederive(p, wallets, fp, workers(opts.Workers))
	checks := make([]inputCheck, len(p.Inputs))
	forEach(len(p.Inputs), workers(opts.Workers), func(i int) bool {
		checks[i] = checkInput(p, i, wallets, pre, fp, opts.AllowSighash)
		return checks[i].err() == nil
	})
	seen := make(map[psbt.OutPoint]int, len(p.Inputs))
	amounts := make([]int64, len(p.Inputs))
	var totalIn int64
	var maxIndex uint32
	var sighashWarnings []string
	for i := range p.Inputs {
		where := fmt.Sprintf("input %d", i)
		op := tx.Inputs[i].PrevOut
		if j, dup := seen[op]; dup {
			return nil, refuse(where, "spends %s, which input %d spends too", op, j)
		}
		seen[op] = i
		c := &checks[i]
		if c.spentErr != nil {
			return nil, c.spentErr
		}
		amounts[i] = c.utxo.Value
		totalIn += c.utxo.Value
		if totalIn > MaxMoney {
			return nil, refuse("transaction", "inputs add up to more than 21 million BTC")
		}
		if c.matchErr != nil {
			return nil, c.matchErr
		}
		if c.ip == nil {
			continue
		}
		if pl.wallet != nil && pl.wallet != c.w {
			return nil, refuse(where, "belongs to wallet %q while other inputs belong to %q", c.w.Name, pl.wallet.Name)
		}
		pl.wallet = c.w
		if c.sighashErr != nil {
			return nil, c.sighashErr
		}
		if c.warn != "" {
			sighashWarnings = append(sighashWarnings, c.warn)
		}
		if c.ip.derived.Index > maxIndex {
			maxIndex = c.ip.derived.Index
		}
		pl.inputs = append(pl.inputs, *c.ip)
	}
	if pl.wallet == nil {
		return nil, refuse("psbt", "no input belongs to a registered wallet of this signer")
	}
	w := pl.wallet
	if pl.tapCache, err = checkTaprootUTXOs(p, w); err != nil {
		return nil, err
	}
	net := w.desc.Network()
	if err := checkGlobalXPubs(p, w, master); err != nil {
		return nil, err
	}
	dsts, err := ks.destinations(net)
	if err != nil {
		return nil, err
	}
	r := &Review{Wallet: w.Name, Kind: Describe(w.desc), Network: net, TotalIn: totalIn, Policy: w.Policy}
	ours := make(map[int]*inputPlan)
	for k := range pl.inputs {
		ours[pl.inputs[k].index] = &pl.inputs[k]
	}
	for i := range p.Inputs {
		ri := ReviewInput{OutPoint: tx.Inputs[i].PrevOut.String(), Amount: amounts[i]}
		if ip, ok := ours[i]; ok {
			ri.Change, ri.Index, ri.Sign, ri.SigHash = ip.derived.Change, ip.derived.Index, true, ip.hashTyp
		} else {
			r.Warnings = append(r.Warnings, fmt.Sprintf("input %d does not belong to wallet %q and is not signed", i, w.Name))
		}
		r.Inputs = append(r.Inputs, ri)
	}
	r.Warnings = append(r.Warnings, sighashWarnings...)
	var totalOut int64
	for j, out := range tx.Outputs {
		where := fmt.Sprintf("output %d", j)
		if out.Value < 0 || out.Value > MaxMoney {
			return nil, refuse(where, "amount %d sat is out of range", out.Value)
		}
		totalOut += out.Value
		if totalOut > MaxMoney {
			return nil, refuse("transaction", "outputs add up to more than 21 million BTC")
		}
		ro, err := reviewOutput(p, j, w, dsts, fp, maxIndex, r)
		if err != nil {
			return nil, err
		}
		if !ro.Change {
			r.External += out.Value
		}
		r.Outputs = append(r.Outputs, *ro)
	}
	if totalOut > totalIn {
		return nil, refuse("transaction", "outputs (%d sat) are worth more than inputs (%d sat)", totalOut, totalIn)
	}
	r.TotalOut = totalOut
	r.Fee = totalIn - totalOut
	r.VSize, r.Uncounted = estimateVSize(tx, p, w.desc, ours)
	maxFee, maxRate := opts.MaxFee, opts.MaxFeeRate
	if maxFee == 0 {
		maxFee = DefaultMaxFee
	}
	if maxRate == 0 {
		maxRate = DefaultMaxFeeRate
	}
	if !(maxRate > 0 && maxRate <= MaxFeeRateCap) || maxFee < 0 {
		return nil, fmt.Errorf("fee caps: rate %v sat/vB must be within 0..%d and the fee cap positive", maxRate, MaxFeeRateCap)
	}
	if r.Fee > maxFee {
		return nil, refuse("transaction", "fee %s is above the cap of %s", wallet.FormatAmount(r.Fee), wallet.FormatAmount(maxFee))
	}
	// Written so that a NaN rate or cap refuses rather than passes.
	if rate := r.FeeRate(); !(rate <= maxRate) {
		return nil, refuse("transaction", "fee rate %.1f sat/vB is above the cap of %.1f sat/vB", rate, maxRate)
	}
	if r.External > 0 && r.Fee*10 > r.External {
		r.Warnings = append(r.Warnings, fmt.Sprintf("the fee is %.1f%% of the amount sent", 100*float64(r.Fee)/float64(r.External)))
	}
	if err := ks.checkPolicy(w, r, opts.now()); err != nil {
		return nil, err
	}
	pl.review = r
	return pl, nil
}

// signPlan signs the planned inputs of p, returning a PSBT that holds
// only the unsigned transaction and the new partial signatures. The
// inputs are signed in parallel (RFC 6979 signatures are deterministic, so
// the result is the same bytes for any number of workers), and an error
// is the first in input order.
func signPlan(p *psbt.Packet, pl *plan, nworkers int) (*psbt.Packet, error) {
	out, err := psbt.New(p.UnsignedTx.Copy())
	if err != nil {
		return nil, err
	}
	out.Version = p.Version // answer in the version received
	// Parents first, in order: the workers then only read them.
	parents := make([]*wallet.ExtendedKey, len(pl.inputs))
	for k := range pl.inputs {
		if parents[k], err = pl.keys.parent(pl.inputs[k].path); err != nil {
			return nil, fmt.Errorf("input %d: derive %s: %w", pl.inputs[k].index, pl.inputs[k].path, err)
		}
	}
	cache := psbt.NewSigHashCache(p.UnsignedTx)
	st := pl.wallet.desc.ScriptType()
	sigs := make([][]byte, len(pl.inputs))
	errs := make([]error, len(pl.inputs))
	forEach(len(pl.inputs), nworkers, func(k int) bool {
		if pl.inputs[k].tap != nil {
			errs[k] = signTapInput(pl.tapCache, parents[k], &pl.inputs[k])
			return errs[k] == nil
		}
		sigs[k], errs[k] = signInput(p.UnsignedTx, cache, st, parents[k], &pl.inputs[k])
		return errs[k] == nil
	})
	for k := range pl.inputs {
		if errs[k] != nil {
			return nil, errs[k]
		}
		ip := &pl.inputs[k]
		in := &out.Inputs[ip.index]
		if ip.tap != nil {
			in.TaprootScriptSpendSig = append(in.TaprootScriptSpendSig, ip.scriptSigs()...)
			continue
		}
		in.PartialSigs = append(in.PartialSigs, psbt.PartialSig{PubKey: ip.pubKey, Sig: sigs[k]})
		if ip.hashTyp != psbt.SigHashAll {
			in.SighashType = ip.hashTyp
		}
	}
	return out, nil
}

// signInput derives the key of input ip from its parent, signs, and wipes
// the key.
func signInput(tx *psbt.Tx, cache *psbt.SigHashCache, st wallet.ScriptType, parent *wallet.ExtendedKey, ip *inputPlan) ([]byte, error) {
	k, err := parent.Child(ip.path[len(ip.path)-1])
	if err != nil {
		return nil, fmt.Errorf("input %d: derive %s: %w", ip.index, ip.path, err)
	}
	defer k.Zero()
	priv, err := k.PrivateKey()
	if err != nil {
		return nil, fmt.Errorf("input %d: %w", ip.index, err)
	}
	defer priv.Zero()
	hash, err := sigHash(tx, cache, st, ip)
	if err != nil {
		return nil, fmt.Errorf("input %d: sighash: %w", ip.index, err)
	}
	sig := ecdsa.Sign(priv, hash[:]).Serialize()
	return append(sig, byte(ip.hashTyp)), nil
}

// sigHash is the hash input ip's signature commits to: BIP-143 over the
// witness script (wsh, sh-wsh) or over the P2PKH scriptCode of the key
// (wpkh, sh-wpkh), or the legacy hash over the redeem script (sh). The
// scripts are the signer's own derivations, never the PSBT's.
func sigHash(tx *psbt.Tx, cache *psbt.SigHashCache, st wallet.ScriptType, ip *inputPlan) ([32]byte, error) {
	switch st {
	case wallet.P2WSH, wallet.P2SHP2WSH:
		return cache.WitnessV0(ip.index, ip.derived.WitnessScript, ip.amount, ip.hashTyp)
	case wallet.P2WPKH, wallet.P2SHP2WPKH:
		return cache.WitnessV0(ip.index, psbt.P2WPKHScriptCode(wallet.Hash160(ip.pubKey)), ip.amount, ip.hashTyp)
	case wallet.P2SH:
		return psbt.LegacySigHash(tx, ip.index, ip.derived.RedeemScript, ip.hashTyp)
	}
	return [32]byte{}, fmt.Errorf("no signature hash for script type %s", st)
}

// prepareSize is the size of a PSBT from which SignBytes has the table
// of wallet.DeriveMany built while it parses: some 30 multisig inputs,
// about the fewest whose keys are derived together.
const prepareSize = 16 << 10

// SignBytes is what kinko-signer runs on a PSBT file: it detects the
// encoding (binary, base64, hex, or UR or BBQr part strings), parses the
// PSBT strictly, and signs as Sign does. Input that is not a PSBT, or
// does not parse, is refused. It returns the serialized partial PSBT.
func (ks *Keystore) SignBytes(raw []byte, opts Options, approve Approver) ([]byte, *Review, error) {
	kind, bin, err := airgap.DecodeBytes(raw)
	if err != nil {
		return nil, nil, refuseErr("psbt", "cannot be read", err)
	}
	if kind != airgap.KindPSBT {
		return nil, nil, refuse("psbt", "the input holds %s, not a PSBT", kind)
	}
	if len(bin) >= prepareSize {
		// Enough inputs for their keys to be derived together: the table
		// that takes is built on the other cores while this one parses.
		go wallet.PrepareDeriveMany()
	}
	// Derivation keys are taken as bytes: every one the signer uses is
	// compared with its own derivation, and the rest are checked to be
	// keys during the review (checkKeys).
	p, err := psbt.ParseWith(bin, psbt.ParseOptions{DerivationKeysAsBytes: true})
	if err != nil {
		return nil, nil, refuseErr("psbt", "malformed", err)
	}
	out, r, err := ks.Sign(p, opts, approve)
	if err != nil {
		return nil, r, err
	}
	// The output holds the unsigned transaction and our signatures: their
	// keys are our own derivations, points already, so they are not
	// proved on the curve a second time.
	blob, err := out.SerializeWith(psbt.ParseOptions{PartialSigKeysAsBytes: true})
	if err != nil {
		return nil, r, err
	}
	return blob, r, nil
}
