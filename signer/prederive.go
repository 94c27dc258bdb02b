package signer

import (
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// derivedSet holds the derivations that the inputs' claims point to,
// derived together before the inputs are checked (wallet.DeriveMany: the
// keys of a whole batch are added in affine coordinates, a third of the
// cost of deriving them one input at a time). An input whose derivation
// is not in the set derives it alone, so the set changes how fast the
// checks run, never what they decide: matchWallet compares the PSBT's
// claims with these derivations exactly as with its own. Inputs of one
// address share one *wallet.Derived, read by several goroutines: it must
// never be written to.
type derivedSet map[derivation]*wallet.Derived

type derivation struct {
	w      *registered
	change bool
	index  uint32
}

// derive returns w's derivation at (change, index), from the set when it
// holds it.
func (s derivedSet) derive(w *registered, change bool, index uint32) (*wallet.Derived, error) {
	if d, ok := s[derivation{w, change, index}]; ok {
		return d, nil
	}
	return w.desc.Derive(change, index)
}

// prederive derives, on up to nworkers goroutines, what matchInput and
// matchTaprootInput will look up: for each input, the first BIP-32
// derivation claiming our fingerprint, at every registered wallet other
// than tr() whose key origin places its path on a receive or change
// branch, and the first taproot BIP-32 derivation claiming it, at every
// tr() wallet that places it so. At most one derivation per input and
// wallet, as the matching itself tries.
func prederive(p *psbt.Packet, wallets []*registered, fp wallet.Fingerprint, nworkers int) derivedSet {
	type branch struct {
		w      *registered
		change bool
	}
	var order []branch
	want := make(map[branch][]uint32)
	seen := make(map[derivation]bool)
	claim := func(path wallet.Path, tr bool) {
		for _, w := range wallets {
			if (w.desc.ScriptType() == wallet.P2TR) != tr {
				continue
			}
			change, index, ok := w.locate(path)
			if !ok || seen[derivation{w, change, index}] {
				continue
			}
			seen[derivation{w, change, index}] = true
			b := branch{w, change}
			if want[b] == nil {
				order = append(order, b)
			}
			want[b] = append(want[b], index)
		}
	}
	for i := range p.Inputs {
		in := &p.Inputs[i]
		for _, d := range in.Bip32Derivation {
			if wallet.Fingerprint(d.Fingerprint) == fp {
				claim(wallet.Path(d.Path), false)
				break // matchInput tries the first such derivation only
			}
		}
		for _, d := range in.TaprootBip32Derivation {
			if wallet.Fingerprint(d.Fingerprint) == fp {
				claim(wallet.Path(d.Path), true)
				break // and so does matchTaprootInput
			}
		}
	}
	// Each branch's indexes in nworkers chunks, so that every core has a
	// batch large enough to share its field inversions.
	type job struct {
		b   branch
		idx []uint32
		out []*wallet.Derived
	}
	var jobs []job
	for _, b := range order {
		idx := want[b]
		size := max(64, (len(idx)+nworkers-1)/nworkers)
		for len(idx) > 0 {
			n := min(size, len(idx))
			jobs = append(jobs, job{b: b, idx: idx[:n]})
			idx = idx[n:]
		}
	}
	forEach(len(jobs), nworkers, func(k int) bool {
		// An error (an index with no valid child, one in 2^127) leaves
		// the chunk out: its inputs derive alone and meet the error there.
		jobs[k].out, _ = jobs[k].b.w.desc.DeriveMany(jobs[k].b.change, jobs[k].idx)
		return true
	})
	set := make(derivedSet, len(seen))
	for _, j := range jobs {
		for n, d := range j.out {
			set[derivation{j.b.w, j.b.change, j.idx[n]}] = d
		}
	}
	return set
}
