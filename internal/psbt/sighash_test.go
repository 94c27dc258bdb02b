package psbt

import (
	"encoding/hex"
	"encoding/json"
	"math/rand"
	"os"
	"testing"
	"time"

	"github.com/btcsuite/btcd/txscript/v2"
)

// TestLegacySigHashCore checks LegacySigHash against Bitcoin Core's
// sighash.json vectors.
func TestLegacySigHashCore(t *testing.T) {
	b, err := os.ReadFile("testdata/sighash.json")
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]any
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, row := range rows {
		if len(row) != 5 {
			continue // comment
		}
		rawTx, script := row[0].(string), row[1].(string)
		idx, ht := int(row[2].(float64)), int32(int64(row[3].(float64)))
		want := row[4].(string)
		tx, err := ParseTx(unhex(t, rawTx))
		if err != nil {
			t.Errorf("row %d: ParseTx: %v", i, err)
			continue
		}
		if got := hex.EncodeToString(tx.Bytes()); got != rawTx {
			t.Errorf("row %d: tx does not re-serialise identically", i)
		}
		h, err := LegacySigHash(tx, idx, unhex(t, script), SigHashType(uint32(ht)))
		if err != nil {
			t.Errorf("row %d: %v", i, err)
			continue
		}
		if got := Hash(h).String(); got != want {
			t.Errorf("row %d: sighash %s, want %s", i, got, want)
		}
		n++
	}
	if n < 400 {
		t.Fatalf("only %d vectors checked", n)
	}
	t.Logf("%d vectors", n)
}

func TestLegacySigHashSingleBug(t *testing.T) {
	tx := &Tx{Version: 1, Inputs: []*TxIn{{}, {}}, Outputs: []*TxOut{{Value: 1}}}
	h, err := LegacySigHash(tx, 1, []byte{0x51}, SigHashSingle)
	if err != nil {
		t.Fatal(err)
	}
	var one [32]byte
	one[0] = 1
	if h != one {
		t.Fatalf("got %x, want the value 1", h)
	}
	if _, err := LegacySigHash(tx, 2, nil, SigHashAll); err == nil {
		t.Fatal("out-of-range input index accepted")
	}
}

// The BIP-143 examples.
func TestWitnessV0SigHashBIP143(t *testing.T) {
	const p2shP2wshTx = "010000000136641869ca081e70f394c6948e8af409e18b619df2ed74aa106c1ca29787b96e0100000000ffffffff0200e9a435000000001976a914389ffce9cd9ae88dcc0631e88a821ffdbe9bfe2688acc0832f05000000001976a9147480a33f950689af511e6e84c138dbbd3c3ee41588ac00000000"
	const sixOfSix = "56210307b8ae49ac90a048e9b53357a2354b3334e9c8bee813ecb98e99a7e07e8c3ba32103b28f0c28bfab54554ae8c658ac5c3e0ce6e79ad336331f78c428dd43eea8449b21034b8113d703413d57761b8b9781957b8c0ac1dfe69f492580ca4195f50376ba4a21033400f6afecb833092a9a21cfdf1ed1376e58c5d1f47de74683123987e967a8f42103a6d48b1131e94ba04d9737d61acdaa1322008af9602b3b14862c07a1789aac162102d8b661b0b3302ee2f162b09e07a55ad5dfbe673a9f01d9f0c19617681024306b56ae"
	cases := []struct {
		name       string
		tx         string
		idx        int
		scriptCode string
		amount     int64
		ht         SigHashType
		want       string
	}{
		{"native p2wpkh", "0100000002fff7f7881a8099afa6940d42d1e7f6362bec38171ea3edf433541db4e4ad969f0000000000eeffffffef51e1b804cc89d182d279655c3aa89e815b1b309fe287d9b2b55d57b90ec68a0100000000ffffffff02202cb206000000001976a9148280b37df378db99f66f85c95a783a76ac7a6d5988ac9093510d000000001976a9143bde42dbee7e4dbe6a21b2d50ce2f0167faa815988ac11000000",
			1, "76a9141d0f172a0ecb48aee1be1f2687d2963ae33f71a188ac", 600000000, SigHashAll,
			"c37af31116d1b27caf68aae9e3ac82f1477929014d5b917657d0eb49478cb670"},
		{"p2sh-p2wpkh", "0100000001db6b1b20aa0fd7b23880be2ecbd4a98130974cf4748fb66092ac4d3ceb1a54770100000000feffffff02b8b4eb0b000000001976a914a457b684d7f0d539a46a45bbc043f35b59d0d96388ac0008af2f000000001976a914fd270b1ee6abcaea97fea7ad0402e8bd8ad6d77c88ac92040000",
			0, "76a91479091972186c449eb1ded22b78e40d009bdf008988ac", 1000000000, SigHashAll,
			"64f3b0f4dd2bb3aa1ce8566d220cc74dda9df97d8490cc81d89d735c92e59fb6"},
		{"native p2wsh, codeseparator not yet executed", "0100000002fe3dc9208094f3ffd12645477b3dc56f60ec4fa8e6f5d67c565d1c6b9216b36e0000000000ffffffff0815cf020f013ed6cf91d29f4202e8a58726b1ac6c79da47c23d1bee0a6925f80000000000ffffffff0100f2052a010000001976a914a30741f8145e5acadf23f751864167f32e0963f788ac00000000",
			1, "21026dccc749adc2a9d0d89497ac511f760f45c47dc5ed9cf352a58ac706453880aeadab210255a9626aebf5e29c0e6538428ba0d1dcf6ca98ffdf086aa8ced5e0d0215ea465ac", 4900000000, SigHashSingle,
			"82dde6e4f1e94d02c2b7ad03d2115d691f48d064e9d52f58194a6637e4194391"},
		{"native p2wsh, after codeseparator", "0100000002fe3dc9208094f3ffd12645477b3dc56f60ec4fa8e6f5d67c565d1c6b9216b36e0000000000ffffffff0815cf020f013ed6cf91d29f4202e8a58726b1ac6c79da47c23d1bee0a6925f80000000000ffffffff0100f2052a010000001976a914a30741f8145e5acadf23f751864167f32e0963f788ac00000000",
			1, "210255a9626aebf5e29c0e6538428ba0d1dcf6ca98ffdf086aa8ced5e0d0215ea465ac", 4900000000, SigHashSingle,
			"fef7bd749cce710c5c052bd796df1af0d935e59cea63736268bcbe2d2134fc47"},
		{"native p2wsh, single|anyonecanpay input 0", "0100000002e9b542c5176808107ff1df906f46bb1f2583b16112b95ee5380665ba7fcfc0010000000000ffffffff80e68831516392fcd100d186b3c2c7b95c80b53c77e77c35ba03a66b429a2a1b0000000000ffffffff0280969800000000001976a914de4b231626ef508c9a74a8517e6783c0546d6b2888ac80969800000000001976a9146648a8cd4531e1ec47f35916de8e259237294d1e88ac00000000",
			0, "0063ab68210392972e2eb617b2388771abe27235fd5ac44af8e61693261550447a4c3e39da98ac", 16777215, SigHashSingle | SigHashAnyOneCanPay,
			"e9071e75e25b8a1e298a72f0d2e9f4f95a0f5cdf86a533cda597eb402ed13b3a"},
		{"native p2wsh, single|anyonecanpay input 1", "0100000002e9b542c5176808107ff1df906f46bb1f2583b16112b95ee5380665ba7fcfc0010000000000ffffffff80e68831516392fcd100d186b3c2c7b95c80b53c77e77c35ba03a66b429a2a1b0000000000ffffffff0280969800000000001976a914de4b231626ef508c9a74a8517e6783c0546d6b2888ac80969800000000001976a9146648a8cd4531e1ec47f35916de8e259237294d1e88ac00000000",
			1, "68210392972e2eb617b2388771abe27235fd5ac44af8e61693261550447a4c3e39da98ac", 16777215, SigHashSingle | SigHashAnyOneCanPay,
			"cd72f1f1a433ee9df816857fad88d8ebd97e09a75cd481583eb841c330275e54"},
		{"p2sh-p2wsh all", p2shP2wshTx, 0, sixOfSix, 987654321, SigHashAll, "185c0be5263dce5b4bb50a047973c1b6272bfbd0103a89444597dc40b248ee7c"},
		{"p2sh-p2wsh none", p2shP2wshTx, 0, sixOfSix, 987654321, SigHashNone, "e9733bc60ea13c95c6527066bb975a2ff29a925e80aa14c213f686cbae5d2f36"},
		{"p2sh-p2wsh single", p2shP2wshTx, 0, sixOfSix, 987654321, SigHashSingle, "1e1f1c303dc025bd664acb72e583e933fae4cff9148bf78c157d1e8f78530aea"},
		{"p2sh-p2wsh all|acp", p2shP2wshTx, 0, sixOfSix, 987654321, SigHashAll | SigHashAnyOneCanPay, "2a67f03e63a6a422125878b40b82da593be8d4efaafe88ee528af6e5a9955c6e"},
		{"p2sh-p2wsh none|acp", p2shP2wshTx, 0, sixOfSix, 987654321, SigHashNone | SigHashAnyOneCanPay, "781ba15f3779d5542ce8ecb5c18716733a5ee42a6f51488ec96154934e2c890a"},
		{"p2sh-p2wsh single|acp", p2shP2wshTx, 0, sixOfSix, 987654321, SigHashSingle | SigHashAnyOneCanPay, "511e8e52ed574121fc1b654970395502128263f62662e076dc6baf05c2e6a99b"},
	}
	for _, c := range cases {
		tx, err := ParseTx(unhex(t, c.tx))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		h, err := WitnessV0SigHash(tx, c.idx, unhex(t, c.scriptCode), c.amount, c.ht)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := hex.EncodeToString(h[:]); got != c.want {
			t.Errorf("%s: sighash %s, want %s", c.name, got, c.want)
		}
	}
}

// randScript returns a random well-formed script (pushes and opcodes,
// sometimes OP_CODESEPARATOR).
func randScript(r *rand.Rand) []byte {
	var s []byte
	for n := r.Intn(6); n > 0; n-- {
		switch r.Intn(4) {
		case 0:
			d := make([]byte, r.Intn(80))
			r.Read(d)
			s = appendPush(s, d)
		case 1:
			s = append(s, opCodeSeparator)
		default:
			s = append(s, byte(0x51+r.Intn(0x60)))
		}
	}
	return s
}

func randTx(r *rand.Rand, nIn, nOut int) *Tx {
	tx := &Tx{Version: int32(r.Uint32()), LockTime: r.Uint32()}
	for i := 0; i < nIn; i++ {
		in := &TxIn{Sequence: r.Uint32()}
		r.Read(in.PrevOut.Hash[:])
		in.PrevOut.Index = uint32(r.Intn(5))
		tx.Inputs = append(tx.Inputs, in)
	}
	for i := 0; i < nOut; i++ {
		tx.Outputs = append(tx.Outputs, &TxOut{Value: r.Int63n(MaxMoney), PkScript: randScript(r)})
	}
	return tx
}

var allSigHashTypes = []SigHashType{
	SigHashAll, SigHashNone, SigHashSingle,
	SigHashAll | SigHashAnyOneCanPay, SigHashNone | SigHashAnyOneCanPay, SigHashSingle | SigHashAnyOneCanPay,
}

// TestSigHashVsBtcd compares both signature hashes with btcd's txscript on
// random transactions.
func TestSigHashVsBtcd(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for iter := 0; iter < 300; iter++ {
		tx := randTx(r, 1+r.Intn(5), r.Intn(5))
		wtx := toWire(t, tx)
		cache := NewSigHashCache(tx)
		fetcher := txscript.NewCannedPrevOutputFetcher(nil, 0)
		hashes := txscript.NewTxSigHashes(wtx, fetcher)
		for idx := range tx.Inputs {
			ht := allSigHashTypes[r.Intn(len(allSigHashTypes))]
			script := randScript(r)
			amount := r.Int63n(MaxMoney)

			got, err := cache.WitnessV0(idx, script, amount, ht)
			if err != nil {
				t.Fatal(err)
			}
			want, err := txscript.CalcWitnessSigHash(script, hashes, txscript.SigHashType(ht), wtx, idx, amount)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(got[:]) != hex.EncodeToString(want) {
				t.Fatalf("iter %d input %d ht %#x: witness sighash %x, btcd %x", iter, idx, ht, got, want)
			}
			got2, err := WitnessV0SigHash(tx, idx, script, amount, ht)
			if err != nil || got2 != got {
				t.Fatalf("WitnessV0SigHash differs from the cache: %v", err)
			}

			lgot, err := LegacySigHash(tx, idx, script, ht)
			if err != nil {
				t.Fatal(err)
			}
			lwant, err := txscript.CalcSignatureHash(script, txscript.SigHashType(ht), wtx, idx)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(lgot[:]) != hex.EncodeToString(lwant) {
				t.Fatalf("iter %d input %d ht %#x: legacy sighash %x, btcd %x", iter, idx, ht, lgot, lwant)
			}
		}
	}
}

// BenchmarkWitnessV0SigHash950 computes the BIP-143 sighash of every input of
// a 950-input transaction; with the cache this is linear in the size.
func BenchmarkWitnessV0SigHash950(b *testing.B) {
	r := rand.New(rand.NewSource(2))
	tx := randTx(r, 950, 3)
	ws, _ := MultisigScript(2, [][]byte{testPub(b, 1), testPub(b, 2), testPub(b, 3)})
	b.ReportAllocs()
	for b.Loop() {
		c := NewSigHashCache(tx)
		for i := range tx.Inputs {
			if _, err := c.WitnessV0(i, ws, 100000, SigHashAll); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// TestWitnessV0SigHashLinear checks that hashing all inputs does not hash the
// whole transaction per input: with 8 times the inputs, the time per input
// must stay about the same (it would grow 8-fold if quadratic).
func TestWitnessV0SigHashLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	perInput := func(n, loops int) float64 {
		tx := randTx(rand.New(rand.NewSource(3)), n, 3)
		best := time.Duration(0)
		for try := 0; try < 5; try++ {
			start := time.Now()
			for l := 0; l < loops; l++ {
				c := NewSigHashCache(tx)
				for i := range tx.Inputs {
					c.WitnessV0(i, []byte{0x51}, 1, SigHashAll)
				}
			}
			if d := time.Since(start); try == 0 || d < best {
				best = d
			}
		}
		return float64(best) / float64(n*loops)
	}
	small, large := perInput(950, 40), perInput(7600, 5)
	if ratio := large / small; ratio > 3 {
		t.Errorf("time per input grew %.1fx with 8x the inputs; want about 1x", ratio)
	} else {
		t.Logf("time per input: %.0f ns at 950 inputs, %.0f ns at 7600", small, large)
	}
}
