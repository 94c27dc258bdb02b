package signer

import (
	"fmt"

	"github.com/kinko-project/kinko/internal/psbt"
)

// SigHashName names a signature hash type as the review shows it: "ALL",
// "NONE", "SINGLE", with "|ANYONECANPAY" added, or the number for a type
// that is none of these.
func SigHashName(ht psbt.SigHashType) string {
	base := ""
	switch ht &^ psbt.SigHashAnyOneCanPay {
	case psbt.SigHashAll:
		base = "ALL"
	case psbt.SigHashNone:
		base = "NONE"
	case psbt.SigHashSingle:
		base = "SINGLE"
	default:
		return fmt.Sprintf("%#x", uint32(ht))
	}
	if ht&psbt.SigHashAnyOneCanPay != 0 {
		base += "|ANYONECANPAY"
	}
	return base
}

// checkSigHash decides the sighash type input i is signed with: ALL when
// the PSBT asks for none. Any other type is refused unless the run
// allows it, and is never one outside the six standard ones, nor SINGLE
// on an input with no output of the same index (which commits to
// nothing). The partial signatures the input already carries must use
// the same type. It returns the warning to show for a type other than
// ALL, empty otherwise.
func checkSigHash(p *psbt.Packet, i int, allow bool) (psbt.SigHashType, string, error) {
	where := fmt.Sprintf("input %d", i)
	in := &p.Inputs[i]
	ht := in.SighashType
	if ht == 0 {
		ht = psbt.SigHashAll
	}
	base := ht &^ psbt.SigHashAnyOneCanPay
	if ht > 0xff || base < psbt.SigHashAll || base > psbt.SigHashSingle {
		return 0, "", refuse(where, "asks for sighash type %#x, which is not a standard type", uint32(ht))
	}
	if ht != psbt.SigHashAll && !allow {
		return 0, "", refuse(where, "asks for sighash type %s; only ALL is signed unless allowed for this run", SigHashName(ht))
	}
	if base == psbt.SigHashSingle && i >= len(p.UnsignedTx.Outputs) {
		return 0, "", refuse(where, "asks for sighash SINGLE but the transaction has no output %d for it to commit to", i)
	}
	for _, ps := range in.PartialSigs {
		if len(ps.Sig) == 0 || psbt.SigHashType(ps.Sig[len(ps.Sig)-1]) != ht {
			return 0, "", refuse(where, "carries a signature whose sighash byte differs from the input's sighash type")
		}
	}
	return ht, sigHashWarning(i, ht), nil
}

// sigHashWarning says what a signature of input i with type ht leaves
// uncommitted, for anyone holding it to change; empty for ALL.
func sigHashWarning(i int, ht psbt.SigHashType) string {
	if ht == psbt.SigHashAll {
		return ""
	}
	var left string
	switch ht &^ psbt.SigHashAnyOneCanPay {
	case psbt.SigHashNone:
		left = "commits to no output: whoever holds the signature can send this input's coins anywhere"
	case psbt.SigHashSingle:
		left = fmt.Sprintf("commits only to output %d: every other output can be changed or removed", i)
	case psbt.SigHashAll:
		left = "commits to every output"
	}
	if ht&psbt.SigHashAnyOneCanPay != 0 {
		left += ", and to no other input: inputs can be added or removed"
	}
	return fmt.Sprintf("input %d is signed with sighash %s, which %s", i, SigHashName(ht), left)
}
