package coordinator_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	btcdpsbt "github.com/btcsuite/btcd/psbt/v2"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// TestTaprootSpendConfirmed: 2-of-3 and 3-of-5 tr(NUMS,sortedmulti_a)
// wallets receive on the regtest node, spend with change through a
// session whose PSBT carries no previous transaction, and confirm; the
// finalized witness passes btcd's script engine and testmempoolaccept.
func TestTaprootSpendConfirmed(t *testing.T) {
	for _, c := range []struct{ m, n int }{{2, 3}, {3, 5}} {
		t.Run(fmt.Sprintf("tr-%dof%d", c.m, c.n), func(t *testing.T) {
			f := newWallet(t, wallet.P2TR, c.m, c.n, 50_000_000, 70_000_000)
			if b := f.balance(); b.Confirmed != 120_000_000 || b.Coins != 2 {
				t.Fatalf("balance after funding: %+v", b)
			}
			s, _ := f.spend(100_000_000)
			checkTaprootWithBtcd(t, s.PSBT, c.n)
			for i, in := range f.haveSigs(s.ID) {
				if in.Have != 0 || in.Need != c.m {
					t.Fatalf("input %d before signing: %+v", i, in)
				}
			}
			for i := c.n - 1; i >= c.n-c.m; i-- {
				if res := f.importOK(s.ID, f.sign(s, i)); res.Added != 2 {
					t.Fatalf("signer %d added %d signatures", i, res.Added)
				}
			}
			for i, in := range f.haveSigs(s.ID) {
				if in.Have != c.m || in.Need != c.m {
					t.Errorf("input %d: %d of %d signatures, want %d of %d", i, in.Have, in.Need, c.m, c.m)
				}
			}
			f.finishAndConfirm(s, 120_000_000, 100_000_000)
		})
	}
}

// TestTaprootImportRefusals: a signature of another leaf key, or one that
// does not verify, is refused whole; a finalized taproot PSBT's
// signatures are taken back out of its witness.
func TestTaprootImportRefusals(t *testing.T) {
	f := newWallet(t, wallet.P2TR, 2, 3, 10_000_000)
	s, _ := f.spend(1_000_000)
	signed := f.sign(s, 0)
	bad := mustParse(t, signed)
	bad.Inputs[0].TaprootScriptSpendSig[0].Signature[3] ^= 1
	blob, err := bad.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.coord.Import(context.Background(), s.ID, blob); !errors.Is(err, coordinator.ErrBadSignature) {
		t.Fatalf("bad signature: %v", err)
	}
	f.importOK(s.ID, signed)
	// Signer 1's answer, finalized elsewhere with signer 0's, imported as
	// a finished PSBT: its signature comes back out of the witness.
	full := mustParse(t, s.PSBT)
	if err := psbt.Combine(full, mustParse(t, signed), mustParse(t, f.sign(s, 1))); err != nil {
		t.Fatal(err)
	}
	if err := psbt.Finalize(full); err != nil {
		t.Fatal(err)
	}
	fin, err := full.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	if res := f.importOK(s.ID, fin); res.Added != 1 {
		t.Fatalf("finished PSBT added %d signatures, want 1", res.Added)
	}
	f.finishAndConfirm(s, 10_000_000, 1_000_000)
}

// checkTaprootWithBtcd reads the session's PSBT with btcd: no previous
// transactions, a witness UTXO, the leaf script, internal key and n
// taproot derivations per input; the change output's taproot fields.
func checkTaprootWithBtcd(t *testing.T, raw []byte, n int) {
	t.Helper()
	p, err := btcdpsbt.NewFromRawBytes(bytes.NewReader(raw), false)
	if err != nil {
		t.Fatalf("btcd cannot parse the PSBT: %v", err)
	}
	for i, in := range p.Inputs {
		if in.NonWitnessUtxo != nil || in.WitnessUtxo == nil {
			t.Errorf("input %d: previous transaction %v, witness utxo %v", i, in.NonWitnessUtxo != nil, in.WitnessUtxo != nil)
		}
		if len(in.TaprootLeafScript) != 1 || len(in.TaprootInternalKey) != 32 || len(in.TaprootMerkleRoot) != 32 || len(in.TaprootBip32Derivation) != n {
			t.Errorf("input %d: %d leaves, %d derivations", i, len(in.TaprootLeafScript), len(in.TaprootBip32Derivation))
		}
	}
	change := 0
	for _, out := range p.Outputs {
		if len(out.TaprootBip32Derivation) == n && len(out.TaprootTapTree) > 0 && len(out.TaprootInternalKey) == 32 {
			change++
		}
	}
	if change != 1 {
		t.Errorf("%d outputs carry the wallet's taproot fields, want the one change output", change)
	}
}

// TestTaprootBumpAndCPFP: a tr wallet's broadcast spend is replaced at a
// higher rate (the replacement's PSBT again carries no previous
// transaction), and a child pays for its parent; both confirm.
func TestTaprootBumpAndCPFP(t *testing.T) {
	f := newWallet(t, wallet.P2TR, 2, 3, 2_000_000)
	ctx := context.Background()
	old, oldTxid := f.broadcastAt(coordinator.SpendRequest{Payments: []coordinator.Payment{{Address: outside(t), Amount: 500_000}}, FeeRate: 1})
	nb, err := f.coord.Bump(ctx, old.ID, 5, coordinator.FeeCap{})
	if err != nil {
		t.Fatal(err)
	}
	for i, in := range mustParse(t, nb.PSBT).Inputs {
		if in.NonWitnessUTXO != nil || in.WitnessUTXO == nil || len(in.TaprootLeafScript) == 0 {
			t.Fatalf("replacement input %d: previous transaction or taproot fields wrong", i)
		}
	}
	nb, newTxid := f.signAndBroadcast(nb)
	hashes := f.mine()
	if !blockHas(t, f.rpc, hashes[0], newTxid) || blockHas(t, f.rpc, hashes[0], oldTxid) {
		t.Fatalf("the replacement did not confirm in place of the old")
	}
	parent, ptxid := f.broadcastAt(coordinator.SpendRequest{Payments: []coordinator.Payment{{Address: outside(t), Amount: 300_000}}, FeeRate: 1})
	child, err := f.coord.CPFP(ctx, parent.ID, 10, coordinator.FeeCap{})
	if err != nil {
		t.Fatal(err)
	}
	child, ctxid := f.signAndBroadcast(child)
	hashes = f.mine()
	if !blockHas(t, f.rpc, hashes[0], ptxid) || !blockHas(t, f.rpc, hashes[0], ctxid) {
		t.Fatal("parent and child not in the same block")
	}
	if b := f.balance(); b.Confirmed != 2_000_000-500_000-nb.Fee-300_000-parent.Fee-child.Fee || b.Unconfirmed != 0 {
		t.Errorf("balance %+v", b)
	}
}
