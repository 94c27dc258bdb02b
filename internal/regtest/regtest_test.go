package regtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
)

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping: starts a real btcd regtest node (builds btcd on first use); run without -short")
	}
}

func startNode(t *testing.T, opts Options) *Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if opts.Log == nil && os.Getenv("REGTEST_LOG") != "" {
		opts.Log = os.Stderr // btcd's log is chatty: only on request
	}
	start := time.Now()
	n, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("Start took %v", time.Since(start))
	t.Cleanup(func() {
		if err := n.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return n
}

// p2wsh returns a P2WSH script of a random 32-byte hash.
func p2wsh(t *testing.T) []byte {
	t.Helper()
	h := make([]byte, 32)
	if _, err := rand.Read(h); err != nil {
		t.Fatal(err)
	}
	return append([]byte{0x00, 0x20}, h...)
}

// blockTxids returns the txids of the block with the given hash.
func blockTxids(t *testing.T, n *Node, hash string) map[string]bool {
	t.Helper()
	h, err := chainhash.NewHashFromStr(hash)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := n.Client().GetBlock(h)
	if err != nil {
		t.Fatalf("GetBlock: %v", err)
	}
	ids := map[string]bool{}
	for _, tx := range blk.Transactions {
		ids[tx.TxHash().String()] = true
	}
	return ids
}

func mempool(t *testing.T, n *Node) map[string]bool {
	t.Helper()
	hs, err := n.Client().GetRawMempool()
	if err != nil {
		t.Fatalf("GetRawMempool: %v", err)
	}
	ids := map[string]bool{}
	for _, h := range hs {
		ids[h.String()] = true
	}
	return ids
}

func TestStartFundMine(t *testing.T) {
	skipShort(t)
	n := startNode(t, Options{})

	host, user, pass := n.RPC()
	if host == "" || user == "" || len(pass) < 16 {
		t.Fatalf("RPC() = %q, %q, %q", host, user, pass)
	}
	if h, err := n.Height(); err != nil || h != MatureHeight {
		t.Fatalf("Height = %d, %v; want %d", h, err, MatureHeight)
	}

	script := p2wsh(t)
	const amount = 1_234_567
	txid, err := n.Fund(script, amount)
	if err != nil {
		t.Fatalf("Fund: %v", err)
	}
	if !mempool(t, n)[txid] {
		t.Fatalf("funding tx %s not in the mempool", txid)
	}
	hashes, err := n.Mine(1)
	if err != nil || len(hashes) != 1 {
		t.Fatalf("Mine(1) = %v, %v", hashes, err)
	}
	if !blockTxids(t, n, hashes[0])[txid] {
		t.Fatalf("funding tx %s not in mined block %s", txid, hashes[0])
	}
	if h, _ := n.Height(); h != MatureHeight+1 {
		t.Fatalf("height after Mine(1) = %d", h)
	}

	// The payment is output 0, with the exact amount and script.
	th, _ := chainhash.NewHashFromStr(txid)
	tx, err := n.Client().GetRawTransaction(th)
	if err != nil {
		t.Fatalf("GetRawTransaction: %v", err)
	}
	out := tx.MsgTx().TxOut[0]
	if out.Value != amount || !bytes.Equal(out.PkScript, script) {
		t.Fatalf("output 0 = %d %x; want %d %x", out.Value, out.PkScript, amount, script)
	}

	if err := n.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := n.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := os.Stat(n.Dir()); !os.IsNotExist(err) {
		t.Fatalf("temp dir %s not removed: %v", n.Dir(), err)
	}
}

func TestFundManyInARow(t *testing.T) {
	skipShort(t)
	n := startNode(t, Options{})
	const count = 50
	var txids []string
	for i := range count {
		txid, err := n.Fund(p2wsh(t), int64(100_000+i))
		if err != nil {
			t.Fatalf("Fund #%d: %v", i, err)
		}
		txids = append(txids, txid)
	}
	if h, _ := n.Height(); h != MatureHeight {
		t.Fatalf("Fund mined blocks (height %d) although the faucet had enough", h)
	}
	hashes, err := n.Mine(1)
	if err != nil {
		t.Fatal(err)
	}
	in := blockTxids(t, n, hashes[0])
	for i, id := range txids {
		if !in[id] {
			t.Errorf("Fund #%d (%s) not mined", i, id)
		}
	}
	if mp := mempool(t, n); len(mp) != 0 {
		t.Errorf("mempool not empty after mining: %v", mp)
	}

	// More than the mature coinbases hold (two or three of 50 BTC):
	// the faucet mines until it can pay.
	big, err := n.Fund(p2wsh(t), 180*1e8)
	if err != nil {
		t.Fatalf("Fund 180 BTC: %v", err)
	}
	if !mempool(t, n)[big] {
		t.Fatalf("180 BTC funding tx not in the mempool")
	}
}

func TestParallelNodes(t *testing.T) {
	skipShort(t)
	var (
		wg    sync.WaitGroup
		nodes [2]*Node
		errs  [2]error
	)
	for i := range nodes {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			nodes[i], errs[i] = Start(ctx, Options{})
		})
	}
	wg.Wait()
	for i, n := range nodes {
		if n != nil {
			t.Cleanup(func() { n.Stop() })
		}
		if errs[i] != nil {
			t.Fatalf("Start #%d: %v", i, errs[i])
		}
	}
	h0, _, _ := nodes[0].RPC()
	h1, _, _ := nodes[1].RPC()
	if h0 == h1 {
		t.Fatalf("both nodes on %s", h0)
	}
	// The nodes are independent chains.
	if _, err := nodes[0].Mine(3); err != nil {
		t.Fatal(err)
	}
	a, _ := nodes[0].Height()
	b, _ := nodes[1].Height()
	if a != MatureHeight+3 || b != MatureHeight {
		t.Fatalf("heights %d, %d", a, b)
	}
	if _, err := nodes[1].Fund(p2wsh(t), 50_000); err != nil {
		t.Fatalf("Fund on second node: %v", err)
	}
}

func TestRestartWithDir(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	n := startNode(t, Options{Dir: dir})
	if _, err := n.Fund(p2wsh(t), 70_000); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Mine(2); err != nil {
		t.Fatal(err)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("Dir removed by Stop: %v", err)
	}

	// btcd wipes a regtest chain when it starts: the same Dir gives a new
	// chain, on which the faucet works as on any other.
	n2 := startNode(t, Options{Dir: dir})
	if h, err := n2.Height(); err != nil || h != MatureHeight {
		t.Fatalf("height after restart = %d, %v; want %d", h, err, MatureHeight)
	}
	txid, err := n2.Fund(p2wsh(t), 80_000)
	if err != nil {
		t.Fatalf("Fund after restart: %v", err)
	}
	hashes, err := n2.Mine(1)
	if err != nil {
		t.Fatal(err)
	}
	if !blockTxids(t, n2, hashes[0])[txid] {
		t.Fatal("funding tx not mined after restart")
	}
}

func TestFaucetKeyIsFixed(t *testing.T) {
	// The faucet key is documented as sha256 of a fixed phrase.
	sum := sha256.Sum256([]byte("kinko regtest faucet - TEST ONLY - never use on a real network"))
	if got := faucetKeyTESTONLY; got != hex.EncodeToString(sum[:]) {
		t.Fatalf("faucet key %s does not match its documented derivation", got)
	}
	if len(FaucetPkScript()) != 22 || FaucetPkScript()[0] != 0x00 {
		t.Fatalf("faucet script %x is not P2WPKH", FaucetPkScript())
	}
}

// TestPeersReorg makes a real reorg with two nodes: their branches grow
// apart while disconnected, and on reconnecting the shorter one gives way.
func TestPeersReorg(t *testing.T) {
	skipShort(t)
	a := startNode(t, Options{})
	b := startNode(t, Options{Peer: a.P2PAddr()})
	tipA, err := a.BestHash()
	if err != nil {
		t.Fatal(err)
	}
	if tipB, err := b.BestHash(); err != nil || tipB != tipA {
		t.Fatalf("b's tip after Start = %s, %v; want a's %s", tipB, err, tipA)
	}
	if err := b.Connect(a.P2PAddr()); err != nil {
		t.Fatalf("Connect to a peer already connected: %v", err)
	}
	if ps, err := b.Client().GetPeerInfo(); err != nil || len(ps) != 1 {
		t.Fatalf("b has %d peers (%v), want the one connection to a", len(ps), err)
	}
	if err := b.Disconnect(a.P2PAddr()); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitNoPeers(context.Background()); err != nil {
		t.Fatal(err)
	}

	// a: a funding transaction mined in one block; b: two empty blocks.
	txid, err := a.Fund(p2wsh(t), 300_000)
	if err != nil {
		t.Fatal(err)
	}
	ha, err := a.Mine(1)
	if err != nil {
		t.Fatal(err)
	}
	if !blockTxids(t, a, ha[0])[txid] {
		t.Fatal("funding tx not mined on a")
	}
	hb, err := b.Mine(2)
	if err != nil {
		t.Fatal(err)
	}
	if mempool(t, b)[txid] || blockTxids(t, b, hb[0])[txid] {
		t.Fatal("the funding tx reached b while disconnected")
	}

	if err := b.Connect(a.P2PAddr()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := a.WaitTip(ctx, hb[1]); err != nil {
		t.Fatal(err)
	}
	// btcd puts the transactions of the blocks it disconnects back into
	// its mempool (netsync: NTBlockDisconnected).
	if !mempool(t, a)[txid] {
		t.Fatalf("funding tx %s not back in a's mempool after the reorg", txid)
	}
	// a's faucet notices the reorg and still pays.
	if _, err := a.Fund(p2wsh(t), 400_000); err != nil {
		t.Fatalf("Fund after the reorg: %v", err)
	}
	hc, err := a.Mine(1)
	if err != nil {
		t.Fatal(err)
	}
	if !blockTxids(t, a, hc[0])[txid] {
		t.Fatal("funding tx not mined again after the reorg")
	}
	if err := b.WaitTip(ctx, hc[0]); err != nil {
		t.Fatal(err)
	}
}
