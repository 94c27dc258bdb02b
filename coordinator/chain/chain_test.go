package chain

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/kinko-project/kinko/internal/regtest"
)

func serialize(t *testing.T, tx *wire.MsgTx) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := tx.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// key is a test key with its P2WPKH script.
type key struct {
	priv   *btcec.PrivateKey
	script []byte
}

func newKey(t *testing.T) key {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	priv, pub := btcec.PrivKeyFromBytes(b)
	script := append([]byte{0x00, 0x14}, address.Hash160(pub.SerializeCompressed())...)
	return key{priv, script}
}

// spend builds a transaction spending prev (an output of k) to pkScript,
// paying fee, signed.
func spend(t *testing.T, k key, prev wire.OutPoint, value int64, pkScript []byte, fee int64) []byte {
	t.Helper()
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(&wire.TxIn{PreviousOutPoint: prev, Sequence: wire.MaxTxInSequenceNum})
	tx.AddTxOut(wire.NewTxOut(value-fee, pkScript))
	fetcher := txscript.NewCannedPrevOutputFetcher(k.script, value)
	w, err := txscript.WitnessSignature(tx, txscript.NewTxSigHashes(tx, fetcher), 0, value,
		k.script, txscript.SigHashAll, k.priv, true)
	if err != nil {
		t.Fatal(err)
	}
	tx.TxIn[0].Witness = w
	return serialize(t, tx)
}

func randomP2WSH(t *testing.T) []byte {
	t.Helper()
	h := make([]byte, 32)
	if _, err := rand.Read(h); err != nil {
		t.Fatal(err)
	}
	return append([]byte{0x00, 0x20}, h...)
}

func TestRawParsing(t *testing.T) {
	k := newKey(t)
	prev := wire.OutPoint{Hash: chainhash.Hash{1, 2, 3}, Index: 7}
	segwit := spend(t, k, prev, 100_000, randomP2WSH(t), 500)

	legacy := wire.NewMsgTx(1)
	legacy.AddTxIn(&wire.TxIn{PreviousOutPoint: prev, SignatureScript: bytes.Repeat([]byte{0x51}, 300), Sequence: 1})
	for i := range 3 {
		legacy.AddTxOut(wire.NewTxOut(int64(i), bytes.Repeat([]byte{0x6a}, 260)))
	}
	legacyRaw := serialize(t, legacy)

	for name, raw := range map[string][]byte{"segwit": segwit, "legacy": legacyRaw} {
		var tx wire.MsgTx
		if err := tx.Deserialize(bytes.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
		got, err := TxID(raw)
		if err != nil || got != tx.TxHash().String() {
			t.Errorf("%s: TxID = %s, %v; want %s", name, got, err, tx.TxHash())
		}
		if _, err := TxID(raw[:len(raw)-1]); err == nil {
			t.Errorf("%s: TxID of a truncated tx succeeded", name)
		}
		if _, err := TxID(append(slices.Clone(raw), 0)); err == nil {
			t.Errorf("%s: TxID with a trailing byte succeeded", name)
		}
	}

	blk := wire.MsgBlock{Header: wire.BlockHeader{Version: 4, PrevBlock: chainhash.Hash{9}, Nonce: 42}}
	for _, raw := range [][]byte{legacyRaw, segwit, legacyRaw} {
		var tx wire.MsgTx
		if err := tx.Deserialize(bytes.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
		blk.AddTransaction(&tx)
	}
	var buf bytes.Buffer
	if err := blk.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	b, err := parseBlock(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if b.Hash != blk.BlockHash().String() || b.PrevHash != blk.Header.PrevBlock.String() || b.Height != -1 {
		t.Errorf("parseBlock header: %+v", b)
	}
	if len(b.Txs) != 3 || !bytes.Equal(b.Txs[0], legacyRaw) || !bytes.Equal(b.Txs[1], segwit) || !bytes.Equal(b.Txs[2], legacyRaw) {
		t.Errorf("parseBlock transactions differ")
	}
	if _, err := parseBlock(buf.Bytes()[:buf.Len()-1]); err == nil {
		t.Error("parseBlock of a truncated block succeeded")
	}
	// A huge declared count must not allocate or panic.
	bad := append(slices.Clone(buf.Bytes()[:80]), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	if _, err := parseBlock(bad); err == nil {
		t.Error("parseBlock with an absurd transaction count succeeded")
	}
}

func TestDialErrors(t *testing.T) {
	// Nothing listens: fails fast.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	start := time.Now()
	_, err = Dial(Config{Host: addr, User: "u", Pass: "s3cret-pass"})
	if err == nil {
		t.Fatal("Dial to a closed port succeeded")
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("Dial to a closed port took %v", time.Since(start))
	}
	if strings.Contains(err.Error(), "s3cret-pass") {
		t.Errorf("error leaks the password: %v", err)
	}
	if _, err := Dial(Config{}); err == nil {
		t.Error("Dial without a host succeeded")
	}
}

func TestAgainstBtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: starts a real btcd regtest node; run without -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	node, err := regtest.Start(ctx, regtest.Options{})
	if err != nil {
		t.Fatalf("regtest.Start: %v", err)
	}
	t.Cleanup(func() { node.Stop() })
	host, user, pass := node.RPC()

	t.Run("bad credentials", func(t *testing.T) {
		_, err := Dial(Config{Host: host, User: user, Pass: pass + "x"})
		if !errors.Is(err, ErrAuth) {
			t.Fatalf("Dial with a wrong password: %v; want ErrAuth", err)
		}
		if strings.Contains(err.Error(), pass) {
			t.Fatalf("error leaks the password: %v", err)
		}
	})

	c, err := Dial(Config{Host: host, User: user, Pass: pass})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()

	h, err := c.Height()
	if err != nil || h != regtest.MatureHeight {
		t.Fatalf("Height = %d, %v", h, err)
	}
	if rate, err := c.FeeRate(); err != nil && !errors.Is(err, ErrNoFeeEstimate) {
		t.Fatalf("FeeRate on a fresh node: %v", err)
	} else {
		t.Logf("FeeRate on a fresh node: %v, %v", rate, err)
	}

	t.Run("blocks", func(t *testing.T) {
		h0, err := c.BlockHash(0)
		if err != nil {
			t.Fatal(err)
		}
		h1, err := c.BlockHash(1)
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.Block(h1)
		if err != nil {
			t.Fatal(err)
		}
		if b.Hash != h1 || b.PrevHash != h0 || b.Height != 1 || len(b.Txs) != 1 {
			t.Fatalf("block 1 = %s prev %s height %d with %d txs", b.Hash, b.PrevHash, b.Height, len(b.Txs))
		}
		g, err := c.Block(h0)
		if err != nil {
			t.Fatal(err)
		}
		if g.Height != 0 || g.PrevHash != strings.Repeat("0", 64) {
			t.Fatalf("genesis: height %d prev %s", g.Height, g.PrevHash)
		}
		if _, err := c.BlockHash(h + 1); err == nil {
			t.Fatal("BlockHash above the tip succeeded")
		}
		var re *RPCError
		if _, err := c.Block(strings.Repeat("ab", 32)); !errors.As(err, &re) {
			t.Fatalf("Block of an unknown hash: %v; want an *RPCError", err)
		}
	})

	t.Run("garbage", func(t *testing.T) {
		ok, reason, err := c.TestMempoolAccept([]byte{0xde, 0xad, 0xbe, 0xef})
		if err != nil || ok || reason == "" {
			t.Fatalf("TestMempoolAccept(garbage) = %v, %q, %v", ok, reason, err)
		}
		t.Logf("garbage: %s", reason)
		// Well-formed, but spending nothing that exists.
		k := newKey(t)
		raw := spend(t, k, wire.OutPoint{Hash: chainhash.Hash{7}}, 100_000, randomP2WSH(t), 1000)
		ok, reason, err = c.TestMempoolAccept(raw)
		if err != nil || ok || reason == "" {
			t.Fatalf("TestMempoolAccept(missing inputs) = %v, %q, %v", ok, reason, err)
		}
		t.Logf("missing inputs: %s", reason)
		if _, err := c.Broadcast([]byte{0xde, 0xad, 0xbe, 0xef}); err == nil {
			t.Fatal("Broadcast(garbage) succeeded")
		}
	})

	t.Run("broadcast and mine", func(t *testing.T) {
		k := newKey(t)
		const value = 1_000_000
		fundTxid, err := node.Fund(k.script, value)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := node.Mine(1); err != nil {
			t.Fatal(err)
		}
		fh, _ := chainhash.NewHashFromStr(fundTxid)
		prev := wire.OutPoint{Hash: *fh, Index: 0}
		dest := randomP2WSH(t)

		// Policy is mainnet's: below the minimum relay fee (1 sat/vB)
		// is refused, and so is a dust output.
		ok, reason, err := c.TestMempoolAccept(spend(t, k, prev, value, dest, 0))
		if err != nil || ok {
			t.Fatalf("zero-fee tx: ok=%v %q %v; want refused", ok, reason, err)
		}
		t.Logf("zero fee: %s", reason)
		ok, reason, err = c.TestMempoolAccept(spend(t, k, prev, value, dest, value-100))
		if err != nil || ok {
			t.Fatalf("dust output: ok=%v %q %v; want refused", ok, reason, err)
		}
		t.Logf("dust: %s", reason)

		raw := spend(t, k, prev, value, dest, 300) // ~110 vB at ~2.7 sat/vB
		wantID, err := TxID(raw)
		if err != nil {
			t.Fatal(err)
		}
		ok, reason, err = c.TestMempoolAccept(raw)
		if err != nil || !ok {
			t.Fatalf("TestMempoolAccept = %v, %q, %v", ok, reason, err)
		}
		txid, err := c.Broadcast(raw)
		if err != nil || txid != wantID {
			t.Fatalf("Broadcast = %s, %v; want %s", txid, err, wantID)
		}
		// Again: already in the mempool is success.
		if again, err := c.Broadcast(raw); err != nil || again != txid {
			t.Fatalf("second Broadcast = %s, %v", again, err)
		}
		// Now the input is spent in the mempool.
		if ok, reason, err := c.TestMempoolAccept(raw); err != nil || ok {
			t.Fatalf("TestMempoolAccept of a tx already in the mempool = %v, %q, %v", ok, reason, err)
		}

		mp, err := c.Mempool()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(mp, func(r []byte) bool { return bytes.Equal(r, raw) }) {
			t.Fatalf("broadcast tx not in Mempool() (%d txs)", len(mp))
		}

		hashes, err := node.Mine(1)
		if err != nil {
			t.Fatal(err)
		}
		mp, err = c.Mempool()
		if err != nil {
			t.Fatal(err)
		}
		if len(mp) != 0 {
			t.Fatalf("mempool has %d txs after mining", len(mp))
		}
		tip, _ := c.Height()
		tipHash, _ := c.BlockHash(tip)
		if tipHash != hashes[0] {
			t.Fatalf("tip %s, mined %s", tipHash, hashes[0])
		}
		b, err := c.Block(tipHash)
		if err != nil {
			t.Fatal(err)
		}
		if b.Height != tip || !slices.ContainsFunc(b.Txs, func(r []byte) bool { return bytes.Equal(r, raw) }) {
			t.Fatalf("broadcast tx not in block %d", tip)
		}
		for i, r := range b.Txs {
			if _, err := TxID(r); err != nil {
				t.Fatalf("block tx %d: %v", i, err)
			}
		}
		// Mined: rebroadcasting is an error now (outputs already in the
		// UTXO set / inputs spent), not a silent success.
		if _, err := c.Broadcast(raw); err == nil {
			t.Fatal("Broadcast of a mined tx succeeded")
		} else {
			t.Logf("rebroadcast mined: %v", err)
		}
	})

	t.Run("many txs in mempool", func(t *testing.T) {
		var ids []string
		for range 5 {
			id, err := node.Fund(randomP2WSH(t), 20_000)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		mp, err := c.Mempool()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range mp {
			id, err := TxID(r)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, id)
		}
		slices.Sort(ids)
		slices.Sort(got)
		if !slices.Equal(ids, got) {
			t.Fatalf("Mempool txids %v; want %v", got, ids)
		}
	})

	t.Run("bulk reads", func(t *testing.T) {
		if _, err := node.Mine(1); err != nil { // the faucet's coins confirmed
			t.Fatal(err)
		}
		a, err := node.Fund(randomP2WSH(t), 30_000)
		if err != nil {
			t.Fatal(err)
		}
		raws, err := c.RawTransactions([]string{a, strings.Repeat("00", 32)})
		if err != nil || len(raws) != 2 || raws[0] == nil || raws[1] != nil {
			t.Fatalf("RawTransactions = %d, %v; want a's and nil for an unknown txid", len(raws), err)
		}
		var txA wire.MsgTx
		if err := txA.Deserialize(bytes.NewReader(raws[0])); err != nil {
			t.Fatal(err)
		}
		spent := txA.TxIn[0].PreviousOutPoint
		ops := []OutPoint{{a, 0}, {spent.Hash.String(), spent.Index}, {strings.Repeat("11", 32), 0}}
		if got, err := c.Unspent(ops, true); err != nil || !slices.Equal(got, []bool{true, true, false}) {
			// btcd reports a confirmed output spent in the mempool as unspent.
			t.Fatalf("Unspent with the mempool = %v, %v", got, err)
		}
		if got, err := c.Unspent(ops, false); err != nil || !slices.Equal(got, []bool{false, true, false}) {
			t.Fatalf("Unspent without the mempool = %v, %v", got, err)
		}
		if _, err := node.Mine(3); err != nil {
			t.Fatal(err)
		}
		if got, err := c.Unspent(ops, false); err != nil || !slices.Equal(got, []bool{true, false, false}) {
			t.Fatalf("Unspent after mining = %v, %v", got, err)
		}
		tip, err := c.Height()
		if err != nil {
			t.Fatal(err)
		}
		hashes, err := c.BlockHashes(tip-3, tip)
		if err != nil || len(hashes) != 4 {
			t.Fatalf("BlockHashes = %v, %v", hashes, err)
		}
		blocks, err := c.Blocks(hashes, tip-3)
		if err != nil {
			t.Fatal(err)
		}
		for i, h := range hashes {
			want, err := c.BlockHash(tip - 3 + int64(i))
			if err != nil || want != h {
				t.Fatalf("BlockHashes[%d] = %s; BlockHash says %s, %v", i, h, want, err)
			}
			one, err := c.Block(h)
			if err != nil {
				t.Fatal(err)
			}
			b := blocks[i]
			if b.Hash != h || b.Height != one.Height || b.PrevHash != one.PrevHash || len(b.Txs) != len(one.Txs) || b.Size < 81 {
				t.Fatalf("Blocks[%d] = %s at %d (%d txs); Block says %s at %d (%d txs)", i, b.Hash, b.Height, len(b.Txs), one.Hash, one.Height, len(one.Txs))
			}
		}
		if _, err := c.Blocks([]string{strings.Repeat("ab", 32)}, 1); !errors.As(err, new(*RPCError)) {
			t.Fatalf("Blocks of an unknown hash: %v; want an RPCError", err)
		}
		if _, err := c.BlockHashes(tip, tip+1); !errors.As(err, new(*RPCError)) {
			t.Fatalf("BlockHashes above the tip: %v; want an RPCError", err)
		}
	})

	t.Run("fee rate", func(t *testing.T) {
		rate, err := c.FeeRate()
		switch {
		case errors.Is(err, ErrNoFeeEstimate):
			t.Logf("FeeRate: %v", err)
		case err != nil:
			t.Fatalf("FeeRate: %v", err)
		case rate <= 0:
			t.Fatalf("FeeRate = %v", rate)
		default:
			t.Logf("FeeRate = %v sat/vB", rate)
		}
	})

	t.Run("no password in errors", func(t *testing.T) {
		_, err := c.BlockHash(1 << 40)
		if err == nil || strings.Contains(err.Error(), pass) {
			t.Fatalf("error %v", err)
		}
		_, err = c.BlockHash(1 << 20)
		var re *RPCError
		if !errors.As(err, &re) || strings.Contains(err.Error(), pass) {
			t.Fatalf("BlockHash above the tip: %v", err)
		}
		if !strings.HasPrefix(err.Error(), "chain: getblockhash: ") {
			t.Fatalf("error not prefixed: %v", err)
		}
	})
}

func TestScrub(t *testing.T) {
	inner := errors.New("post http://u:hunter22@host: refused")
	err := scrub(inner, "hunter22")
	if strings.Contains(err.Error(), "hunter22") || !errors.Is(err, inner) {
		t.Fatalf("scrub: %v", err)
	}
	if got := hashString([]byte{1, 2, 0xab}); got != "ab0201" {
		t.Fatalf("hashString = %s", got)
	}
}

// A node that goes away is reported within seconds, not after rpcclient's
// 22 s of silent retries, and each retry is said to the log.
func TestNodeGoneFailsFast(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: starts a real btcd regtest node; run without -short")
	}
	node, err := regtest.Start(context.Background(), regtest.Options{})
	if err != nil {
		t.Fatalf("regtest.Start: %v", err)
	}
	host, user, pass := node.RPC()
	c, err := Dial(Config{Host: host, User: user, Pass: pass})
	if err != nil {
		node.Stop()
		t.Fatal(err)
	}
	defer c.Close()
	var retries []string
	c.SetLog(func(format string, args ...any) { retries = append(retries, fmt.Sprintf(format, args...)) })
	node.Stop()
	start := time.Now()
	_, err = c.Height()
	took := time.Since(start)
	if err == nil {
		t.Fatal("Height succeeded with the node stopped")
	}
	if took > 5*time.Second {
		t.Errorf("the node's absence took %v to report", took)
	}
	if len(retries) == 0 || !strings.Contains(retries[0], "getblockcount") {
		t.Errorf("retries said: %q", retries)
	}
	if _, err := c.BlockHashes(0, 10); err == nil || strings.Contains(err.Error(), pass) {
		t.Errorf("BlockHashes with the node stopped: %v", err)
	}
	t.Logf("%v after %v; retries: %q", err, took, retries)
}
