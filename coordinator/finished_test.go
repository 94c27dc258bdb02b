package coordinator_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/signer"
	"github.com/kinko-project/kinko/wallet"
)

// finished combines the session's PSBT with partial PSBTs and finalizes
// it, as a cosigner's wallet that finalizes would: the finalized PSBT and
// the signed transaction.
func finished(t *testing.T, session []byte, parts ...[]byte) (fin []byte, tx []byte) {
	t.Helper()
	p := mustParse(t, session)
	for _, part := range parts {
		if err := psbt.Combine(p, mustParse(t, part)); err != nil {
			t.Fatal(err)
		}
	}
	if err := psbt.Finalize(p); err != nil {
		t.Fatal(err)
	}
	fin, err := p.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	x, err := psbt.Extract(p)
	if err != nil {
		t.Fatal(err)
	}
	return fin, x.Bytes()
}

// TestImportFinished imports signatures in their finished forms on the
// regtest node: a finalized PSBT into a nested-segwit session, the signed
// transaction into another; each confirms. A finalized PSBT for the
// session's transaction whose signatures were made for another is
// refused, and so is a part that adds nothing.
func TestImportFinished(t *testing.T) {
	for _, st := range []wallet.ScriptType{wallet.P2SHP2WSH, wallet.P2WSH} {
		t.Run(st.String(), func(t *testing.T) {
			f := newWallet(t, st, 2, 3, 30_000_000, 30_000_000)
			ctx := context.Background()
			s, _ := f.spend(5_000_000)
			fin, rawTx := finished(t, s.PSBT, f.sign(s, 0), f.sign(s, 2))

			// Signatures made for another transaction (the same one with
			// another lock time), put into this one's final witness.
			other := mustParse(t, s.PSBT)
			other.UnsignedTx.LockTime++
			otherBlob, err := other.Serialize()
			if err != nil {
				t.Fatal(err)
			}
			var otherParts [][]byte
			for _, i := range []int{0, 2} {
				signed, _, err := f.parties[i].ks.Sign(mustParse(t, otherBlob), signer.Options{}, func(r *signer.Review) error { r.Format(io.Discard); return nil })
				if err != nil {
					t.Fatal(err)
				}
				b, _ := signed.Serialize()
				otherParts = append(otherParts, b)
			}
			otherFin, _ := finished(t, otherBlob, otherParts...)
			forged := mustParse(t, fin)
			of := mustParse(t, otherFin)
			for i := range forged.Inputs {
				forged.Inputs[i].FinalScriptWitness = of.Inputs[i].FinalScriptWitness
				forged.Inputs[i].FinalScriptSig = of.Inputs[i].FinalScriptSig
			}
			forgedBlob, _ := forged.Serialize()
			if _, err := f.coord.Import(ctx, s.ID, forgedBlob); !errors.Is(err, coordinator.ErrBadSignature) || !errors.Is(err, psbt.ErrForeignSignature) {
				t.Fatalf("finalized PSBT with another transaction's signatures: %v", err)
			}
			for i, in := range f.haveSigs(s.ID) {
				if in.Have != 0 {
					t.Fatalf("input %d has %d signatures after a refused import", i, in.Have)
				}
			}

			// The finalized PSBT gives both signatures of every input.
			if r := f.importOK(s.ID, fin); r.Added != 2*len(f.haveSigs(s.ID)) {
				t.Fatalf("finalized PSBT added %d signatures", r.Added)
			}
			if r := f.importOK(s.ID, rawTx); r.Added != 0 {
				t.Fatalf("the same signatures again added %d", r.Added)
			}
			f.finishAndConfirm(s, 60_000_000, 5_000_000)

			// The signed transaction of the next session, from two other
			// signers, works as well.
			s2, _ := f.spend(5_000_000)
			_, raw2 := finished(t, s2.PSBT, f.sign(s2, 1), f.sign(s2, 2))
			if _, err := f.coord.Import(ctx, s.ID, raw2); err == nil {
				t.Fatal("a signed transaction imported into a closed session")
			}
			if r := f.importOK(s2.ID, raw2); r.Added != 2*len(f.haveSigs(s2.ID)) {
				t.Fatalf("signed transaction added %d signatures", r.Added)
			}
			before := f.balance().Confirmed
			f.finishAndConfirm(s2, before, 5_000_000)
		})
	}
}

// TestImportV2 takes a session's PSBT to the signers as version 2: each
// answers in version 2, and the coordinator imports those.
func TestImportV2(t *testing.T) {
	f := newWallet(t, wallet.P2WSH, 2, 3, 20_000_000)
	s, _ := f.spend(3_000_000)
	v2, err := psbt.Convert(s.PSBT, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1} {
		signed, _, err := f.parties[i].ks.Sign(mustParse(t, v2), signer.Options{}, func(r *signer.Review) error { r.Format(io.Discard); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if signed.Version != 2 {
			t.Fatalf("signer answered in version %d", signed.Version)
		}
		b, err := signed.Serialize()
		if err != nil {
			t.Fatal(err)
		}
		if r := f.importOK(s.ID, b); r.Added != 1 {
			t.Fatalf("signer %d's version 2 PSBT added %d", i, r.Added)
		}
	}
	f.finishAndConfirm(s, 20_000_000, 3_000_000)
}

// TestUnsortedMultisig spends from multi() wallets, keys in the order
// given, of each script type: the signers sign, the coordinator
// finalizes with the signatures in script order, and the node accepts.
func TestUnsortedMultisig(t *testing.T) {
	for _, st := range []wallet.ScriptType{wallet.P2WSH, wallet.P2SHP2WSH, wallet.P2SH} {
		t.Run(st.String(), func(t *testing.T) {
			nd, rpc := node(t)
			f := newWalletFrom(t, nd, rpc, wallet.NewUnsortedMultisig, st, 2, 3, 10_000_000)
			if f.desc.Sorted() {
				t.Fatal("wallet is sortedmulti")
			}
			s, _ := f.spend(1_000_000)
			f.importOK(s.ID, f.sign(s, 2))
			f.importOK(s.ID, f.sign(s, 0))
			f.finishAndConfirm(s, 10_000_000, 1_000_000)
		})
	}
}
