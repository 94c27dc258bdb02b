package airgap

import (
	"math/rand/v2"
	"testing"
	"time"
)

// payload30K returns a ~30 KB PSBT-like payload (2-of-3 multisig, 76
// inputs) and 30 KB of random bytes behind a PSBT magic.
func payloads30K() map[string][]byte {
	r := rand.New(rand.NewPCG(51, 52))
	return map[string][]byte{
		"psbt":   fakePSBT(r, 76, 3),
		"random": append([]byte(psbtMagic), randomBytes(r, 30000-5)...),
	}
}

func qrVersionOf(part string) int {
	bms, err := qrBitmaps([]string{part}, ECCLow)
	if err != nil {
		panic(err)
	}
	return (len(bms[0]) - 8 - 17) / 4
}

// BenchmarkURFrame reports, for a 30 KB payload at default settings
// (EncodePSBTUR: 200-byte fragments, level L): payload bytes per frame,
// frames per pass, characters and QR version per frame, and decode time
// per frame (one pass of pure fragments).
func BenchmarkURFrame(b *testing.B) {
	for name, psbt := range payloads30K() {
		b.Run(name, func(b *testing.B) {
			enc, err := EncodePSBTUR(psbt)
			if err != nil {
				b.Fatal(err)
			}
			enc.SetUppercase(true)
			parts := enc.Parts(enc.SeqLen())
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				d := NewURDecoder()
				for _, p := range parts {
					if err := d.Receive(p); err != nil {
						b.Fatal(err)
					}
				}
				if !d.Done() {
					b.Fatal("incomplete")
				}
			}
			el := time.Since(start)
			b.ReportMetric(float64(len(psbt))/float64(len(parts)), "payload-B/frame")
			b.ReportMetric(float64(len(parts)), "frames")
			b.ReportMetric(float64(len(parts[0])), "chars/frame")
			b.ReportMetric(float64(qrVersionOf(parts[0])), "qr-version")
			b.ReportMetric(float64(el.Nanoseconds())/float64(b.N*len(parts)), "ns/frame")
		})
	}
}

// BenchmarkBBQrFrame is BenchmarkURFrame for EncodeBBQr's defaults (Z
// encoding with base32 fallback, QR versions 5-12, level L).
func BenchmarkBBQrFrame(b *testing.B) {
	for name, psbt := range payloads30K() {
		b.Run(name, func(b *testing.B) {
			parts, err := EncodeBBQr(psbt, BBQrPSBT, BBQrOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				d := NewBBQrDecoder()
				for _, p := range parts {
					if err := d.Receive(p); err != nil {
						b.Fatal(err)
					}
				}
				if !d.Done() {
					b.Fatal("incomplete")
				}
			}
			el := time.Since(start)
			b.ReportMetric(float64(len(psbt))/float64(len(parts)), "payload-B/frame")
			b.ReportMetric(float64(len(parts)), "frames")
			b.ReportMetric(float64(len(parts[0])), "chars/frame")
			b.ReportMetric(float64(qrVersionOf(parts[0])), "qr-version")
			b.ReportMetric(float64(el.Nanoseconds())/float64(b.N*len(parts)), "ns/frame")
		})
	}
}

// BenchmarkURLoss reports the frames shown and received per fragment to
// decode a 100-fragment UR when 10% or 30% of frames are lost.
func BenchmarkURLoss(b *testing.B) {
	r := rand.New(rand.NewPCG(53, 54))
	cbor := hundredFragmentMessage(r)
	for _, c := range []struct {
		name string
		drop float64
	}{{"drop10", 0.10}, {"drop30", 0.30}} {
		b.Run(c.name, func(b *testing.B) {
			var shown, received int
			for range b.N {
				s, rc := lossTrial(b, cbor, c.drop, r)
				shown += s
				received += rc
			}
			b.ReportMetric(float64(shown)/float64(b.N*100), "shown/fragment")
			b.ReportMetric(float64(received)/float64(b.N*100), "received/fragment")
		})
	}
}
