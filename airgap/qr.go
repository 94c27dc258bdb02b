package airgap

import (
	"sync"

	"github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// ECCLevel is a QR code error-correction level.
//
// The default, ECCLow (L, about 7% of codewords recoverable), is the right
// choice for codes shown on a screen and read by a laptop webcam: such
// cameras are 720p, fixed-focus and resolution-limited, so what matters is
// the size of a module on the sensor. At L a ~460-character part fits a
// version 11 symbol (61 modules) where M needs version 13 (69 modules),
// i.e. 13% bigger modules for the same window. Screens do not smudge or
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
