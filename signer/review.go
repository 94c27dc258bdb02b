package signer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/internal/untrusted"
	"github.com/kinko-project/kinko/wallet"
)

// MaxMoney is 21 million BTC in satoshis: no amount may exceed it.
const MaxMoney = wallet.MaxMoney

// ErrRefused is wrapped by every error that makes the signer refuse a
// PSBT: the transaction is not signed, and the error says which input or
// output is at fault and why.
var ErrRefused = errors.New("refused")

// ErrNoPreviousTx is wrapped by the refusal of an input that comes
// without its previous transaction, as Electrum's QR codes leave it out:
// the amount it spends cannot be proven.
var ErrNoPreviousTx = errors.New("the amount it spends cannot be proven without it")

// RefusalError is a refusal of a PSBT, naming where the fault is.
type RefusalError struct {
	Where  string // "input 2", "output 0", "transaction", "psbt"
	Reason string
	Err    error // an underlying error, if any
}

func (e *RefusalError) Error() string {
	s := "refused: " + e.Where + ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *RefusalError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrRefused, e.Err}
	}
	return []error{ErrRefused}
}

func refuse(where, format string, args ...any) error {
	return &RefusalError{Where: where, Reason: fmt.Sprintf(format, args...)}
}

func refuseErr(where, reason string, err error) error {
	return &RefusalError{Where: where, Reason: reason, Err: err}
}

// Review is what the signer worked out for itself about a PSBT, from its
// own derivations: nothing in it is taken on the PSBT's word.
type Review struct {
	Wallet string
	// Kind says what the wallet is: "2-of-3 wsh", "single-key wpkh".
	Kind     string
	Network  *wallet.Network
	Inputs   []ReviewInput
	Outputs  []ReviewOutput
	TotalIn  int64
	TotalOut int64
	// External is the total paid to outputs that are not verified change.
	External int64
	Fee      int64
	// VSize bounds the virtual size the transaction will have once
	// signed: the wallet's inputs by its threshold of cosigners, every
	// other input at the worst-case size of its spent script's
	// signatures, except those in Uncounted.
	VSize int
	// Uncounted lists the inputs that are not the wallet's and spend a
	// script whose signed size the signer cannot bound (an unknown or
	// taproot script, or one whose witness or redeem script the PSBT
	// does not give): VSize counts them without scriptSig or witness, so
	// it is an upper bound only for the rest.
	Uncounted []int
	Warnings  []string
	// Policy is the registered wallet's signing policy, if any.
	Policy *Policy
}

// FeeRate is the fee in satoshis per virtual byte, using VSize.
func (r *Review) FeeRate() float64 {
	if r.VSize == 0 {
		return 0
	}
	return float64(r.Fee) / float64(r.VSize)
}

// ReviewInput is one input as the signer sees it.
type ReviewInput struct {
	OutPoint string
	Amount   int64 // proven by the input's previous transaction
	// Change and Index are the wallet branch and index the input spends;
	// they mean nothing when Sign is false (the input is not the
	// wallet's).
	Change bool
	Index  uint32
	// Sign tells whether the signer will sign this input.
	Sign bool
	// SigHash is the signature hash type the input's signature commits
	// with (ALL unless the PSBT asks otherwise and the run allows it);
	// zero for an input that is not signed.
	SigHash psbt.SigHashType
}

// ReviewOutput is one output as the signer sees it.
type ReviewOutput struct {
	Address string
	Amount  int64
	// Change is true only when the output re-derives from the registered
	// wallet on its change branch.
	Change bool
	// Destination names the registered destination the output re-derives
	// from, at DestinationChange's branch and Index; empty for an output
	// that is change or external.
	Destination       string
	DestinationChange bool
	Index             uint32
}

// Format writes the review for a person to read before approving.
func (r *Review) Format(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "Wallet %s on %s: %s wallet\n", untrusted.Quote(r.Wallet, 0), r.Network, r.Kind)
	if strings.HasPrefix(r.Kind, "single-key") {
		b.WriteString("This signer's signature alone spends it: no cosigner checks this transaction.\n")
	}
	fmt.Fprintf(&b, "Inputs (%d), total %s:\n", len(r.Inputs), wallet.FormatAmount(r.TotalIn))
	for i, in := range r.Inputs {
		if !in.Sign {
			fmt.Fprintf(&b, "  %3d  %s  %s  NOT OURS: not signed\n", i, wallet.FormatAmount(in.Amount), in.OutPoint)
			continue
		}
		branch := "receive"
		if in.Change {
			branch = "change"
		}
		fmt.Fprintf(&b, "  %3d  %s  %s  (%s index %d, sighash %s)\n", i, wallet.FormatAmount(in.Amount), in.OutPoint, branch, in.Index, SigHashName(in.SigHash))
	}
	fmt.Fprintf(&b, "Outputs (%d):\n", len(r.Outputs))
	for i, out := range r.Outputs {
		if out.Change {
			fmt.Fprintf(&b, "  %3d  %s  change (verified, change branch, index %d) %s\n", i, wallet.FormatAmount(out.Amount), out.Index, out.Address)
		} else if out.Destination != "" {
			branch := "receive"
			if out.DestinationChange {
				branch = "change"
			}
			fmt.Fprintf(&b, "  %3d  %s  to registered wallet %s, %s index %d (verified) %s\n", i, wallet.FormatAmount(out.Amount), untrusted.Quote(out.Destination, 0), branch, out.Index, out.Address)
		} else {
			fmt.Fprintf(&b, "  %3d  %s  external: %s\n", i, wallet.FormatAmount(out.Amount), out.Address)
		}
	}
	r.formatTotals(&b)
	fmt.Fprintf(&b, "Sending out: %s\n", wallet.FormatAmount(r.External))
	fmt.Fprintf(&b, "Fee:         %s (%.1f sat/vB over at most %d vB", wallet.FormatAmount(r.Fee), r.FeeRate(), r.VSize)
	if len(r.Uncounted) > 0 {
		fmt.Fprintf(&b, " not counting the signatures of input%s %s, whose size is unknown", plural(len(r.Uncounted)), joinInts(r.Uncounted))
	}
	if r.External > 0 {
		fmt.Fprintf(&b, ", %.2g%% of the amount sent", 100*float64(r.Fee)/float64(r.External))
	}
	b.WriteString(")\n")
	if r.Policy != nil {
		fmt.Fprintf(&b, "Policy:      %s\n", r.Policy)
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(&b, "WARNING: %s\n", warn)
	}
	io.WriteString(w, b.String())
}

// spentOutput returns the output input i spends, proven by its previous
// transaction: the non_witness_utxo must hash to the prevout, and a
// witness_utxo, when present, must agree with it (CVE-2020-14199).
func spentOutput(p *psbt.Packet, i int) (*psbt.TxOut, error) {
	where := fmt.Sprintf("input %d", i)
	in := &p.Inputs[i]
	prev := p.UnsignedTx.Inputs[i].PrevOut
	if in.NonWitnessUTXO == nil {
		// A taproot signature commits to every input's amount: the
		// witness_utxo serves, if the wallet signs by taproot
		// (checkTaprootUTXOs).
		if w := in.WitnessUTXO; w != nil && psbt.IsP2TR(w.PkScript) && w.Value >= 0 && w.Value <= MaxMoney {
			return w, nil
		}
		return nil, refuseErr(where, "no previous transaction (non_witness_utxo)", ErrNoPreviousTx)
	}
	if in.NonWitnessUTXO.TxID() != prev.Hash {
		return nil, refuse(where, "previous transaction %s is not the one spent (%s)", in.NonWitnessUTXO.TxID(), prev.Hash)
	}
	if int(prev.Index) >= len(in.NonWitnessUTXO.Outputs) {
		return nil, refuse(where, "previous transaction has no output %d", prev.Index)
	}
	out := in.NonWitnessUTXO.Outputs[prev.Index]
	if in.WitnessUTXO != nil {
		if in.WitnessUTXO.Value != out.Value || !bytes.Equal(in.WitnessUTXO.PkScript, out.PkScript) {
			return nil, refuse(where, "witness_utxo (%d sat) disagrees with the previous transaction (%d sat)", in.WitnessUTXO.Value, out.Value)
		}
	}
	if out.Value < 0 || out.Value > MaxMoney {
		return nil, refuse(where, "amount %d sat is out of range", out.Value)
	}
	return out, nil
}

// formatTotals ends the list of outputs with a line per address type
// (verified change apart) and the grand total, so that a batch of
// hundreds of payments can be checked against its pay file's totals.
func (r *Review) formatTotals(b *strings.Builder) {
	type sum struct {
		n   int
		amt int64
	}
	by := map[string]*sum{}
	var types []string
	var all sum
	for _, out := range r.Outputs {
		typ := "change"
		if !out.Change {
			typ = "other"
			if spk, err := wallet.ScriptFromAddress(out.Address, r.Network); err == nil {
				typ = wallet.OutputType(spk)
			}
		}
		if by[typ] == nil {
			by[typ] = &sum{}
			types = append(types, typ)
		}
		by[typ].n++
		by[typ].amt += out.Amount
		all.n++
		all.amt += out.Amount
	}
	slices.SortFunc(types, func(a, b string) int {
		if (a == "change") != (b == "change") {
			if a == "change" {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	})
	b.WriteString("Outputs by type:\n")
	for _, typ := range types {
		fmt.Fprintf(b, "  %-10s %5d  %s\n", typ, by[typ].n, wallet.FormatAmount(by[typ].amt))
	}
	fmt.Fprintf(b, "  %-10s %5d  %s\n", "all", all.n, wallet.FormatAmount(all.amt))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// joinInts lists ns as "1, 4, 7", at most ten of them and then "and N
// more".
func joinInts(ns []int) string {
	var b strings.Builder
	for k, n := range ns {
		if k == 10 {
			fmt.Fprintf(&b, " and %d more", len(ns)-k)
			break
		}
		if k > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, n)
	}
	return b.String()
}
