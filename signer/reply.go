package signer

import (
	"errors"
	"fmt"

	"github.com/kinko-project/kinko/airgap"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// ErrNoCompactReply is returned by CompactReply for a reply holding
// taproot signatures, which have no compact form: the PSBT goes instead.
var ErrNoCompactReply = errors.New("taproot signatures have no compact reply")

// CompactReply re-expresses the partial PSBT SignBytes returned as kinko's
// compact reply (airgap.SigReply): the unsigned transaction's id, fp (the
// signer's master fingerprint, [Keystore.Fingerprint]) and the very
// signatures SignBytes made, as (r, s). kinko's coordinator reads it
// (`kinko session import`); other coordinators want the PSBT.
func CompactReply(partial []byte, fp wallet.Fingerprint) ([]byte, error) {
	p, err := psbt.Parse(partial)
	if err != nil {
		return nil, fmt.Errorf("compact reply: %w", err)
	}
	r := &airgap.SigReply{TxID: p.UnsignedTx.TxID(), Fingerprint: fp}
	for i := range p.Inputs {
		in := &p.Inputs[i]
		if len(in.TaprootScriptSpendSig) > 0 || len(in.TaprootKeySpendSig) > 0 {
			return nil, fmt.Errorf("input %d: %w", i, ErrNoCompactReply)
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
