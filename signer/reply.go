package signer

import (
	"errors"
	"fmt"

	"github.com/kinko-project/kinko/airgap"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// ErrNoCompactReply is returned by CompactReply for a reply the compact
// form cannot carry: a taproot input signed by its key path, or for
// several leaves. The PSBT goes instead.
var ErrNoCompactReply = errors.New("no compact reply")

// CompactReply re-expresses the partial PSBT SignBytes returned as kinko's
// compact reply (airgap.SigReply): the unsigned transaction's id, fp (the
// signer's master fingerprint, [Keystore.Fingerprint]) and the very
// signatures SignBytes made: ECDSA ones as (r, s), a taproot input's one
// script-path signature as it is. kinko's coordinator reads it
// (`kinko session import`); other coordinators want the PSBT.
func CompactReply(partial []byte, fp wallet.Fingerprint) ([]byte, error) {
	p, err := psbt.Parse(partial)
	if err != nil {
		return nil, fmt.Errorf("compact reply: %w", err)
	}
	r := &airgap.SigReply{TxID: p.UnsignedTx.TxID(), Fingerprint: fp}
	for i := range p.Inputs {
		in := &p.Inputs[i]
		switch {
		case len(in.TaprootKeySpendSig) > 0:
			return nil, fmt.Errorf("input %d: a key-path signature: %w", i, ErrNoCompactReply)
		case len(in.TaprootScriptSpendSig) > 1:
			return nil, fmt.Errorf("input %d: signatures for %d leaves: %w", i, len(in.TaprootScriptSpendSig), ErrNoCompactReply)
		case len(in.TaprootScriptSpendSig) == 1:
			// The coordinator finds the key and leaf from its session
			// by the fingerprint, as it finds an ECDSA signature's key.
			sig := in.TaprootScriptSpendSig[0].Signature
			s := airgap.ReplySig{Input: uint32(i)}
			copy(s.RS[:], sig)
			if len(sig) == 65 {
				s.SigHash = sig[64]
			}
			r.TapSigs = append(r.TapSigs, s)
			continue
		}
		switch len(in.PartialSigs) {
		case 0:
			continue
		case 1:
		default:
			return nil, fmt.Errorf("compact reply: input %d holds %d signatures, a signer makes one", i, len(in.PartialSigs))
		}
		s, err := airgap.NewReplySig(uint32(i), in.PartialSigs[0].Sig)
		if err != nil {
			return nil, fmt.Errorf("compact reply: %w", err)
		}
		r.Sigs = append(r.Sigs, s)
	}
	return r.Encode()
}
