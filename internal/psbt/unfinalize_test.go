package psbt

import (
	"bytes"
	"errors"
	"testing"
)

// TestFinalSignatures finalizes signed multisig inputs of each kind and
// takes the signatures back out of the final scriptSig and witness, from
// the finalized PSBT and from the extracted transaction.
func TestFinalSignatures(t *testing.T) {
	for _, kind := range []string{"p2wsh", "p2sh-p2wsh", "p2sh"} {
		t.Run(kind, func(t *testing.T) {
			f := newMultisigFixture(t, kind, 2, 3, 2)
			f.sign(t, SigHashAll, 0, 2)
			session := f.p.Copy()
			for i := range session.Inputs {
				session.Inputs[i].PartialSigs = nil
			}
			done := f.p.Copy()
			if err := Finalize(done); err != nil {
				t.Fatal(err)
			}
			tx, err := Extract(done)
			if err != nil {
				t.Fatal(err)
			}
			for i := range done.Inputs {
				for _, src := range []struct {
					sig []byte
					w   [][]byte
				}{{done.Inputs[i].FinalScriptSig, done.Inputs[i].FinalScriptWitness}, {tx.Inputs[i].ScriptSig, tx.Inputs[i].Witness}} {
					got, err := session.FinalSignatures(i, src.sig, src.w)
					if err != nil {
						t.Fatal(err)
					}
					if len(got) != 2 {
						t.Fatalf("input %d: %d signatures", i, len(got))
					}
					for _, g := range got {
						found := false
						for _, ps := range f.p.Inputs[i].PartialSigs {
							found = found || bytes.Equal(ps.PubKey, g.PubKey) && bytes.Equal(ps.Sig, g.Sig)
						}
						if !found {
							t.Fatalf("input %d: signature by %x not one the signers made", i, g.PubKey)
						}
					}
				}
			}
			// Signatures of this transaction read against another (the
			// session's lock time differs) verify for no key.
			other := session.Copy()
			other.UnsignedTx.LockTime++
			if _, err := other.FinalSignatures(0, done.Inputs[0].FinalScriptSig, done.Inputs[0].FinalScriptWitness); !errors.Is(err, ErrForeignSignature) {
				t.Fatalf("another transaction: %v", err)
			}
			// A final script that is not the session's script is refused.
			if len(done.Inputs[0].FinalScriptWitness) > 0 {
				w := append([][]byte{}, done.Inputs[0].FinalScriptWitness...)
				w[len(w)-1] = []byte{0x51}
				if _, err := session.FinalSignatures(0, done.Inputs[0].FinalScriptSig, w); !errors.Is(err, ErrScriptMismatch) {
					t.Fatalf("other script: %v", err)
				}
			}
		})
	}
}

func FuzzFinalSignatures(f *testing.F) {
	fx := newMultisigFixture(f, "p2sh-p2wsh", 2, 3, 1)
	fx.sign(f, SigHashAll, 0, 1)
	done := fx.p.Copy()
	if err := Finalize(done); err != nil {
		f.Fatal(err)
	}
	session := fx.p.Copy()
	w := done.Inputs[0].FinalScriptWitness
	f.Add(done.Inputs[0].FinalScriptSig, w[1], w[2])
	f.Fuzz(func(t *testing.T, scriptSig, a, b []byte) {
		sigs, err := session.FinalSignatures(0, scriptSig, [][]byte{{}, a, b, fx.script})
		if err == nil && len(sigs) > 2 {
			t.Fatalf("%d signatures from 2 items", len(sigs))
		}
	})
}
