package airgap

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/skip2/go-qrcode"
)

// ECCLevel is a QR code error-correction level.
//
// The default, ECCLow (L, about 7% of codewords recoverable), is the right
// choice for codes shown on a screen and read by a laptop webcam: such
// cameras are 720p, fixed-focus and resolution-limited, so what matters is
// the size of a module on the sensor. At L an 850-character part fits a
// version 16 symbol (81 modules) where M needs version 19 (93 modules),
// i.e. 15% bigger modules for the same window (see the measurements at
// DefaultFPS). Screens do not smudge or
// tear like paper, and a frame that does not decode is simply skipped:
// UR's fountain code and BBQr's looping recover it. The BBQr
// specification recommends L for the same reasons.
type ECCLevel int

const (
	ECCLow      ECCLevel = iota // L, ~7% recovery (default)
	ECCMedium                   // M, ~15%
	ECCQuartile                 // Q, ~25%
	ECCHigh                     // H, ~30%
)

func (l ECCLevel) zxing() decoder.ErrorCorrectionLevel {
	switch l {
	case ECCMedium:
		return decoder.ErrorCorrectionLevel_M
	case ECCQuartile:
		return decoder.ErrorCorrectionLevel_Q
	case ECCHigh:
		return decoder.ErrorCorrectionLevel_H
	default:
		return decoder.ErrorCorrectionLevel_L
	}
}

var (
	alnumCapOnce sync.Once
	alnumCap     [4][41]int
)

// qrAlnumCapacity returns how many alphanumeric-mode characters fit in a
// QR code of the given version (1-40) and level, computed from the
// codeword tables of ISO/IEC 18004 (as carried by gozxing).
func qrAlnumCapacity(version int, level ECCLevel) int {
	alnumCapOnce.Do(func() {
		for l := ECCLow; l <= ECCHigh; l++ {
			for v := 1; v <= 40; v++ {
				ver, err := decoder.Version_GetVersionForNumber(v)
				if err != nil {
					panic(err)
				}
				dataBits := 8 * (ver.GetTotalCodewords() - ver.GetECBlocksForLevel(l.zxing()).GetTotalECCodewords())
				countBits := 9
				switch {
				case v >= 27:
					countBits = 13
				case v >= 10:
					countBits = 11
				}
				avail := dataBits - 4 - countBits
				c := avail / 11 * 2
				if avail%11 >= 6 {
					c++
				}
				alnumCap[l][v] = c
			}
		}
	})
	if version < 1 || version > 40 || level < ECCLow || level > ECCHigh {
		return 0
	}
	return alnumCap[level][version]
}

// Rendering defaults.
//
// The QR defaults (DefaultURMaxFragment, DefaultBBQrMaxVersion, level L,
// DefaultFPS) come from BenchmarkCameraDecode, which films each frame the
// way kinko draws it with a simulated 1280x720 webcam (the code covering
// half the frame height, up to 5 degrees of rotation and 5% of
// perspective, 1 px of blur, sensor noise, JPEG at quality 70) and reads
// it with ScanImage. At level L it read 100% of 200 frames at version
// 12, 99.0% at 14 and 99.5% at 16; past 16, with modules under 4 sensor
// pixels, the share falls (24 frames each: 96% at 17, 92% at 18, 88% at
// 20, 67% at 22, 50% at 26). Levels M and Q read a few more frames at a
// given version but hold 23% and 45% less, and the larger versions they
// need to carry as much read worse (M at 20, 970 characters: 75%; Q at
// 20, 702 characters: 83%). So:
// level L, version 16 at most (854 characters), and the fastest rate a
// screen and a webcam keep up with reliably.
const (
	// DefaultFPS is the default animation rate: 10 frames per second, a
	// rate every screen shows and a 30 fps webcam sustains with three
	// exposures of each frame (frames it still misses are modelled as
	// 10% lost at random in BenchmarkQRTransfer). At this rate a
	// 100-input 2-of-3 PSBT crosses as BBQr in 8.3 s on average, as UR
	// in 16 s.
	DefaultFPS = 10
	// DefaultModuleSize is the default size of a QR module in pixels for
	// PNG and GIF output: a version 16 code (89 modules with the quiet
	// zone) becomes 712x712 pixels.
	DefaultModuleSize = 8
)

// MaxStillQRVersion is the largest QR version (at level L) for a still
// code: one code shown until it is read, such as kinko-signer's compact
// reply (SigReply), rather than the frames of an animation. A missed
// frame of an animation costs a whole cycle, hence the 99% rule above;
// a still code is filmed continuously, so the camera only has to read
// one of the frames it takes. BenchmarkStillDecode, 200 simulated webcam
// frames each (PNG, level L): 99% at version 16, 94% at 17, 89% at 18,
// 86% at 19, 79.5% at 20, 75.5% at 21, 61% at 22 (400 frames: 86.5% at
// 19, 79.25% at 20). At 86% a code reads in the first frame 86 times in
// 100 and within two 98 times, a fraction of a second at a webcam's
// 30 fps; version 20 already misses one frame in five. Version 19 holds
// 1153 alphanumeric characters: 1145 after a BBQr header, 715 bytes in
// base32.
const MaxStillQRVersion = 19

// QRVersion returns the QR version (1-40) a single code of text needs at
// level l, as RenderPNGs and RenderGIF draw it.
func QRVersion(text string, l ECCLevel) (int, error) {
	q, err := qrcode.New(qrText(text), l.qrcode())
	if err != nil {
		return 0, fmt.Errorf("airgap: %w", err)
	}
	return q.VersionNumber, nil
}

// QROptions tunes RenderPNGs and RenderGIF. The zero value selects the
// defaults.
type QROptions struct {
	Level      ECCLevel // error-correction level (default ECCLow, see ECCLevel)
	ModuleSize int      // pixels per module (default DefaultModuleSize)
	FPS        float64  // GIF frames per second (default DefaultFPS)
}

func (o QROptions) withDefaults() QROptions {
	if o.ModuleSize <= 0 {
		o.ModuleSize = DefaultModuleSize
	}
	if o.FPS <= 0 {
		o.FPS = DefaultFPS
	}
	return o
}

func (l ECCLevel) qrcode() qrcode.RecoveryLevel {
	switch l {
	case ECCMedium:
		return qrcode.Medium
	case ECCQuartile:
		return qrcode.High
	case ECCHigh:
		return qrcode.Highest
	default:
		return qrcode.Low
	}
}

// qrText prepares a part for encoding: UR parts are upper-cased so the QR
// code uses the alphanumeric mode (URs are case-insensitive).
func qrText(part string) string {
	if hasPrefixFold([]byte(part), "ur:") {
		return strings.ToUpper(part)
	}
	return part
}

// qrBitmaps encodes every part at one common QR version (the largest any
// part needs) so that an animation does not change size or density from
// frame to frame. Bitmaps include the 4-module quiet zone.
func qrBitmaps(parts []string, level ECCLevel) ([][][]bool, error) {
	if len(parts) == 0 {
		return nil, errNoParts
	}
	version := 0
	for i, p := range parts {
		q, err := qrcode.New(qrText(p), level.qrcode())
		if err != nil {
			return nil, fmt.Errorf("airgap: part %d: %w", i, err)
		}
		version = max(version, q.VersionNumber)
	}
	out := make([][][]bool, len(parts))
	for i, p := range parts {
		q, err := qrcode.NewWithForcedVersion(qrText(p), version, level.qrcode())
		if err != nil {
			return nil, fmt.Errorf("airgap: part %d: %w", i, err)
		}
		out[i] = q.Bitmap()
	}
	return out, nil
}

var qrPalette = color.Palette{color.White, color.Black}

func bitmapImage(bm [][]bool, module int) *image.Paletted {
	n := len(bm)
	img := image.NewPaletted(image.Rect(0, 0, n*module, n*module), qrPalette)
	for y, row := range bm {
		for x, dark := range row {
			if !dark {
				continue
			}
			for dy := range module {
				off := (y*module+dy)*img.Stride + x*module
				for dx := range module {
					img.Pix[off+dx] = 1
				}
			}
		}
	}
	return img
}

// RenderPNGs writes one PNG per part into dir (created if missing), named
// qr-0001.png, qr-0002.png, ..., and returns their paths. All codes share
// one QR version.
func RenderPNGs(parts []string, dir string, opts QROptions) ([]string, error) {
	opts = opts.withDefaults()
	bms, err := qrBitmaps(parts, opts.Level)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	paths := make([]string, len(bms))
	for i, bm := range bms {
		var buf bytes.Buffer
		if err := png.Encode(&buf, bitmapImage(bm, opts.ModuleSize)); err != nil {
			return nil, err
		}
		paths[i] = filepath.Join(dir, fmt.Sprintf("qr-%04d.png", i+1))
		if err := os.WriteFile(paths[i], buf.Bytes(), 0o644); err != nil {
			return nil, err
		}
	}
	return paths, nil
}

// RenderGIF writes an endlessly looping animated GIF with one frame per
// part, shown for 1/opts.FPS seconds each (GIF delays are in hundredths
// of a second, so rates above 50 fps are clamped).
func RenderGIF(parts []string, w io.Writer, opts QROptions) error {
	opts = opts.withDefaults()
	bms, err := qrBitmaps(parts, opts.Level)
	if err != nil {
		return err
	}
	delay := max(2, int(math.Round(100/opts.FPS)))
	g := &gif.GIF{LoopCount: 0}
	for _, bm := range bms {
		g.Image = append(g.Image, bitmapImage(bm, opts.ModuleSize))
		g.Delay = append(g.Delay, delay)
	}
	return gif.EncodeAll(w, g)
}
