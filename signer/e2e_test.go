package signer_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/internal/regtest"
	"github.com/kinko-project/kinko/signer"
	"github.com/kinko-project/kinko/wallet"
)

// TestTreasuryOnRegtest runs the treasury top-up on a real btcd regtest
// node: the cold 2-of-3 pays the single-key hot wallet, registered on the
// cold signers as a destination (one of them allowed to pay it alone),
// and the hot wallet's own signer then spends what arrived. The node
// accepts and mines both transactions, so the signatures, the P2WPKH
// scriptCode and the scripts re-derived by the signers are all real.
func TestTreasuryOnRegtest(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real btcd regtest node")
	}
	node, err := regtest.Start(context.Background(), regtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Stop()

	cold := newFixture(t, wallet.P2WSH, 2, 3, 0)
	hotKS, err := signer.CreateKeystore(filepath.Join(t.TempDir(), "hot.ks"), "pw", testWords[3], "", signer.MinWorkFactor)
	if err != nil {
		t.Fatal(err)
	}
	m, err := hotKS.Master(cold.net)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := wallet.NewKeyRecord(m, wallet.AccountPath(cold.net, wallet.P2WPKH, 0))
	if err != nil {
		t.Fatal(err)
	}
	hot, err := wallet.ParseDescriptor("wpkh("+rec.String()+"/<0;1>/*)", cold.net)
	if err != nil {
		t.Fatal(err)
	}
	cold.registerDestination(0, "hot", hot)
	cold.registerDestination(1, "hot", hot)
	cold.register(1, &signer.Policy{AllowWallets: []string{"hot"}})
	reg, err := hotKS.PrepareRegistration("hot", hot, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := hotKS.Register(reg); err != nil {
		t.Fatal(err)
	}

	// Fund the vault.
	vaultAddr, _ := cold.desc.Derive(false, 0)
	fundID, err := node.Fund(vaultAddr.ScriptPubKey, 100_000_000)
	if err != nil {
		t.Fatal(err)
	}
	mine(t, node)
	prev := rawTx(t, node, fundID)

	// The top-up: 0.4 BTC to hot's receive index 0, the rest to change.
	hotAddr, _ := hot.Derive(false, 0)
	change, _ := cold.desc.Derive(true, 0)
	outs := []*psbt.TxOut{{Value: 40_000_000, PkScript: hotAddr.ScriptPubKey}, {Value: 60_000_000 - 2_000, PkScript: change.ScriptPubKey}}
	coin := coordinator.FundedCoin{Coin: coordinator.Coin{OutPoint: psbt.OutPoint{Hash: prev.TxID()}, Value: 100_000_000}, Prev: prev}
	p, err := coordinator.BuildPSBT(cold.desc, []coordinator.FundedCoin{coin}, outs, 1, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	cold.payTo(p, hot, false, 0)
	var answers []*psbt.Packet
	for i := 0; i < 2; i++ {
		out, r, err := cold.ks[i].Sign(p.Copy(), signer.Options{}, nil)
		if err != nil {
			t.Fatalf("cold signer %d: %v", i, err)
		}
		if r.Outputs[0].Destination != "hot" || !r.Outputs[1].Change {
			t.Fatalf("cold signer %d's review: %+v", i, r.Outputs)
		}
		answers = append(answers, out)
	}
	full := p.Copy()
	if err := psbt.Combine(full, answers...); err != nil {
		t.Fatal(err)
	}
	if err := psbt.Finalize(full); err != nil {
		t.Fatal(err)
	}
	topUp := broadcast(t, node, full)
	mine(t, node)

	// The hot wallet spends what arrived: 0.1 BTC out, change back to hot.
	hotChange, _ := hot.Derive(true, 0)
	ext := external(t)
	outs = []*psbt.TxOut{{Value: 10_000_000, PkScript: ext}, {Value: 30_000_000 - 1_000, PkScript: hotChange.ScriptPubKey}}
	coin = coordinator.FundedCoin{Coin: coordinator.Coin{OutPoint: psbt.OutPoint{Hash: topUp.TxID()}, Value: 40_000_000}, Prev: topUp}
	p, err = coordinator.BuildPSBT(hot, []coordinator.FundedCoin{coin}, outs, 1, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	out, r, err := hotKS.Sign(p, signer.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != "single-key wpkh" || !r.Outputs[1].Change {
		t.Fatalf("hot review: %+v", r)
	}
	full = p.Copy()
	if err := psbt.Combine(full, out); err != nil {
		t.Fatal(err)
	}
	if err := psbt.Finalize(full); err != nil {
		t.Fatal(err)
	}
	broadcast(t, node, full)
	mine(t, node)
}

func mine(t *testing.T, n *regtest.Node) {
	t.Helper()
	if _, err := n.Mine(1); err != nil {
		t.Fatal(err)
	}
}

func rawTx(t *testing.T, n *regtest.Node, id string) *psbt.Tx {
	t.Helper()
	h, err := chainhash.NewHashFromStr(id)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := n.Client().GetRawTransaction(h)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tx.MsgTx().Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	ptx, err := psbt.ParseTx(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return ptx
}

// broadcast extracts the finalized PSBT's transaction and sends it; the
// node verifies every script.
func broadcast(t *testing.T, n *regtest.Node, p *psbt.Packet) *psbt.Tx {
	t.Helper()
	tx, err := psbt.Extract(p)
	if err != nil {
		t.Fatal(err)
	}
	var msg wire.MsgTx
	if err := msg.Deserialize(bytes.NewReader(tx.Bytes())); err != nil {
		t.Fatal(err)
	}
	id, err := n.Client().SendRawTransaction(&msg, false)
	if err != nil {
		t.Fatalf("the node refused the transaction: %v", err)
	}
	if id.String() != tx.TxID().String() {
		t.Fatal(errors.New("the node reports another txid"))
	}
	return tx
}
