package coordinator

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/kinko-project/kinko/airgap"
	"github.com/kinko-project/kinko/internal/psbt"
)

// ErrNotASignedPart is returned by Import for input that is neither a
// PSBT nor a signed transaction.
var ErrNotASignedPart = errors.New("neither a psbt nor a signed transaction")

// readPart reads what a cosigner handed back for the session whose PSBT
// is p, in any finished form: a partial PSBT; a finalized PSBT, whose
// final scriptSig and witness are taken apart into partial signatures;
// or the signed transaction itself, taken apart the same way; or
// kinko-signer's compact reply (sigreply.go). Every
// signature so found must verify for one of the input's keys (see
// psbt.Packet.FinalSignatures), else ErrBadSignature.
func readPart(raw []byte, p *psbt.Packet) (*psbt.Packet, error) {
	if airgap.IsSigReply(raw) {
		return readSigReply(raw, p)
	}
	var part *psbt.Packet
	finals := make([]struct {
		sig []byte
		w   [][]byte
	}, len(p.Inputs))
	if bytes.HasPrefix(raw, []byte("psbt\xff")) {
		var err error
		if part, err = psbt.Parse(raw); err != nil {
			return nil, err
		}
		if len(part.Inputs) != len(p.Inputs) {
			return part, nil // a different transaction, which Import refuses
		}
		for i := range part.Inputs {
			finals[i].sig, finals[i].w = part.Inputs[i].FinalScriptSig, part.Inputs[i].FinalScriptWitness
		}
	} else {
		tx, err := psbt.ParseTx(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotASignedPart, err)
		}
		unsigned := tx.Copy()
		for _, in := range unsigned.Inputs {
			in.ScriptSig, in.Witness = nil, nil
		}
		if part, err = psbt.New(unsigned); err != nil {
			return nil, err
		}
		if len(tx.Inputs) != len(p.Inputs) {
			return part, nil
		}
		for i, in := range tx.Inputs {
			finals[i].sig, finals[i].w = in.ScriptSig, in.Witness
		}
	}
	if !bytes.Equal(p.UnsignedTx.BytesNoWitness(), part.UnsignedTx.BytesNoWitness()) {
		return part, nil // Import names the transactions
	}
	for i, f := range finals {
		if f.sig == nil && f.w == nil {
			continue
		}
		if tsigs, ok, err := taprootFinalSigs(p, i, f.w); ok {
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrBadSignature, err)
			}
			part.Inputs[i].TaprootScriptSpendSig = tsigs
			continue
		}
		sigs, err := p.FinalSignatures(i, f.sig, f.w)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadSignature, err)
		}
		in := &part.Inputs[i]
	sigs:
		for _, s := range sigs {
			for _, have := range in.PartialSigs {
				if bytes.Equal(have.PubKey, s.PubKey) {
					continue sigs
				}
			}
			in.PartialSigs = append(in.PartialSigs, s)
		}
	}
	return part, nil
}
