package coordinator_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	btcdpsbt "github.com/btcsuite/btcd/psbt/v2"
	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/coordinator/chain"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/internal/regtest"
	"github.com/kinko-project/kinko/signer"
	"github.com/kinko-project/kinko/wallet"
	"github.com/kinko-project/kinko/wallet/bip39"
)

// The end-to-end tests run against a real btcd node in regtest, started
// once for the package.

var (
	nodeOnce sync.Once
	theNode  *regtest.Node
	nodeErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if theNode != nil {
		theNode.Stop()
	}
	os.Exit(code)
}

func node(t *testing.T) (*regtest.Node, *chain.Client) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a btcd regtest node")
	}
	nodeOnce.Do(func() {
		theNode, nodeErr = regtest.Start(context.Background(), regtest.Options{})
	})
	if nodeErr != nil {
		t.Fatalf("start btcd: %v", nodeErr)
	}
	host, user, pass := theNode.RPC()
	c, err := chain.Dial(chain.Config{Host: host, User: user, Pass: pass})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return theNode, c
}

type party struct {
	ks  *signer.Keystore
	rec *wallet.KeyRecord
}

// newParties makes n signers with fresh seeds and their key records.
func newParties(t *testing.T, n int, net *wallet.Network, st wallet.ScriptType) []party {
	t.Helper()
	var ps []party
	for i := 0; i < n; i++ {
		ent, err := bip39.NewEntropy(128)
		if err != nil {
			t.Fatal(err)
		}
		words, err := bip39.NewMnemonic(ent, bip39.English)
		if err != nil {
			t.Fatal(err)
		}
		ks, err := signer.CreateKeystore(filepath.Join(t.TempDir(), "ks"), "pw", words, "", signer.MinWorkFactor)
		if err != nil {
			t.Fatal(err)
		}
		master, err := ks.Master(net)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := wallet.NewKeyRecord(master, wallet.AccountPath(net, st, 0))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, party{ks, rec})
	}
	return ps
}

type fixture struct {
	t       *testing.T
	node    *regtest.Node
	rpc     *chain.Client
	coord   *coordinator.Coordinator
	dir     string
	parties []party
	desc    *wallet.Descriptor
	name    string
}

// newWallet creates an m-of-n wallet on a fresh coordinator, registers it
// on every signer, and funds it with the given coins, confirmed.
func newWallet(t *testing.T, st wallet.ScriptType, m, n int, coins ...int64) *fixture {
	t.Helper()
	nd, rpc := node(t)
	return newWalletOn(t, nd, rpc, st, m, n, coins...)
}

// newWalletOn is newWallet on the given node.
func newWalletOn(t *testing.T, nd *regtest.Node, rpc *chain.Client, st wallet.ScriptType, m, n int, coins ...int64) *fixture {
	t.Helper()
	return newWalletFrom(t, nd, rpc, wallet.NewMultisig, st, m, n, coins...)
}

// newWalletFrom is newWalletOn with the descriptor made by build
// (wallet.NewMultisig, or wallet.NewUnsortedMultisig).
func newWalletFrom(t *testing.T, nd *regtest.Node, rpc *chain.Client, build func(*wallet.Network, wallet.ScriptType, int, []*wallet.KeyRecord) (*wallet.Descriptor, error), st wallet.ScriptType, m, n int, coins ...int64) *fixture {
	t.Helper()
	net := wallet.Regtest
	f := &fixture{t: t, node: nd, rpc: rpc, dir: t.TempDir(), name: "vault"}
	f.parties = newParties(t, n, net, st)
	var recs []*wallet.KeyRecord
	for _, p := range f.parties {
		recs = append(recs, p.rec)
	}
	var err error
	if f.desc, err = build(net, st, m, recs); err != nil {
		t.Fatal(err)
	}
	if f.coord, err = coordinator.Open(f.dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.coord.Close() })
	h, err := rpc.Height()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := f.coord.CreateWallet(ctx, f.name, f.desc, h); err != nil {
		t.Fatal(err)
	}
	for i, p := range f.parties {
		reg, err := p.ks.PrepareRegistration(f.name, f.desc, nil)
		if err != nil {
			t.Fatalf("signer %d: %v", i, err)
		}
		if err := p.ks.Register(reg); err != nil {
			t.Fatal(err)
		}
	}
	f.fund(coins...)
	return f
}

// fund pays each amount to a new receive address of the wallet from the
// node's faucet, and confirms the payments.
func (f *fixture) fund(coins ...int64) {
	f.t.Helper()
	for _, v := range coins {
		addr, _, err := f.coord.NextAddress(context.Background(), f.name)
		if err != nil {
			f.t.Fatal(err)
		}
		spk, err := wallet.ScriptFromAddress(addr, wallet.Regtest)
		if err != nil {
			f.t.Fatal(err)
		}
		if _, err := f.node.Fund(spk, v); err != nil {
			f.t.Fatal(err)
		}
	}
	f.mine()
}

func (f *fixture) mine() []string {
	f.t.Helper()
	hashes, err := f.node.Mine(1)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.coord.Sync(context.Background(), f.rpc); err != nil {
		f.t.Fatal(err)
	}
	return hashes
}

func (f *fixture) balance() *coordinator.Balance {
	f.t.Helper()
	b, err := f.coord.Balance(context.Background(), f.name)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *fixture) spend(amount int64) (*coordinator.Session, string) {
	f.t.Helper()
	to := outside(f.t)
	s, err := f.coord.Spend(context.Background(), f.name, coordinator.SpendRequest{
		Payments: []coordinator.Payment{{Address: to, Amount: amount}}, FeeRate: 2,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return s, to
}

// sign has party i sign the session's PSBT as read from a file.
func (f *fixture) sign(s *coordinator.Session, i int) []byte {
	f.t.Helper()
	path := filepath.Join(f.dir, fmt.Sprintf("%s-%d.psbt", s.ID, i))
	if err := os.WriteFile(path, s.PSBT, 0o600); err != nil {
		f.t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		f.t.Fatal(err)
	}
	p, err := psbt.Parse(raw)
	if err != nil {
		f.t.Fatal(err)
	}
	signed, review, err := f.parties[i].ks.Sign(p, signer.Options{}, func(r *signer.Review) error {
		r.Format(io.Discard)
		return nil
	})
	if err != nil {
		f.t.Fatalf("signer %d: %v", i, err)
	}
	if review.Fee != s.Fee {
		f.t.Errorf("signer %d sees fee %d, coordinator built %d", i, review.Fee, s.Fee)
	}
	out, err := signed.Serialize()
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func outside(t testing.TB) string {
	spk := make([]byte, 22)
	spk[1] = 0x14
	rand.Read(spk[2:])
	a, err := wallet.AddressFromScript(spk, wallet.Regtest)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (f *fixture) importOK(id string, blob []byte) *coordinator.ImportResult {
	f.t.Helper()
	res, err := f.coord.Import(context.Background(), id, blob)
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

func (f *fixture) haveSigs(id string) []coordinator.InputStatus {
	f.t.Helper()
	s, err := f.coord.Session(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	st, err := s.Status()
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

// finishAndConfirm finalizes, broadcasts, mines, and checks the
// transaction is in the block and the balance is what it should be.
func (f *fixture) finishAndConfirm(s *coordinator.Session, before, paid int64) {
	f.t.Helper()
	ctx := context.Background()
	fin, err := f.coord.Finalize(ctx, s.ID, f.rpc)
	if err != nil {
		f.t.Fatal(err)
	}
	txid, err := f.coord.Broadcast(ctx, s.ID, f.rpc)
	if err != nil {
		f.t.Fatal(err)
	}
	final, err := psbt.ParseTx(fin.FinalTx)
	if err != nil {
		f.t.Fatal(err)
	}
	if txid != final.TxID().String() {
		f.t.Errorf("broadcast txid %s, finalized txid %s", txid, final.TxID())
	}
	// Only native segwit keeps the unsigned transaction's id.
	native := f.desc.ScriptType() == wallet.P2WSH || f.desc.ScriptType() == wallet.P2WPKH || f.desc.ScriptType() == wallet.P2TR
	if (txid == s.TxID) != native {
		f.t.Errorf("broadcast txid %s, unsigned txid %s, for %s", txid, s.TxID, f.desc.ScriptType())
	}
	hashes := f.mine()
	blk, err := f.rpc.Block(hashes[0])
	if err != nil {
		f.t.Fatal(err)
	}
	found := false
	for _, raw := range blk.Txs {
		tx, err := psbt.ParseTx(raw)
		if err != nil {
			f.t.Fatal(err)
		}
		if tx.TxID().String() == txid {
			found = true
		}
	}
	if !found {
		f.t.Fatalf("tx %s not confirmed in block %s", txid, hashes[0])
	}
	b := f.balance()
	if want := before - paid - s.Fee; b.Confirmed != want || b.Unconfirmed != 0 {
		f.t.Errorf("balance after spend: %+v, want %d confirmed", b, want)
	}
}

func TestSpendConfirmed(t *testing.T) {
	cases := []struct {
		st   wallet.ScriptType
		m, n int
	}{
		{wallet.P2WSH, 2, 3},
		{wallet.P2SHP2WSH, 2, 3},
		{wallet.P2WSH, 3, 5},
		{wallet.P2SHP2WSH, 3, 5},
		{wallet.P2SH, 2, 3},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s-%dof%d", c.st, c.m, c.n), func(t *testing.T) {
			f := newWallet(t, c.st, c.m, c.n, 50_000_000, 70_000_000)
			if b := f.balance(); b.Confirmed != 120_000_000 || b.Coins != 2 {
				t.Fatalf("balance after funding: %+v", b)
			}
			s, _ := f.spend(100_000_000) // needs both coins
			checkWithBtcd(t, s.PSBT, c.st, c.n)
			// The last m signers sign, in reverse order.
			for i := c.n - 1; i >= c.n-c.m; i-- {
				f.importOK(s.ID, f.sign(s, i))
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

func TestSessionImports(t *testing.T) {
	f := newWallet(t, wallet.P2WSH, 2, 3, 40_000_000, 40_000_000)
	ctx := context.Background()
	s, _ := f.spend(10_000_000)
	sig0 := f.sign(s, 0)

	// All three signers signing is fine, and the same file twice is
	// harmless.
	sig2 := f.sign(s, 2)
	if r := f.importOK(s.ID, sig0); r.Added == 0 || r.Duplicate {
		t.Fatalf("first import: %+v", r)
	}
	if r := f.importOK(s.ID, sig0); r.Added != 0 || !r.Duplicate {
		t.Fatalf("same import again: %+v", r)
	}

	// A signer outside the wallet: its signature adds nothing.
	stranger := newParties(t, 1, wallet.Regtest, wallet.P2WSH)[0]
	if _, _, err := stranger.ks.Sign(mustParse(t, s.PSBT), signer.Options{}, nil); !errors.Is(err, signer.ErrRefused) {
		t.Fatalf("a signer without the wallet registered signed: %v", err)
	}
	forged := forgeSig(t, s.PSBT)
	if _, err := f.coord.Import(ctx, s.ID, forged); !errors.Is(err, coordinator.ErrBadSignature) {
		t.Fatalf("import of a foreign key's signature: %v, want ErrBadSignature", err)
	}
	for i, in := range f.haveSigs(s.ID) {
		if in.Have != 1 {
			t.Errorf("input %d has %d signatures after the foreign import, want 1", i, in.Have)
		}
	}

	// A PSBT of another session is refused.
	other, _ := f.spend(10_000_000)
	if _, err := f.coord.Import(ctx, other.ID, sig2); !errors.Is(err, coordinator.ErrDifferentTx) {
		t.Fatalf("import into the wrong session: %v, want ErrDifferentTx", err)
	}
	if err := f.coord.Cancel(ctx, other.ID); err != nil {
		t.Fatal(err)
	}

	// The coordinator is killed after the first import: the database
	// files as they are on disk at that moment (WAL included) are copied
	// without closing, as a crash would leave them, and opened again.
	crashed := t.TempDir()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(filepath.Join(f.dir, coordinator.DBName+suffix))
		if err != nil {
			if suffix != "" && errors.Is(err, os.ErrNotExist) {
				continue
			}
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(crashed, coordinator.DBName+suffix), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f.coord.Close()
	reopened, err := coordinator.Open(crashed)
	if err != nil {
		t.Fatal(err)
	}
	f.coord = reopened
	t.Cleanup(func() { reopened.Close() })
	for i, in := range f.haveSigs(s.ID) {
		if in.Have != 1 {
			t.Fatalf("after the crash input %d has %d signatures, want the 1 imported before", i, in.Have)
		}
	}
	f.importOK(s.ID, sig2)
	f.finishAndConfirm(s, 80_000_000, 10_000_000)
}

func TestReorgTakesCoinsAway(t *testing.T) {
	f := newWallet(t, wallet.P2WSH, 2, 3, 25_000_000)
	ctx := context.Background()
	if b := f.balance(); b.Confirmed != 25_000_000 {
		t.Fatalf("balance: %+v", b)
	}
	// btcd has no invalidateblock, so the store is made to remember a
	// different block at the tip than the node has: to the next sync
	// that is exactly a reorg of one block, after which the coin is
	// found again in the same block. TestRealReorg makes a real reorg,
	// with two nodes.
	if err := coordinator.ForgetBlockHashForTest(f.coord, ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := f.coord.Sync(ctx, f.rpc)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Reorged != 1 {
		t.Fatalf("sync saw %d blocks reorged, want 1", rep.Reorged)
	}
	// The coin came back, found again in the node's block.
	if b := f.balance(); b.Confirmed != 25_000_000 || b.Coins != 1 {
		t.Fatalf("balance after the reorg: %+v", b)
	}
}

// TestRealReorg makes a real reorg with two btcd nodes: a and b share a
// chain, are disconnected, a confirms a payment to the wallet in one block
// while b mines two empty ones, and on reconnecting a gives way to b's
// longer branch. The coordinator follows a.
func TestRealReorg(t *testing.T) {
	a, b := nodePair(t)
	ctx := context.Background()
	host, user, pass := a.RPC()
	rpc, err := chain.Dial(chain.Config{Host: host, User: user, Pass: pass})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rpc.Close)
	f := newWalletOn(t, a, rpc, wallet.P2WSH, 2, 3) // mines one block on a
	tip, err := a.BestHash()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.WaitTip(ctx, tip); err != nil {
		t.Fatal(err)
	}
	if err := b.Disconnect(a.P2PAddr()); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitNoPeers(context.Background()); err != nil {
		t.Fatal(err)
	}

	// On a alone: the wallet is paid and the payment confirmed.
	const amount = 25_000_000
	addr, _, err := f.coord.NextAddress(ctx, f.name)
	if err != nil {
		t.Fatal(err)
	}
	spk, err := wallet.ScriptFromAddress(addr, wallet.Regtest)
	if err != nil {
		t.Fatal(err)
	}
	txid, err := a.Fund(spk, amount)
	if err != nil {
		t.Fatal(err)
	}
	f.mine()
	fundHeight, err := rpc.Height()
	if err != nil {
		t.Fatal(err)
	}
	if b := f.balance(); b.Confirmed != amount || b.Unconfirmed != 0 || b.Coins != 1 {
		t.Fatalf("balance after funding: %+v", b)
	}
	if h := coinHeight(t, f, txid, 0); h != fundHeight {
		t.Fatalf("coin at height %d, want %d", h, fundHeight)
	}
	// A session spending the coin, fully signed before the reorg.
	s, _ := f.spend(10_000_000)
	f.importOK(s.ID, f.sign(s, 0))
	f.importOK(s.ID, f.sign(s, 2))
	if b := f.balance(); b.Reserved != amount {
		t.Fatalf("balance with the session open: %+v", b)
	}

	// On b alone: two empty blocks, a longer branch. Reconnected, a
	// reorganises onto it.
	hb, err := b.Mine(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Connect(a.P2PAddr()); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitTip(ctx, hb[1]); err != nil {
		t.Fatal(err)
	}
	rep, err := f.coord.Sync(ctx, rpc)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Reorged != 1 || rep.ForkedAt != fundHeight-1 || rep.Tip != fundHeight+1 || rep.TipHash != hb[1] {
		t.Fatalf("sync after the reorg: %+v; want 1 block rolled back from %d, tip %d %s", rep, fundHeight-1, fundHeight+1, hb[1])
	}
	// btcd puts the transactions of the blocks it disconnects back into
	// its mempool (netsync, on NTBlockDisconnected: MaybeAcceptTransaction
	// for each but the coinbase), so the payment, still valid on b's
	// branch (it spends an old coinbase), is unconfirmed again, not gone.
	// The session keeps its coin.
	if rep.Mempool != 1 {
		t.Errorf("sync after the reorg saw %d wallet coins in the mempool, want 1", rep.Mempool)
	}
	if b := f.balance(); b.Confirmed != 0 || b.Unconfirmed != amount || b.Coins != 1 || b.Reserved != amount {
		t.Fatalf("balance after the reorg: %+v; want %d unconfirmed, reserved", b, amount)
	}
	if h := coinHeight(t, f, txid, 0); h != 0 {
		t.Fatalf("coin at height %d after the reorg, want 0 (mempool)", h)
	}

	// The next block on a confirms the payment again, higher up.
	hashes := f.mine()
	if !blockHas(t, rpc, hashes[0], txid) {
		t.Fatalf("payment %s not mined again in %s", txid, hashes[0])
	}
	if b := f.balance(); b.Confirmed != amount || b.Unconfirmed != 0 || b.Coins != 1 || b.Reserved != amount {
		t.Fatalf("balance after the payment is mined again: %+v", b)
	}
	if h := coinHeight(t, f, txid, 0); h != fundHeight+2 {
		t.Fatalf("coin at height %d, want %d", h, fundHeight+2)
	}
	// The coin is still the session's: no other spend may take it.
	if _, err := f.coord.Spend(ctx, f.name, coordinator.SpendRequest{
		Payments: []coordinator.Payment{{Address: outside(t), Amount: 1_000_000}}, FeeRate: 2,
	}); !errors.Is(err, coordinator.ErrInsufficient) {
		t.Fatalf("a second spend of the session's coin: %v, want ErrInsufficient", err)
	}
	// The session signed before the reorg completes.
	f.finishAndConfirm(s, amount, 10_000_000)
}

// nodePair starts two nodes, b synced from a and connected to it.
func nodePair(t *testing.T) (a, b *regtest.Node) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts two btcd regtest nodes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // may build btcd
	defer cancel()
	a, err := regtest.Start(ctx, regtest.Options{})
	if err != nil {
		t.Fatalf("start node a: %v", err)
	}
	t.Cleanup(func() { a.Stop() })
	b, err = regtest.Start(ctx, regtest.Options{Peer: a.P2PAddr()})
	if err != nil {
		t.Fatalf("start node b: %v", err)
	}
	t.Cleanup(func() { b.Stop() })
	return a, b
}

// coinHeight reads the height the store records for a coin (0: in the
// mempool) straight from its SQLite file; -1 if it has no such coin.
func coinHeight(t *testing.T, f *fixture, txid string, vout int) int64 {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(f.dir, coordinator.DBName)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var h int64
	err = db.QueryRow(`SELECT height FROM utxos WHERE txid = ? AND vout = ?`, txid, vout).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return -1
	}
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func blockHas(t *testing.T, rpc *chain.Client, hash, txid string) bool {
	t.Helper()
	blk, err := rpc.Block(hash)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range blk.Txs {
		id, err := chain.TxID(raw)
		if err != nil {
			t.Fatal(err)
		}
		if id == txid {
			return true
		}
	}
	return false
}

func mustParse(t *testing.T, b []byte) *psbt.Packet {
	t.Helper()
	p, err := psbt.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// forgeSig returns a partial PSBT carrying a valid signature of input 0
// by a key that is not in the wallet.
func forgeSig(t *testing.T, unsigned []byte) []byte {
	p := mustParse(t, unsigned)
	priv, err := btcec.NewPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	utxo, err := p.InputUTXO(0)
	if err != nil {
		t.Fatal(err)
	}
	h, err := psbt.NewSigHashCache(p.UnsignedTx).WitnessV0(0, p.Inputs[0].WitnessScript, utxo.Value, psbt.SigHashAll)
	if err != nil {
		t.Fatal(err)
	}
	sig := append(ecdsa.Sign(priv, h[:]).Serialize(), byte(psbt.SigHashAll))
	out, err := psbt.New(p.UnsignedTx)
	if err != nil {
		t.Fatal(err)
	}
	out.Inputs[0].PartialSigs = []psbt.PartialSig{{PubKey: priv.PubKey().SerializeCompressed(), Sig: sig}}
	b, err := out.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkWithBtcd reads the coordinator's PSBT with btcd's independent
// parser and checks it carries what an independent signer needs.
func checkWithBtcd(t *testing.T, raw []byte, st wallet.ScriptType, n int) {
	t.Helper()
	p, err := btcdpsbt.NewFromRawBytes(bytes.NewReader(raw), false)
	if err != nil {
		t.Fatalf("btcd cannot parse the PSBT: %v", err)
	}
	if len(p.XPubs) != n {
		t.Errorf("%d global xpubs, want %d", len(p.XPubs), n)
	}
	for i, in := range p.Inputs {
		if in.NonWitnessUtxo == nil {
			t.Errorf("input %d: no non_witness_utxo", i)
		}
		if (in.WitnessUtxo == nil) != (st == wallet.P2SH) {
			t.Errorf("input %d: witness_utxo present = %v for %s", i, in.WitnessUtxo != nil, st)
		}
		if len(in.Bip32Derivation) != n {
			t.Errorf("input %d: %d derivations, want %d", i, len(in.Bip32Derivation), n)
		}
		if (in.WitnessScript == nil) == (st != wallet.P2SH) || (in.RedeemScript == nil) == (st != wallet.P2WSH) {
			t.Errorf("input %d: scripts do not fit %s", i, st)
		}
	}
	change := 0
	for _, out := range p.Outputs {
		if len(out.Bip32Derivation) == n {
			change++
		}
	}
	if change != 1 {
		t.Errorf("%d outputs carry the wallet's derivations, want the one change output", change)
	}
}
