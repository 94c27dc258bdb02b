package coordinator_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/coordinator/chain"
	"github.com/kinko-project/kinko/internal/regtest"
	"github.com/kinko-project/kinko/wallet"
)

// Benchmarks against a real btcd regtest node of its own, filled with real
// transactions. Slow: they run only with -bench, never with -short, and
// the big sizes only when asked for:
//
//	go test ./coordinator -run '^$' -bench . -benchtime 5x \
//	    -kinko.mempool 1000,20000,50000 -kinko.deposits 20000

var (
	benchMempool  = flag.String("kinko.mempool", "1000", "mempool sizes for BenchmarkMempool, comma-separated")
	benchDeposits = flag.Int("kinko.deposits", 2000, "deposits for BenchmarkRediscovery")
	benchFull     = flag.Int("kinko.fulltxs", 4000, "transactions mined into full blocks for BenchmarkBlocks")
)

// fanOut is how many outputs one filler transaction has (about 62 kvB
// for P2WPKH outputs, within the 100 kvB standard limit).
const fanOut = 2000

// filler fills a node's mempool and blocks with real, signed transactions
// from a P2WPKH key of its own, funded by the faucet.
type filler struct {
	tb     testing.TB
	node   *regtest.Node
	priv   *btcec.PrivateKey
	script []byte
	url    string
	user   string
	pass   string
	leaves []leaf // confirmed fan-out outputs not spent yet
}

type leaf struct {
	op    wire.OutPoint
	value int64
}

func newFiller(tb testing.TB, node *regtest.Node) *filler {
	b := make([]byte, 32)
	rand.Read(b)
	priv, pub := btcec.PrivKeyFromBytes(b)
	host, user, pass := node.RPC()
	return &filler{
		tb: tb, node: node, priv: priv,
		script: append([]byte{0x00, 0x14}, address.Hash160(pub.SerializeCompressed())...),
		url:    "http://" + host, user: user, pass: pass,
	}
}

// batch sends one JSON-RPC batch of method calls and fails on any error.
func (f *filler) batch(method string, params [][]any) []json.RawMessage {
	f.tb.Helper()
	type req struct {
		JSONRPC string `json:"jsonrpc"`
		ID      int    `json:"id"`
		Method  string `json:"method"`
		Params  []any  `json:"params"`
	}
	reqs := make([]req, len(params))
	for i, p := range params {
		reqs[i] = req{"1.0", i, method, p}
	}
	body, _ := json.Marshal(reqs)
	r, _ := http.NewRequest(http.MethodPost, f.url, bytes.NewReader(body))
	r.SetBasicAuth(f.user, f.pass)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		f.tb.Fatal(err)
	}
	defer resp.Body.Close()
	var out []struct {
		ID     int             `json:"id"`
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		f.tb.Fatalf("%s batch: %v", method, err)
	}
	res := make([]json.RawMessage, len(params))
	for _, o := range out {
		if o.Error != nil {
			f.tb.Fatalf("%s %d: %s", method, o.ID, o.Error.Message)
		}
		res[o.ID] = o.Result
	}
	return res
}

func (f *filler) send(txs []*wire.MsgTx) {
	f.tb.Helper()
	for start := 0; start < len(txs); start += 1000 {
		end := min(start+1000, len(txs))
		params := make([][]any, 0, end-start)
		for _, tx := range txs[start:end] {
			var buf bytes.Buffer
			tx.Serialize(&buf)
			params = append(params, []any{hex.EncodeToString(buf.Bytes())})
		}
		f.batch("sendrawtransaction", params)
	}
}

// mineAll mines until the mempool is empty.
func (f *filler) mineAll() {
	f.tb.Helper()
	for {
		if _, err := f.node.Mine(1); err != nil {
			f.tb.Fatal(err)
		}
		var ids []string
		json.Unmarshal(f.batch("getrawmempool", [][]any{{}})[0], &ids)
		if len(ids) == 0 {
			return
		}
	}
}

// sign signs input k of tx, which spends value from the filler's key.
func (f *filler) sign(tx *wire.MsgTx, k int, value int64) {
	fetcher := txscript.NewCannedPrevOutputFetcher(f.script, value)
	w, err := txscript.WitnessSignature(tx, txscript.NewTxSigHashes(tx, fetcher), k, value,
		f.script, txscript.SigHashAll, f.priv, true)
	if err != nil {
		f.tb.Fatal(err)
	}
	tx.TxIn[k].Witness = w
}

// fanOuts pays each script in scripts value sats, fanOut outputs to a
// transaction, each funded by the faucet, and mines them, in the order of
// scripts when inOrder is set.
func (f *filler) fanOuts(scripts [][]byte, value int64, inOrder bool) {
	f.tb.Helper()
	var txs []*wire.MsgTx
	for start := 0; start < len(scripts); start += fanOut {
		outs := scripts[start:min(start+fanOut, len(scripts))]
		need := int64(len(outs))*value + int64(len(outs))*50 + 10_000
		txid, err := f.node.Fund(f.script, need)
		if err != nil {
			f.tb.Fatal(err)
		}
		h, _ := chainhash.NewHashFromStr(txid)
		tx := wire.NewMsgTx(2)
		tx.AddTxIn(&wire.TxIn{PreviousOutPoint: wire.OutPoint{Hash: *h, Index: 0}, Sequence: wire.MaxTxInSequenceNum})
		for _, spk := range outs {
			tx.AddTxOut(wire.NewTxOut(value, spk))
		}
		f.sign(tx, 0, need)
		txs = append(txs, tx)
	}
	if _, err := f.node.Mine(1); err != nil { // the faucet's payments
		f.tb.Fatal(err)
	}
	if inOrder {
		// One block each, in order: a wallet's deposits never leave a
		// gap of unused addresses behind that a later block fills.
		for _, tx := range txs {
			f.send([]*wire.MsgTx{tx})
			f.mineAll()
		}
	} else {
		f.send(txs)
		f.mineAll()
	}
	for _, tx := range txs {
		for i, out := range tx.TxOut {
			if bytes.Equal(out.PkScript, f.script) {
				f.leaves = append(f.leaves, leaf{wire.OutPoint{Hash: tx.TxHash(), Index: uint32(i)}, out.Value})
			}
		}
	}
}

// prepare makes n confirmed coins for fillMempool. It mines: call it
// before the mempool is filled.
func (f *filler) prepare(n int) {
	f.tb.Helper()
	if len(f.leaves) < n {
		scripts := make([][]byte, n-len(f.leaves))
		for i := range scripts {
			scripts[i] = f.script
		}
		f.fanOuts(scripts, 10_000, false)
	}
}

// fillMempool puts n more one-in, one-out transactions in the mempool.
func (f *filler) fillMempool(n int) {
	f.tb.Helper()
	f.prepare(n)
	txs := make([]*wire.MsgTx, n)
	for i := range txs {
		l := f.leaves[i]
		tx := wire.NewMsgTx(2)
		tx.AddTxIn(&wire.TxIn{PreviousOutPoint: l.op, Sequence: wire.MaxTxInSequenceNum})
		tx.AddTxOut(wire.NewTxOut(l.value-300, f.script))
		f.sign(tx, 0, l.value)
		txs[i] = tx
	}
	f.leaves = f.leaves[n:]
	f.send(txs)
}

// benchNode starts a node of the benchmark's own.
func benchNode(b *testing.B) (*regtest.Node, *chain.Client) {
	b.Helper()
	if testing.Short() {
		b.Skip("starts and fills a btcd regtest node")
	}
	nd, err := regtest.Start(context.Background(), regtest.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { nd.Stop() })
	host, user, pass := nd.RPC()
	rpc, err := chain.Dial(chain.Config{Host: host, User: user, Pass: pass})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(rpc.Close)
	return nd, rpc
}

// openWallet opens a fresh store in a new directory with the wallet d.
func openWallet(b *testing.B, d *wallet.Descriptor, birthday int64) *coordinator.Coordinator {
	b.Helper()
	c, err := coordinator.Open(filepath.Join(b.TempDir(), "kinko"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	if err := c.CreateWallet(context.Background(), "vault", d, birthday); err != nil {
		b.Fatal(err)
	}
	return c
}

func mustSync(b *testing.B, c *coordinator.Coordinator, rpc *chain.Client) *coordinator.SyncReport {
	b.Helper()
	rep, err := c.Sync(context.Background(), rpc)
	if err != nil {
		b.Fatal(err)
	}
	return rep
}

// BenchmarkMempool: the cost of a sync and of a spend with n real
// transactions in the node's mempool, none of them the wallet's. "first"
// is a store's first sync (it reads every transaction), "sync" a later
// one (nothing new to read), "spend" what kinko spend does: blocks, the
// check of its candidate coins, and the PSBT.
func BenchmarkMempool(b *testing.B) {
	nd, rpc := benchNode(b)
	fill := newFiller(b, nd)
	d := coordinator.RandomWalletForTest(b)
	ctx := context.Background()
	// The wallet has 20 confirmed coins.
	var scripts [][]byte
	for i := range uint32(20) {
		der, _ := d.Derive(false, i)
		scripts = append(scripts, der.ScriptPubKey)
	}
	fill.fanOuts(scripts, 1_000_000, true)
	var sizes []int
	for _, s := range strings.Split(*benchMempool, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || len(sizes) > 0 && n < sizes[len(sizes)-1] {
			b.Fatalf("-kinko.mempool: %q: want increasing counts", s)
		}
		sizes = append(sizes, n)
	}
	start := time.Now()
	fill.prepare(sizes[len(sizes)-1])
	b.Logf("%d coins to fill the mempool with (%.1f s)", sizes[len(sizes)-1], time.Since(start).Seconds())
	have := 0
	for _, n := range sizes {
		start := time.Now()
		fill.fillMempool(n - have)
		have = n
		b.Logf("mempool filled to %d transactions (%.1f s)", n, time.Since(start).Seconds())

		b.Run(fmt.Sprintf("first/%d", n), func(b *testing.B) {
			for range b.N {
				c := openWallet(b, d, regtest.MatureHeight)
				start := time.Now()
				rep := mustSync(b, c, rpc)
				b.ReportMetric(time.Since(start).Seconds(), "s/sync")
				b.ReportMetric(float64(rep.MempoolRead), "txs-read/sync")
			}
		})
		c := openWallet(b, d, regtest.MatureHeight)
		mustSync(b, c, rpc)
		b.Run(fmt.Sprintf("sync/%d", n), func(b *testing.B) {
			read := 0
			for range b.N {
				read += mustSync(b, c, rpc).MempoolRead
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/sync")
			b.ReportMetric(float64(read)/float64(b.N), "txs-read/sync")
		})
		b.Run(fmt.Sprintf("spend/%d", n), func(b *testing.B) {
			to := outside(b)
			for range b.N {
				if _, err := c.SyncBlocks(ctx, rpc); err != nil {
					b.Fatal(err)
				}
				if _, err := c.CheckCoins(ctx, rpc, "vault", 1); err != nil {
					b.Fatal(err)
				}
				s, err := c.Spend(ctx, "vault", coordinator.SpendRequest{
					Payments: []coordinator.Payment{{Address: to, Amount: 1_500_000}}, FeeRate: 2,
				})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := c.Cancel(ctx, s.ID); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/spend")
		})
	}
}

// BenchmarkBlocks: a first sync over many small (empty) blocks and over
// full ones, in blocks/s and MB/s of serialized block.
func BenchmarkBlocks(b *testing.B) {
	nd, rpc := benchNode(b)
	fill := newFiller(b, nd)
	d := coordinator.RandomWalletForTest(b)

	from, _ := rpc.Height()
	if _, err := nd.Mine(2000); err != nil {
		b.Fatal(err)
	}
	to, _ := rpc.Height()
	run := func(b *testing.B, from, to int64) {
		hashes, err := rpc.BlockHashes(from+1, to)
		if err != nil {
			b.Fatal(err)
		}
		size := 0
		for start := 0; start < len(hashes); start += 50 {
			blocks, err := rpc.Blocks(hashes[start:min(start+50, len(hashes))], from+1+int64(start))
			if err != nil {
				b.Fatal(err)
			}
			for _, blk := range blocks {
				size += blk.Size
			}
		}
		var cpu time.Duration
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			c := openWallet(b, d, from+1)
			b.StartTimer()
			cpu0 := cpuTime()
			if rep := mustSync(b, c, rpc); rep.Scanned != len(hashes) {
				b.Fatalf("scanned %d blocks, want %d", rep.Scanned, len(hashes))
			}
			cpu += cpuTime() - cpu0
		}
		s := b.Elapsed().Seconds()
		b.ReportMetric(float64(len(hashes)*b.N)/s, "blocks/s")
		b.ReportMetric(float64(size*b.N)/s/1e6, "MB/s")
		b.ReportMetric(float64(size)/float64(len(hashes))/1e3, "kB/block")
		if cpu > 0 {
			// kinko's own CPU, without the node's work serving the blocks.
			b.ReportMetric(float64(size*b.N)/cpu.Seconds()/1e6, "MB/cpu-s")
		}
	}
	b.Run("small", func(b *testing.B) { run(b, from, to) })

	fill.prepare(*benchFull)
	fill.fillMempool(*benchFull)
	fill.mineAll()
	full, _ := rpc.Height()
	b.Run("full", func(b *testing.B) { run(b, to, full) })
}

// BenchmarkRediscovery: a wallet with many deposits, one per address, is
// synced by the store that handed the addresses out ("first") and
// restored into a fresh data directory that finds them by moving its gap
// window ("rediscovery"). The target is rediscovery ≤ 2× first.
func BenchmarkRediscovery(b *testing.B) {
	nd, rpc := benchNode(b)
	fill := newFiller(b, nd)
	d := coordinator.RandomWalletForTest(b)
	n := *benchDeposits
	scripts, err := d.DeriveScriptPubKeys(false, 0, uint32(n))
	if err != nil {
		b.Fatal(err)
	}
	birthday, _ := rpc.Height()
	birthday++
	fill.fanOuts(scripts, 10_000, true)

	var first, again float64
	for range b.N {
		c := openWallet(b, d, birthday)
		if err := coordinator.WatchForTest(c, "vault", uint32(n)); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		rep := mustSync(b, c, rpc)
		first += time.Since(start).Seconds()
		if rep.Found != n {
			b.Fatalf("first sync found %d coins, want %d", rep.Found, n)
		}

		c = openWallet(b, d, birthday)
		start = time.Now()
		rep = mustSync(b, c, rpc)
		again += time.Since(start).Seconds()
		if rep.Found != n {
			b.Fatalf("rediscovery found %d coins, want %d", rep.Found, n)
		}
	}
	b.ReportMetric(first/float64(b.N), "s/first-sync")
	b.ReportMetric(again/float64(b.N), "s/rediscovery")
	b.ReportMetric(again/first, "rediscovery/first")
}
