package signer

import (
	"math"

	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// spentTypes maps what internal/psbt finds an input spends to the script
// type whose signed size wallet knows.
var spentTypes = map[psbt.SpentKind]wallet.ScriptType{
	psbt.SpentP2WSH:      wallet.P2WSH,
	psbt.SpentP2SHP2WSH:  wallet.P2SHP2WSH,
	psbt.SpentP2SH:       wallet.P2SH,
	psbt.SpentP2WPKH:     wallet.P2WPKH,
	psbt.SpentP2SHP2WPKH: wallet.P2SHP2WPKH,
}

// estimateVSize bounds the size of the signed transaction: the wallet's
// inputs at their worst-case signed weight, and every other input at the
// worst-case weight of what it spends when the PSBT shows that (a
// multisig with its witness or redeem script, or a single key). The
// inputs it cannot bound are returned, counted without signatures.
func estimateVSize(tx *psbt.Tx, p *psbt.Packet, d *wallet.Descriptor, ours map[int]*inputPlan) (int, []int) {
	base := tx.Copy()
	for _, in := range base.Inputs {
		in.ScriptSig, in.Witness = nil, nil
	}
	weight := base.Weight()
	segwit := false
	inputWeight := d.MaxInputWeight()
	var uncounted []int
	bare := 0 // inputs with no witness, each an empty stack once any has one
	for i := range tx.Inputs {
		if _, ok := ours[i]; ok {
			weight += inputWeight - 4*41
			if d.ScriptType() != wallet.P2SH {
				segwit = true
			} else {
				bare++
			}
			continue
		}
		s, err := p.SpentScript(i)
		if err != nil {
			uncounted = append(uncounted, i)
			bare++
			continue
		}
		st := spentTypes[s.Kind]
		w := wallet.MaxSpendWeight(st, s.Threshold, s.ScriptCode)
		if w == 0 {
			uncounted = append(uncounted, i)
			bare++
			continue
		}
		weight += w - 4*41
		if st != wallet.P2SH {
			segwit = true
		} else {
			bare++
		}
	}
	if segwit && !base.HasWitness() {
		weight += 2 + bare // marker and flag, and the inputs' empty stacks
	}
	return int(math.Ceil(float64(weight) / 4)), uncounted
}
