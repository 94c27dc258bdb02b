package coordinator_test

import (
	"fmt"
	mrand "math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/kinko-project/kinko/airgap"
	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/signer"
	"github.com/kinko-project/kinko/wallet"
)

// BenchmarkAirGapTaproot measures what crosses the air gap for a 2-of-3
// spend of 100 coins, tr(NUMS,sortedmulti_a) against wsh(sortedmulti):
// the PSBT the signer is given (a wsh input carries its previous
// transaction: "pay2" a one-input two-output payment of 222 bytes,
// "batch20" an exchange's batched withdrawal of one input and 20 outputs,
// 875 bytes; a tr input carries none, only the BIP-371 fields) and the
// signer's answer over QR codes (its compact reply), in bytes and in QR
// frames as kinko shows them: UR crypto-psbt at the default fragment size
// (airgap.DefaultURMaxFragment; frames per pass, SeqLen) and BBQr at the
// default QR versions (airgap.DefaultBBQrMaxVersion, zlib). The time
// measured is the encoding of both.
func BenchmarkAirGapTaproot(b *testing.B) {
	for _, c := range []struct {
		name    string
		st      wallet.ScriptType
		prevOut int
	}{{"wsh-pay2", wallet.P2WSH, 2}, {"wsh-batch20", wallet.P2WSH, 20}, {"tr", wallet.P2TR, 2}} {
		b.Run(c.name, func(b *testing.B) {
			unsigned, answer := airGapPSBTs(b, c.st, 100, c.prevOut)
			var m []airGapSize
			b.ResetTimer()
			for range b.N {
				m = []airGapSize{measureAirGap(b, unsigned), measureAirGap(b, answer)}
			}
			b.ReportMetric(float64(m[0].bytes), "psbt-B")
			b.ReportMetric(float64(m[0].ur), "psbt-ur-frames")
			b.ReportMetric(float64(m[0].bbqr), "psbt-bbqr-frames")
			b.ReportMetric(float64(m[1].bytes), "answer-B")
			b.ReportMetric(float64(m[1].ur), "answer-ur-frames")
			b.ReportMetric(float64(m[1].bbqr), "answer-bbqr-frames")
		})
	}
}

type airGapSize struct{ bytes, ur, bbqr int }

func measureAirGap(b *testing.B, p []byte) airGapSize {
	typ, body, bbqrType := airgap.URTypeCryptoPSBT, airgap.CBORByteString(p), airgap.BBQrPSBT
	if airgap.IsSigReply(p) {
		typ, body, bbqrType = airgap.URTypeSigReply, p, airgap.BBQrCBOR
	}
	enc, err := airgap.NewUREncoder(typ, body, 0, 0)
	if err != nil {
		b.Fatal(err)
	}
	parts, err := airgap.EncodeBBQr(p, bbqrType, airgap.BBQrOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return airGapSize{len(p), enc.SeqLen(), len(parts)}
}

// airGapPSBTs builds a 2-of-3 wallet of type st, a PSBT spending n of its
// coins to one outside address and change, and signer 0's answer. Each
// coin's previous transaction has prevOuts outputs.
func airGapPSBTs(b *testing.B, st wallet.ScriptType, n, prevOuts int) (unsigned, answer []byte) {
	b.Helper()
	net := wallet.Regtest
	var recs []*wallet.KeyRecord
	var ks0 *signer.Keystore
	words := []string{
		"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
		"legal winner thank year wave sausage worth useful legal winner thank yellow",
		"letter advice cage absurd amount doctor acoustic avoid letter advice cage above",
	}
	for i, w := range words {
		ks, err := signer.CreateKeystore(filepath.Join(b.TempDir(), "ks"), "pw", w, "", signer.MinWorkFactor)
		if err != nil {
			b.Fatal(err)
		}
		master, err := ks.Master(net)
		if err != nil {
			b.Fatal(err)
		}
		rec, err := wallet.NewKeyRecord(master, wallet.AccountPath(net, st, 0))
		if err != nil {
			b.Fatal(err)
		}
		recs = append(recs, rec)
		if i == 0 {
			ks0 = ks
		}
	}
	d, err := wallet.NewMultisig(net, st, 2, recs)
	if err != nil {
		b.Fatal(err)
	}
	reg, err := ks0.PrepareRegistration("vault", d, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := ks0.Register(reg); err != nil {
		b.Fatal(err)
	}
	r := mrand.New(mrand.NewPCG(uint64(n), uint64(prevOuts)))
	var coins []coordinator.FundedCoin
	var total int64
	for i := 0; i < n; i++ {
		der, err := d.Derive(false, uint32(i))
		if err != nil {
			b.Fatal(err)
		}
		// A payment: one P2WPKH input (signature and key in the
		// witness), the coin, and the payer's change or other payees.
		// Random bytes where a real transaction has hashes, keys and
		// signatures, so that compression gains no more than on real ones.
		var h psbt.Hash
		copy(h[:], randBytes(r, 32))
		prev := &psbt.Tx{Version: 2,
			Inputs: []*psbt.TxIn{{PrevOut: psbt.OutPoint{Hash: h, Index: 1}, Sequence: 0xfffffffd,
				Witness: [][]byte{randBytes(r, 72), randBytes(r, 33)}}},
			Outputs: []*psbt.TxOut{{Value: 1_000_000, PkScript: der.ScriptPubKey}},
		}
		for k := 1; k < prevOuts; k++ {
			prev.Outputs = append(prev.Outputs, &psbt.TxOut{Value: r.Int64N(10_000_000), PkScript: append([]byte{0, 20}, randBytes(r, 20)...)})
		}
		c := coordinator.FundedCoin{Coin: coordinator.Coin{OutPoint: psbt.OutPoint{Hash: prev.TxID(), Index: 0}, Value: 1_000_000, Index: uint32(i)}, Prev: prev}
		if st == wallet.P2TR {
			c.Prev = nil
		}
		coins = append(coins, c)
		total += c.Value
	}
	change, err := d.Derive(true, 0)
	if err != nil {
		b.Fatal(err)
	}
	outs := []*psbt.TxOut{
		{Value: total / 2, PkScript: append([]byte{0, 20}, make([]byte, 20)...)},
		{Value: total/2 - int64(n)*200, PkScript: change.ScriptPubKey},
	}
	p, err := coordinator.BuildPSBT(d, coins, outs, 1, 0, 0)
	if err != nil {
		b.Fatal(err)
	}
	if unsigned, err = p.Serialize(); err != nil {
		b.Fatal(err)
	}
	signed, _, err := ks0.Sign(p, signer.Options{}, nil)
	if err != nil {
		b.Fatal(fmt.Errorf("sign %s: %w", st, err))
	}
	if answer, err = signed.Serialize(); err != nil {
		b.Fatal(err)
	}
	// Over QR codes the signer answers with its compact reply.
	fp, err := ks0.Fingerprint()
	if err != nil {
		b.Fatal(err)
	}
	if answer, err = signer.CompactReply(answer, fp); err != nil {
		b.Fatal(err)
	}
	return unsigned, answer
}

func randBytes(r *mrand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
