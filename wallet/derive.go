package wallet

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"slices"
	"strconv"

	"github.com/btcsuite/btcd/btcec/v2"
)

// Derived is the script of one address of a descriptor, with what a PSBT
// needs to spend from it.
type Derived struct {
	Change bool
	Index  uint32

	// Script is, for a multisig, the multisig script itself. For a
	// single key it is the P2WPKH witness program OP_0 <hash160(key)>:
	// the output script of wpkh() and the redeem script of sh(wpkh()).
	// (A signature for a single key commits, by BIP-143, to the scriptCode
	// OP_DUP OP_HASH160 <hash160(key)> OP_EQUALVERIFY OP_CHECKSIG, not to
	// Script.)
	Script []byte
	// WitnessScript is Script for wsh and sh(wsh); nil for sh, wpkh and
	// sh(wpkh), which have none.
	WitnessScript []byte
	// RedeemScript is Script for sh and sh(wpkh), 0x0020||sha256(Script)
	// for sh(wsh), and nil for wsh and wpkh.
	RedeemScript []byte
	ScriptPubKey []byte
	Address      string
	// Keys are the script's keys in script order (BIP-67 sorted for
	// sortedmulti); a single key's descriptor has one.
	Keys []DerivedKey

	// Taproot is set for tr() only: the internal key, output key and
	// every leaf. Script and Keys are then those of the first leaf (their
	// keys x-only in the script, 33-byte compressed in Keys), and
	// WitnessScript and RedeemScript are nil.
	Taproot *TaprootSpend
}

// DerivedKey is one public key of a derived script with its origin: the
// master fingerprint and the full path from the master key, e.g.
// 48h/1h/0h/2h/0/5.
type DerivedKey struct {
	PubKey []byte
	Origin KeyOrigin
}

// branchFor returns the branch of change (0 receive, 1 change).
func (d *Descriptor) branchFor(change bool) (int, error) {
	if !change {
		return 0, nil
	}
	if d.nBranches < 2 {
		return 0, ErrNoChange
	}
	return 1, nil
}

// checkRange checks that indexes from..from+count-1 can be derived.
func (d *Descriptor) checkRange(from, count uint32) error {
	if !d.ranged {
		if from != 0 || count > 1 {
			return fmt.Errorf("%w: only index 0 exists", ErrNotRanged)
		}
		return nil
	}
	if from >= Hardened || count > Hardened-from {
		return fmt.Errorf("%w: index beyond 2^31-1", ErrHardenedDerivation)
	}
	return nil
}

// Derive returns the script, address and keys of index on the receive
// branch (change false) or the change branch. Change needs a multipath
// step (ErrNoChange); a descriptor without /* has index 0 only
// (ErrNotRanged). In the rare case that a key has no valid child at index,
// the error wraps ErrInvalidChild.
func (d *Descriptor) Derive(change bool, index uint32) (*Derived, error) {
	b, err := d.branchFor(change)
	if err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	return d.deriveBranch(b, index)
}

// deriveBranch derives index on branch b (alternative b of the multipath
// step).
func (d *Descriptor) deriveBranch(b int, index uint32) (*Derived, error) {
	if err := d.checkRange(index, 1); err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	if d.st == P2TR {
		return d.deriveTr(b, index)
	}
	keys, err := d.deriveKeys(b, index, keyName, nil)
	if err != nil {
		return nil, err
	}
	return d.assemble(b, index, keys)
}

func keyName(i int) string { return "key " + strconv.Itoa(i+1) }

// assemble makes the Derived of index on branch b from its keys, in the
// descriptor's order: it sorts them for sortedmulti and builds the
// scripts and the address.
func (d *Descriptor) assemble(b int, index uint32, keys []DerivedKey) (*Derived, error) {
	var err error
	out := &Derived{Change: b > 0, Index: index, Keys: keys}
	if d.sorted {
		slices.SortStableFunc(out.Keys, func(a, b DerivedKey) int { return bytes.Compare(a.PubKey, b.PubKey) })
	}
	pubs := make([][]byte, len(out.Keys))
	for i := range out.Keys {
		pubs[i] = out.Keys[i].PubKey
	}
	if err := checkDistinct(pubs); err != nil {
		return nil, fmt.Errorf("descriptor: index %d: %w", index, err)
	}
	if d.st.singleKey() {
		out.Script = p2wpkhScript(pubs[0])
	} else {
		out.Script = multisigScript(d.threshold, pubs)
	}
	switch d.st {
	case P2WSH:
		out.WitnessScript = out.Script
		out.ScriptPubKey = p2wshScript(out.Script)
	case P2SHP2WSH:
		out.WitnessScript = out.Script
		out.RedeemScript = p2wshScript(out.Script)
		out.ScriptPubKey = p2shScript(out.RedeemScript)
	case P2SH, P2SHP2WPKH:
		out.RedeemScript = out.Script
		out.ScriptPubKey = p2shScript(out.Script)
	case P2WPKH:
		out.ScriptPubKey = out.Script
	}
	out.Address, err = AddressFromScript(out.ScriptPubKey, d.net)
	if err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	return out, nil
}

// checkDistinct refuses a script with the same key twice (possible only if
// two different extended keys derive the same child).
func checkDistinct(pubs [][]byte) error {
	for i := range pubs {
		for j := i + 1; j < len(pubs); j++ {
			if bytes.Equal(pubs[i], pubs[j]) {
				return fmt.Errorf("%w: keys derive to the same public key", ErrDuplicateKey)
			}
		}
	}
	return nil
}

// DeriveScriptPubKeys returns the output scripts of indexes from to
// from+count-1 on the receive or change branch: the fast path of gap
// scans. Each script costs one non-hardened derivation per key from the
// branch keys computed when the descriptor was parsed.
func (d *Descriptor) DeriveScriptPubKeys(change bool, from, count uint32) ([][]byte, error) {
	b, err := d.branchFor(change)
	if err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	if err := d.checkRange(from, count); err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	if d.st == P2TR && d.ranged {
		// Each script costs its keys' derivations and a tweak, all
		// added in batches.
		const chunk = 256
		out := make([][]byte, 0, min(count, 1<<16))
		idx := make([]uint32, 0, chunk)
		for start := uint64(from); start < uint64(from)+uint64(count); start += chunk {
			idx = idx[:0]
			for i := start; i < min(start+chunk, uint64(from)+uint64(count)); i++ {
				idx = append(idx, uint32(i))
			}
			dvs, err := d.deriveTrMany(b, idx, func(int) *combTable { return largeComb() })
			if err != nil {
				return nil, err
			}
			for _, dv := range dvs {
				out = append(out, dv.ScriptPubKey)
			}
		}
		return out, nil
	}
	if !d.ranged {
		if count == 0 {
			return [][]byte{}, nil
		}
		dv, err := d.Derive(change, 0)
		if err != nil {
			return nil, err
		}
		return [][]byte{dv.ScriptPubKey}, nil
	}
	n := len(d.keys)
	branches := make([]*ExtendedKey, n)
	for i := range d.keys {
		branches[i] = d.keys[i].branch(b)
	}
	const chunk = 256
	keyBuf := make([][33]byte, chunk*n)
	idx := make([]uint32, 0, chunk)
	pubs := make([][]byte, n)
	script := make([]byte, 0, 3+2+34*n)
	out := make([][]byte, 0, count)
	for start := uint64(from); start < uint64(from)+uint64(count); start += chunk {
		m := min(uint64(chunk), uint64(from)+uint64(count)-start)
		idx = idx[:0]
		for j := uint64(0); j < m; j++ {
			idx = append(idx, uint32(start+j))
		}
		// The large table: a gap scan derives many batches in one
		// process (see combFor).
		if err := children(branches, idx, keyBuf, largeComb); err != nil {
			return nil, fmt.Errorf("descriptor: %w", err)
		}
		for j := 0; j < int(m); j++ {
			for i := range pubs {
				pubs[i] = keyBuf[j*n+i][:]
			}
			if d.sorted {
				slices.SortFunc(pubs, bytes.Compare)
			}
			if err := checkDistinct(pubs); err != nil {
				return nil, fmt.Errorf("descriptor: index %d: %w", start+uint64(j), err)
			}
			script = script[:0]
			if d.st.singleKey() {
				script = append(script, op0, 20)
				script = append(script, Hash160(pubs[0])...)
			} else {
				script = appendNumber(script, d.threshold)
				for _, p := range pubs {
					script = appendPush(script, p)
				}
				script = appendNumber(script, n)
				script = append(script, opCheckMultisig)
			}
			out = append(out, wrapScript(d.st, script))
		}
	}
	return out, nil
}

// batchMin is how many child keys a call must derive to use baseMulAdd,
// whose table costs a few milliseconds (small) or some 35 ms (large) to
// build, once a process.
const batchMin = 96

// children writes the compressed public key of child idx[j] of keys[i]
// to out[j*len(keys)+i]. Many children are computed together in affine
// coordinates (baseMulAdd, with the table comb returns); a few, one by
// one and converted to affine with one field inversion.
func children(keys []*ExtendedKey, idx []uint32, out [][33]byte, comb func() *combTable) error {
	n, total := len(keys), len(idx)*len(keys)
	if total < batchMin {
		pts := make([]btcec.JacobianPoint, total)
		for j, index := range idx {
			for i, key := range keys {
				if err := key.childPoint(index, &pts[j*n+i]); err != nil {
					return fmt.Errorf("key %d: %w", i+1, err)
				}
			}
		}
		batchCompress(pts, out[:total], make([]btcec.FieldVal, total))
		return nil
	}
	tweaks := make([]btcec.ModNScalar, total)
	parents := make([]affinePoint, n)
	ps := make([]*affinePoint, total)
	for i, key := range keys {
		if key.zeroed {
			return fmt.Errorf("key %d: %w", i+1, ErrZeroed)
		}
		var jp btcec.JacobianPoint
		key.pubPoint().AsJacobian(&jp)
		parents[i].x.Set(&jp.X).Normalize()
		parents[i].y.Set(&jp.Y).Normalize()
		tweak := key.tweaker()
		for j, index := range idx {
			if err := tweak(index, &tweaks[j*n+i]); err != nil {
				return fmt.Errorf("key %d: %w", i+1, err)
			}
			ps[j*n+i] = &parents[i]
		}
	}
	sums := make([]affinePoint, total)
	special := make([]bool, total)
	baseMulAdd(comb(), tweaks, ps, sums, special)
	for e := range sums {
		if !special[e] {
			sums[e].compress(&out[e])
			continue
		}
		// A doubling or the point at infinity on the way: the general
		// (Jacobian) path, which also refuses an invalid child.
		var pt [1]btcec.JacobianPoint
		if err := keys[e%n].childPoint(idx[e/n], &pt[0]); err != nil {
			return fmt.Errorf("key %d: %w", e%n+1, err)
		}
		batchCompress(pt[:], out[e:e+1], make([]btcec.FieldVal, 1))
	}
	return nil
}

// PrepareDeriveMany builds the table DeriveMany's batches use, if no
// call has yet: a caller with other work to do first (the signer, parsing
// a large PSBT) runs it in the background, so that the table is ready by
// the time it derives. It is safe to call at any time, and more than
// once.
func PrepareDeriveMany() { smallComb() }

// wildChildren derives, with the table comb gives for their number, the
// children at every index of indexes of the descriptor's ranged keys on
// branch b: index j's, in key order, are pubs[j*n:(j+1)*n].
func (d *Descriptor) wildChildren(b int, indexes []uint32, comb func(n int) *combTable) (pubs [][33]byte, n int, err error) {
	var wild []*ExtendedKey
	for i := range d.keys {
		if d.keys[i].wild {
			wild = append(wild, d.keys[i].branch(b))
		}
	}
	pubs = make([][33]byte, len(indexes)*len(wild))
	if len(wild) > 0 {
		if err := children(wild, indexes, pubs, func() *combTable { return comb(len(pubs)) }); err != nil {
			return nil, 0, fmt.Errorf("descriptor: %w", err)
		}
	}
	return pubs, len(wild), nil
}

// DeriveMany returns what Derive(change, i) returns for every i of
// indexes, in order, deriving the child keys of all of them together
// (baseMulAdd): what the signer checks a large PSBT's inputs against.
// Indexes may repeat.
func (d *Descriptor) DeriveMany(change bool, indexes []uint32) ([]*Derived, error) {
	b, err := d.branchFor(change)
	if err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	out := make([]*Derived, len(indexes))
	if !d.ranged {
		for j, index := range indexes {
			if out[j], err = d.deriveBranch(b, index); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	for _, index := range indexes {
		if err := d.checkRange(index, 1); err != nil {
			return nil, fmt.Errorf("descriptor: %w", err)
		}
	}
	if d.st == P2TR {
		return d.deriveTrMany(b, indexes, combFor)
	}
	pubs, nwild, err := d.wildChildren(b, indexes, combFor)
	if err != nil {
		return nil, err
	}
	for j, index := range indexes {
		keys, err := d.deriveKeys(b, index, keyName, pubs[j*nwild:(j+1)*nwild])
		if err != nil {
			return nil, err
		}
		if out[j], err = d.assemble(b, index, keys); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// wrapScript returns the output script of a derived Script (a multisig
// script or a P2WPKH program, see Derived). script is not retained.
func wrapScript(st ScriptType, script []byte) []byte {
	switch st {
	case P2WPKH:
		return bytes.Clone(script)
	case P2WSH:
		h := sha256.Sum256(script)
		return append([]byte{op0, 32}, h[:]...)
	case P2SHP2WSH:
		return p2shScript(p2wshScript(script))
	}
	return p2shScript(script)
}

// deriveKeys derives every key of the descriptor at index on branch b, in
// the descriptor's order, each with its origin: the master fingerprint and
// the full path. The child points of ranged keys are converted to affine
// together, or, when wild is not nil, taken from it: the children of the
// ranged keys at index, in key order. name names key i in errors.
func (d *Descriptor) deriveKeys(b int, index uint32, name func(int) string, wild [][33]byte) ([]DerivedKey, error) {
	keys := make([]DerivedKey, len(d.keys))
	var pts []btcec.JacobianPoint
	var ptKeys []int
	if d.ranged {
		pts = make([]btcec.JacobianPoint, 0, len(d.keys))
		ptKeys = make([]int, 0, len(d.keys))
	}
	for i := range d.keys {
		k := &d.keys[i]
		dk := &keys[i]
		if k.xpub == nil {
			dk.PubKey = slices.Clone(k.pubkey)
			if k.origin != nil {
				dk.Origin = KeyOrigin{Fingerprint: k.origin.Fingerprint, Path: slices.Clone(k.origin.Path)}
			} else {
				dk.Origin = KeyOrigin{Fingerprint: Fingerprint(Hash160(k.pubkey)[:4]), Path: Path{}}
			}
			continue
		}
		br := k.branch(b)
		var path Path
		if k.origin != nil {
			dk.Origin.Fingerprint = k.origin.Fingerprint
			path = append(path, k.origin.Path...)
		} else {
			dk.Origin.Fingerprint = k.xpub.Fingerprint()
		}
		path = append(path, k.steps...)
		if k.multi != nil {
			path = append(path, k.multi[min(b, len(k.multi)-1)])
			path = append(path, k.post...)
		}
		if k.wild && wild != nil {
			dk.PubKey = bytes.Clone(wild[0][:])
			wild = wild[1:]
			path = append(path, index)
		} else if k.wild {
			pts = append(pts, btcec.JacobianPoint{})
			if err := br.childPoint(index, &pts[len(pts)-1]); err != nil {
				return nil, fmt.Errorf("descriptor: %s: %w", name(i), err)
			}
			ptKeys = append(ptKeys, i)
			path = append(path, index)
		} else {
			dk.PubKey = br.PublicKey()
		}
		if path == nil {
			path = Path{}
		}
		dk.Origin.Path = path
	}
	if len(pts) > 0 {
		pubs := make([][33]byte, len(pts))
		batchCompress(pts, pubs, make([]btcec.FieldVal, len(pts)))
		for j, i := range ptKeys {
			keys[i].PubKey = pubs[j][:]
		}
	}
	return keys, nil
}
