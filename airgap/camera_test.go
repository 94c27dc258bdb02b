package airgap

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/skip2/go-qrcode"
)

// The camera simulation: a QR frame drawn the way kinko shows it, filmed
// by a 1280x720 laptop webcam, then read by the same decoder kinko uses
// (ScanImage, gozxing). Only benchmarks run it: it is too slow for the
// default `go test`.
//
// What the simulated webcam does to each frame, drawn at random per
// frame within these bounds:
//   - the symbol (quiet zone excluded) covers half the frame height,
//     give or take 10%, somewhere near the middle of the frame;
//   - it is rotated by up to 5 degrees, and seen with a slight
//     perspective (one edge up to 5% shorter than the opposite one);
//   - each sensor pixel integrates its area (2x2 supersampling), then the
//     lens blurs by a Gaussian of 0.8 to 1.2 px;
//   - the screen is not paper white: light modules come out at 190-230,
//     dark ones at 25-45, with a brightness gradient across the frame;
//   - sensor noise (Gaussian, sigma 4 levels of 255) is added;
//   - the frame is stored as JPEG at quality 70, as a webcam stream is.
const (
	camWidth, camHeight = 1280, 720
	camJPEGQuality      = 70
	camMaxRotation      = 5 * math.Pi / 180
	camMaxKeystone      = 0.05
	camNoise            = 4.0
)

var cameraFrames = flag.Int("camera-frames", 24, "frames per QR version and level in BenchmarkCameraDecode")

// rendering is how kinko shows a frame: as a PNG/GIF at DefaultModuleSize
// pixels a module on a mid-grey screen, or as half-block characters on a
// black terminal (an 8x16 console font: a module is 8x8 pixels).
type rendering struct {
	name     string
	surround float64 // the screen around the code, 0 black .. 1 white
}

var renderings = []rendering{{"png", 0.5}, {"terminal", 0}}

// camFrame simulates one webcam frame of bitmap bm (quiet zone
// included) and returns it as JPEG bytes.
func camFrame(bm [][]bool, rd rendering, r *rand.Rand) []byte {
	n := float64(len(bm))
	modules := n - 8 // the symbol without its quiet zone
	// Screen to sensor, in module units (u, v from 0 to n): scale,
	// keystone, rotation, then translation.
	symbolPx := camHeight / 2 * (0.9 + 0.2*r.Float64())
	s := symbolPx / modules
	theta := (2*r.Float64() - 1) * camMaxRotation
	kx := (2*r.Float64() - 1) * camMaxKeystone / n
	ky := (2*r.Float64() - 1) * camMaxKeystone / n
	cx := camWidth/2 + (2*r.Float64()-1)*120
	cy := camHeight/2 + (2*r.Float64()-1)*50
	cos, sin := math.Cos(theta), math.Sin(theta)
	// Forward: (u, v) centred at n/2 -> w = 1 + kx*u' + ky*v';
	// x = cx + s*(cos*u' - sin*v')/w, y = cy + s*(sin*u' + cos*v')/w.
	// Inverse, solved per pixel: with X = (x-cx)/s, Y = (y-cy)/s and
	// (a, b) = R^-1 (X, Y) = (u', v')/w, so u' = a*w, v' = b*w with
	// w = 1/(1 - kx*a - ky*b).
	light := 0.75 + 0.15*r.Float64()
	dark := 0.1 + 0.08*r.Float64()
	gx, gy := (2*r.Float64()-1)*0.08, (2*r.Float64()-1)*0.08
	sample := func(x, y float64) float64 {
		X, Y := (x-cx)/s, (y-cy)/s
		a, b := cos*X+sin*Y, -sin*X+cos*Y
		w := 1 / (1 - kx*a - ky*b)
		u, v := a*w+n/2, b*w+n/2
		if u < 0 || v < 0 || u >= n || v >= n {
			return rd.surround
		}
		if bm[int(v)][int(u)] {
			return 0
		}
		return 1
	}
	img := make([]float64, camWidth*camHeight)
	for y := 0; y < camHeight; y++ {
		for x := 0; x < camWidth; x++ {
			fx, fy := float64(x), float64(y)
			v := (sample(fx+0.25, fy+0.25) + sample(fx+0.75, fy+0.25) + sample(fx+0.25, fy+0.75) + sample(fx+0.75, fy+0.75)) / 4
			g := 1 + gx*(fx/camWidth-0.5) + gy*(fy/camHeight-0.5)
			img[y*camWidth+x] = (dark + (light-dark)*v) * g
		}
	}
	img = gaussianBlur(img, camWidth, camHeight, 0.8+0.4*r.Float64())
	gray := image.NewGray(image.Rect(0, 0, camWidth, camHeight))
	for i, v := range img {
		gray.Pix[i] = uint8(math.Max(0, math.Min(255, v*255+r.NormFloat64()*camNoise)))
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, gray, &jpeg.Options{Quality: camJPEGQuality}); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// gaussianBlur blurs a w x h image with a separable Gaussian kernel.
func gaussianBlur(src []float64, w, h int, sigma float64) []float64 {
	rad := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*rad+1)
	var sum float64
	for i := range k {
		d := float64(i - rad)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	tmp := make([]float64, len(src))
	for y := 0; y < h; y++ {
		row := src[y*w : (y+1)*w]
		for x := 0; x < w; x++ {
			var acc float64
			for i, kv := range k {
				acc += kv * row[min(max(x+i-rad, 0), w-1)]
			}
			tmp[y*w+x] = acc
		}
	}
	out := make([]float64, len(src))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var acc float64
			for i, kv := range k {
				acc += kv * tmp[min(max(y+i-rad, 0), h-1)*w+x]
			}
			out[y*w+x] = acc
		}
	}
	return out
}

// alnumText is n random characters of the QR alphanumeric set that UR
// (upper-cased) and BBQr parts use.
func alnumText(r *rand.Rand, n int) string {
	const set = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, n)
	for i := range b {
		b[i] = set[r.IntN(len(set))]
	}
	return string(b)
}

// camTrial films one frame of a full version v symbol at level l and
// reports whether ScanImage read the text back.
func camTrial(v int, l ECCLevel, rd rendering, r *rand.Rand) bool {
	text := alnumText(r, qrAlnumCapacity(v, l))
	q, err := qrcode.NewWithForcedVersion(text, v, l.qrcode())
	if err != nil {
		panic(err)
	}
	frame := camFrame(q.Bitmap(), rd, r)
	got, err := ScanImage(bytes.NewReader(frame))
	return err == nil && len(got) == 1 && got[0] == text
}

// decodeShare films frames frames of version v at level l on every core
// and returns the share read.
func decodeShare(v int, l ECCLevel, rd rendering, frames int, seed uint64) float64 {
	var ok int
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r := rand.New(rand.NewPCG(seed, uint64(i)))
				if camTrial(v, l, rd, r) {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			}
		}()
	}
	for i := range frames {
		next <- i
	}
	close(next)
	wg.Wait()
	return float64(ok) / float64(frames)
}

var levelNames = map[ECCLevel]string{ECCLow: "L", ECCMedium: "M", ECCQuartile: "Q", ECCHigh: "H"}

// BenchmarkCameraDecode reports the share of simulated webcam frames
// (see camFrame) that decode, for each rendering, QR version and
// error-correction level: decoded-% at -camera-frames frames each
// (default 24; run with more to confirm a choice). The terminal only
// goes up to version 17: a larger code does not fit a 1366x768 console
// (48 rows of two modules).
//
//	go test ./airgap -run XXX -bench CameraDecode -benchtime 1x
func BenchmarkCameraDecode(b *testing.B) {
	for _, rd := range renderings {
		for _, l := range []ECCLevel{ECCLow, ECCMedium, ECCQuartile} {
			for _, v := range []int{10, 12, 14, 16, 17, 18, 20, 22, 24, 26} {
				if rd.name == "terminal" && v > 17 {
					continue
				}
				b.Run(fmt.Sprintf("%s/%s/v%d", rd.name, levelNames[l], v), func(b *testing.B) {
					var share float64
					for i := range b.N {
						share = decodeShare(v, l, rd, *cameraFrames, uint64(1000*v+int(l)*100+i))
					}
					b.ReportMetric(100*share, "decoded-%")
					b.ReportMetric(float64(qrAlnumCapacity(v, l)), "chars/frame")
				})
			}
		}
	}
}

// TestUpscale2 checks the bilinear weights of the scanner's second try:
// each destination pixel is a quarter of the way between source centres.
func TestUpscale2(t *testing.T) {
	src := image.NewGray(image.Rect(0, 0, 2, 2))
	copy(src.Pix, []uint8{0, 100, 200, 40})
	want := []uint8{
		0, 25, 75, 100,
		50, 59, 76, 85,
		150, 126, 79, 55,
		200, 160, 80, 40,
	}
	if got := upscale2(src).Pix; !bytes.Equal(got, want) {
		t.Errorf("upscale2 = %v, want %v", got, want)
	}
}

// TestCameraFrameReads films one frame of each rendering at the default
// largest version: the simulation and the scanner work together (the
// shares are measured by BenchmarkCameraDecode).
func TestCameraFrameReads(t *testing.T) {
	for _, rd := range renderings {
		r := rand.New(rand.NewPCG(3, 4))
		if !camTrial(DefaultBBQrMaxVersion, ECCLow, rd, r) {
			t.Errorf("%s: a version %d frame did not read", rd.name, DefaultBBQrMaxVersion)
		}
	}
}

// BenchmarkStillDecode reports the share of simulated webcam frames that
// decode for the versions a still code (one QR code shown until it is
// read, such as the signer's compact reply) may use, as PNG and on a
// terminal, at level L: decoded-% at -camera-frames frames each. A still code is
// filmed continuously, so a share well under the 99% the animations need
// still reads within a frame or two (see MaxStillQRVersion).
//
//	go test ./airgap -run XXX -bench StillDecode -benchtime 1x -camera-frames 200
func BenchmarkStillDecode(b *testing.B) {
	for _, rd := range renderings {
		for v := 16; v <= 22; v++ {
			if rd.name == "terminal" && v > MaxStillQRVersion {
				continue // a terminal still code stops there (TerminalRows)
			}
			b.Run(fmt.Sprintf("%s/L/v%d", rd.name, v), func(b *testing.B) {
				var share float64
				for i := range b.N {
					share = decodeShare(v, ECCLow, rd, *cameraFrames, uint64(7000+1000*v+i))
				}
				b.ReportMetric(100*share, "decoded-%")
				b.ReportMetric(float64(qrAlnumCapacity(v, ECCLow)), "chars/frame")
			})
		}
	}
}
