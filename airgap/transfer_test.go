package airgap_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/kinko-project/kinko/airgap"
	"github.com/kinko-project/kinko/internal/cli"
)

// transferLoss is the share of frames the camera misses in
// BenchmarkQRTransfer.
const transferLoss = 0.10

// showUntilRead plays parts in a loop, as kinko's GIF and terminal
// animations do, dropping each frame with probability loss, and returns
// how many frames were shown until the collector had the whole message.
func showUntilRead(tb testing.TB, parts []string, loss float64, r *rand.Rand) int {
	c := airgap.NewCollector()
	for shown := 1; ; shown++ {
		if shown > 50*len(parts)+100 {
			tb.Fatalf("no result after %d frames", shown)
		}
		p := parts[(shown-1)%len(parts)]
		if r.Float64() < loss {
			continue
		}
		if err := c.Add(p); err != nil {
			tb.Fatal(err)
		}
		if c.Done() {
			return shown
		}
	}
}

// BenchmarkQRTransfer reports, for 2-of-3 P2WSH PSBTs of 10, 100 and 950
// inputs sent as kinko sends them (the parts of `--qr`, at the default
// fragment size, BBQr versions and frame rate), the frames in one pass
// and, with 10% of frames lost at random, the frames shown until the
// receiver has the PSBT and the seconds that takes at DefaultFPS (mean
// and 95th percentile over the trials). The README's table comes from
// here.
//
//	go test ./airgap -run XXX -bench QRTransfer -benchtime 1x
func BenchmarkQRTransfer(b *testing.B) {
	const trials = 200
	for _, c := range []struct {
		n        int
		payments bool
	}{{10, false}, {100, false}, {950, false}, {100, true}} {
		n := c.n
		p := multisigPSBTFrom(b, n, c.payments)
		name := fmt.Sprintf("%d-inputs", n)
		if c.payments {
			name += "-from-payments"
		}
		for _, format := range []string{"ur", "bbqr", "auto"} {
			b.Run(name+"/"+format, func(b *testing.B) {
				q := cli.QROut{Format: format}
				parts, err := q.Parts(cli.PSBTMessage(p))
				if err != nil {
					b.Fatal(err)
				}
				pass := len(parts)
				if q.Sent() == "ur" {
					pass /= 2 // Parts gives each fragment twice: pure, then mixed
				}
				r := rand.New(rand.NewPCG(uint64(n), 7))
				var mean, p95 float64
				for range b.N {
					shown := make([]int, trials)
					total := 0
					for k := range shown {
						shown[k] = showUntilRead(b, parts, transferLoss, r)
						total += shown[k]
					}
					mean = float64(total) / trials
					p95 = float64(percentile(shown, 0.95))
				}
				b.ReportMetric(float64(len(p)), "psbt-bytes")
				b.ReportMetric(float64(pass), "frames/pass")
				b.ReportMetric(float64(len(parts[0])), "chars/frame")
				b.ReportMetric(mean, "frames")
				b.ReportMetric(mean/airgap.DefaultFPS, "s")
				b.ReportMetric(p95/airgap.DefaultFPS, "s-p95")
			})
		}
	}
}

func percentile(xs []int, q float64) int {
	s := append([]int(nil), xs...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[min(len(s)-1, int(q*float64(len(s))))]
}
