package airgap_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/kinko-project/kinko/airgap"
	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// multisigPSBT builds the PSBT a coordinator would send for a 2-of-3
// P2WSH wallet spending n coins: previous transactions, witness UTXOs,
// scripts, three derivations per input and on the change, global xpubs.
func multisigPSBT(t testing.TB, n int) []byte { return multisigPSBTFrom(t, n, false) }

// multisigPSBTFrom is multisigPSBT, whose coins, with payments, come
// from transactions as payers send them: a spend of a coin of theirs
// (random txid, a signature and key in its witness) paying the coin and
// their change, where multisigPSBT's previous transactions are bare.
func multisigPSBTFrom(t testing.TB, n int, payments bool) []byte {
	t.Helper()
	net := wallet.Regtest
	var recs []*wallet.KeyRecord
	for i := 0; i < 3; i++ {
		seed := sha256.Sum256([]byte{byte(i)})
		m, err := wallet.NewMaster(seed[:], net)
		if err != nil {
			t.Fatal(err)
		}
		r, err := wallet.NewKeyRecord(m, wallet.AccountPath(net, wallet.P2WSH, 0))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	d, err := wallet.NewMultisig(net, wallet.P2WSH, 2, recs)
	if err != nil {
		t.Fatal(err)
	}
	spks, err := d.DeriveScriptPubKeys(false, 0, uint32(n))
	if err != nil {
		t.Fatal(err)
	}
	var coins []coordinator.FundedCoin
	var total int64
	for i, spk := range spks {
		var h psbt.Hash
		binary.LittleEndian.PutUint32(h[:], uint32(i))
		prev := &psbt.Tx{Version: 2,
			Inputs:  []*psbt.TxIn{{PrevOut: psbt.OutPoint{Hash: h}, Sequence: 0xffffffff}},
			Outputs: []*psbt.TxOut{{Value: 1_000_000, PkScript: spk}},
		}
		if payments {
			r := sha256.Sum256(binary.LittleEndian.AppendUint32([]byte("payment"), uint32(i)))
			prev.Inputs[0].PrevOut = psbt.OutPoint{Hash: psbt.Hash(sha256.Sum256(r[:])), Index: 1}
			prev.Inputs[0].Witness = [][]byte{bytes.Repeat(r[:], 3)[:72], append([]byte{2}, r[:]...)}
			prev.Outputs = append(prev.Outputs, &psbt.TxOut{Value: 4_321_000 + int64(i), PkScript: append([]byte{0, 20}, r[:20]...)})
		}
		total += 1_000_000
		coins = append(coins, coordinator.FundedCoin{Coin: coordinator.Coin{
			OutPoint: psbt.OutPoint{Hash: prev.TxID()}, Value: 1_000_000, Index: uint32(i)}, Prev: prev})
	}
	change, err := d.Derive(true, 0)
	if err != nil {
		t.Fatal(err)
	}
	outs := []*psbt.TxOut{
		{Value: total / 2, PkScript: append([]byte{0x00, 0x14}, bytes.Repeat([]byte{7}, 20)...)},
		{Value: total/2 - int64(n)*200, PkScript: change.ScriptPubKey},
	}
	p, err := coordinator.BuildPSBT(d, coins, outs, 1, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// throughImages renders parts as PNG files, scans every file back with
// the QR decoder (on every core), and feeds what it read to a Collector
// in frame order, as a camera would see an animation.
func throughImages(t testing.TB, parts []string) (string, []byte, int) {
	t.Helper()
	dir := t.TempDir()
	paths, err := airgap.RenderPNGs(parts, dir, airgap.QROptions{})
	if err != nil {
		t.Fatal(err)
	}
	scanned := make([][]string, len(paths))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	errs := make([]error, len(paths))
	for i, p := range paths {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			f, err := os.Open(p)
			if err != nil {
				errs[i] = err
				return
			}
			defer f.Close()
			scanned[i], errs[i] = airgap.ScanImage(f)
		}()
	}
	wg.Wait()
	c := airgap.NewCollector()
	used := 0
	for i, texts := range scanned {
		if errs[i] != nil {
			t.Fatalf("frame %d (%s): %v", i, filepath.Base(paths[i]), errs[i])
		}
		for _, s := range texts {
			if err := c.Add(s); err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
		}
		used++
		if c.Done() {
			break
		}
	}
	kind, payload, err := c.Result()
	if err != nil {
		t.Fatal(err)
	}
	return kind, payload, used
}

// PSBTs of 1, 10, 100 and 950 inputs (the most a standard transaction
// holds) cross as UR and as BBQr through rendered and decoded images, at
// the default settings, and arrive byte for byte.
func TestPSBTThroughImages(t *testing.T) {
	sizes := []int{1, 10, 100, 950}
	if testing.Short() {
		sizes = sizes[:3]
	}
	for _, n := range sizes {
		p := multisigPSBT(t, n)
		for _, format := range []string{"ur", "bbqr"} {
			t.Run(fmt.Sprintf("%d-inputs-%s", n, format), func(t *testing.T) {
				var parts []string
				if format == "ur" {
					enc, err := airgap.EncodePSBTUR(p)
					if err != nil {
						t.Fatal(err)
					}
					parts = enc.Parts(enc.SeqLen())
				} else {
					var err error
					if parts, err = airgap.EncodeBBQr(p, airgap.BBQrPSBT, airgap.BBQrOptions{}); err != nil {
						t.Fatal(err)
					}
				}
				kind, got, frames := throughImages(t, parts)
				if kind != airgap.KindPSBT || !bytes.Equal(got, p) {
					t.Fatalf("%d-input PSBT came back as %s of %d bytes, sent %d", n, kind, len(got), len(p))
				}
				t.Logf("%d inputs, %d bytes: %d %s frames", n, len(p), frames, format)
			})
		}
	}
}

// BenchmarkFramesFor100Inputs reports how many frames a 100-input 2-of-3
// PSBT needs at the default settings of each format.
func BenchmarkFramesFor100Inputs(b *testing.B) {
	p := multisigPSBT(b, 100)
	for i := 0; i < b.N; i++ {
		enc, err := airgap.EncodePSBTUR(p)
		if err != nil {
			b.Fatal(err)
		}
		bb, err := airgap.EncodeBBQr(p, airgap.BBQrPSBT, airgap.BBQrOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			b.ReportMetric(float64(len(p)), "psbt-bytes")
			b.ReportMetric(float64(enc.SeqLen()), "ur-frames")
			b.ReportMetric(float64(len(bb)), "bbqr-frames")
		}
	}
}

// A camera frame saved as JPEG (lossy) scans too.
func TestScanJPEG(t *testing.T) {
	enc, err := airgap.EncodePSBTUR(multisigPSBT(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	part := enc.Parts(1)[0]
	paths, err := airgap.RenderPNGs([]string{part}, t.TempDir(), airgap.QROptions{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 75}); err != nil {
		t.Fatal(err)
	}
	got, err := airgap.ScanImage(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !strings.EqualFold(got[0], part) {
		t.Fatalf("scanned %q, rendered %q", got, part)
	}
}
