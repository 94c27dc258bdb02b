package signer_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/kinko-project/kinko/airgap"
	"github.com/kinko-project/kinko/internal/cli"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/signer"
	"github.com/kinko-project/kinko/wallet"
)

// TestRefusalsAnyWorkers runs the refusal corpus with 1 and with 8
// workers: the same refusal, word for word, and nothing signed.
func TestRefusalsAnyWorkers(t *testing.T) {
	for _, c := range refusalCases {
		t.Run(c.name, func(t *testing.T) {
			var msgs []string
			for _, w := range []int{1, 8} {
				f := newFixture(t, wallet.P2WSH, 2, 3, 2)
				p := f.build()
				c.alter(f, p)
				opts := c.opts
				opts.Workers = w
				out, _, err := f.sign(p, opts)
				refused(t, out, err, c.want)
				if err != nil {
					msgs = append(msgs, err.Error())
				}
			}
			if len(msgs) == 2 && msgs[0] != msgs[1] {
				t.Errorf("1 worker: %s\n8 workers: %s", msgs[0], msgs[1])
			}
		})
	}
}

// TestFirstRefusalInOrder breaks several inputs of a 64-input PSBT in
// different ways: whatever the number of workers and however they are
// scheduled, the refusal names the first broken input.
func TestFirstRefusalInOrder(t *testing.T) {
	f := newFixture(t, wallet.P2WSH, 2, 3, 64)
	good := f.build()
	breakers := []func(p *psbt.Packet, i int){
		func(p *psbt.Packet, i int) { p.Inputs[i].NonWitnessUTXO = nil },
		func(p *psbt.Packet, i int) {
			other, _ := f.desc.Derive(false, 63-uint32(i))
			p.Inputs[i].WitnessScript = other.WitnessScript
		},
		func(p *psbt.Packet, i int) { p.Inputs[i].SighashType = psbt.SigHashNone },
		func(p *psbt.Packet, i int) { p.Inputs[i].FinalScriptWitness = [][]byte{{1}} },
	}
	for _, first := range []int{0, 17, 40, 63} {
		p := good.Copy()
		for k, i := range []int{first, first + 5, first + 11, first + 23} {
			if i < 64 {
				breakers[(k+first)%len(breakers)](p, i)
			}
		}
		var want string
		for _, w := range []int{1, 2, 3, 8, 64} {
			for rep := 0; rep < 3; rep++ {
				out, _, err := f.ks[0].Sign(p.Copy(), signer.Options{Workers: w}, nil)
				refused(t, out, err, fmt.Sprintf("input %d", first))
				if err == nil {
					continue
				}
				if want == "" {
					want = err.Error()
				} else if err.Error() != want {
					t.Errorf("first broken input %d, %d workers: %s, want %s", first, w, err, want)
				}
			}
		}
	}
}

// TestSignSameBytesAnyWorkers signs one PSBT with 1, 2, 3 and 8 workers:
// the partial PSBT is the same bytes each time.
func TestSignSameBytesAnyWorkers(t *testing.T) {
	f := newFixture(t, wallet.P2WSH, 2, 3, 40)
	raw, err := f.build().Serialize()
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, w := range []int{1, 2, 3, 8} {
		out, _, err := f.ks[0].SignBytes(raw, signer.Options{Workers: w}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want == nil {
			want = out
		} else if !bytes.Equal(out, want) {
			t.Errorf("%d workers signed other bytes", w)
		}
	}
}

// BenchmarkReplyFrames reports the size of the signer's reply for 1, 2,
// 5 and 10 inputs of a 2-of-3 P2WSH wallet, and the QR frames it takes at
// kinko's defaults, as UR and as BBQr: the partial PSBT (the unsigned
// transaction and its partial signatures, nothing else), and the compact
// reply kinko-signer sends as QR codes (airgap.SigReply), shown as one
// still code when it fits version airgap.MaxStillQRVersion.
//
//	go test ./signer -run XXX -bench ReplyFrames -benchtime 1x
func BenchmarkReplyFrames(b *testing.B) {
	for _, n := range []int{1, 2, 5, 10} {
		b.Run(fmt.Sprintf("%d-inputs", n), func(b *testing.B) {
			f := newFixture(b, wallet.P2WSH, 2, 3, n)
			raw, err := f.build().Serialize()
			if err != nil {
				b.Fatal(err)
			}
			var reply []byte
			for range b.N {
				if reply, _, err = f.ks[0].SignBytes(raw, signer.Options{}, nil); err != nil {
					b.Fatal(err)
				}
			}
			urFrames := func(parts []string) int {
				if len(parts) > 1 {
					return len(parts) / 2 // pure fragments, then as many mixes
				}
				return 1
			}
			ur, err := (&cli.QROut{Format: "ur"}).Parts(cli.PSBTMessage(reply))
			if err != nil {
				b.Fatal(err)
			}
			bb, err := (&cli.QROut{Format: "bbqr"}).Parts(cli.PSBTMessage(reply))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(len(reply)), "reply-bytes")
			b.ReportMetric(float64(urFrames(ur)), "ur-frames")
			b.ReportMetric(float64(len(bb)), "bbqr-frames")

			fp, err := f.ks[0].Fingerprint()
			if err != nil {
				b.Fatal(err)
			}
			compact, err := signer.CompactReply(reply, fp)
			if err != nil {
				b.Fatal(err)
			}
			msg := cli.SigReplyMessage(compact)
			cur, err := (&cli.QROut{Format: "ur"}).StillParts(msg)
			if err != nil {
				b.Fatal(err)
			}
			cbb, err := (&cli.QROut{Format: "bbqr"}).StillParts(msg)
			if err != nil {
				b.Fatal(err)
			}
			if n <= 10 && len(cbb) != 1 {
				b.Errorf("compact reply to %d inputs: %d BBQr codes, want 1", n, len(cbb))
			}
			v, err := airgap.QRVersion(cbb[0], airgap.ECCLow)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(len(compact)), "compact-bytes")
			b.ReportMetric(float64(urFrames(cur)), "compact-ur-frames")
			b.ReportMetric(float64(len(cbb)), "compact-bbqr-frames")
			b.ReportMetric(float64(v), "compact-bbqr-version")
		})
	}
}

// TestPrederive checks that the derivations the signer makes together
// before checking a large PSBT's inputs are, each, what the wallet's own
// Derive gives, and that every input finds its own among them, with any
// number of workers.
func TestPrederive(t *testing.T) {
	for _, st := range []wallet.ScriptType{wallet.P2WSH, wallet.P2TR} {
		f := newFixture(t, st, 2, 3, 150)
		p := f.build()
		for _, w := range []int{1, 2, 8} {
			hits, err := f.ks[0].CheckPrederived(p, w)
			if err != nil {
				t.Fatal(err)
			}
			if hits != len(p.Inputs) {
				t.Errorf("%v, %d workers: %d of %d inputs prederived", st, w, hits, len(p.Inputs))
			}
		}
		if _, _, err := f.sign(p, signer.Options{}); err != nil {
			t.Errorf("%v: %v", st, err)
		}
	}
}
