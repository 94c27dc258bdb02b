package airgap

import (
	"bytes"
	"context"
	"io"
	"time"
)

// Terminal output draws two module rows per text row with the half-block
// characters ▀ ▄ █ and space, which the Linux text console's default font
// has. Light modules are drawn in the foreground colour, which is forced to
// bright white on black with ANSI codes so the code is dark-on-light
// whatever the terminal theme. A version 16 code, the largest the
// defaults make (89x89 modules with its quiet zone), takes 89 columns
// and 45 rows: it fits a 1366x768 laptop console (170x48 with an 8x16
// font).
const (
	termColors = "\x1b[1;37;40m"
	termReset  = "\x1b[0m"
)

// MaxTerminalQRVersion is the largest QR version a still code drawn on
// a terminal of unknown height may use: version 17 (93x93 modules with
// its quiet zone, 47 rows) is the largest that fits a 1366x768 laptop
// console (48 rows of an 8x16 font), and the simulated webcam reads
// 92.5% of its frames (BenchmarkCameraDecode, terminal, L, 200 frames).
// A terminal known to be taller (TerminalRows) may show up to
// MaxStillQRVersion, whose version 19 needs 51 rows; drawn there, the
// webcam read 93.5% of version 18's frames and 90.5% of version 19's
// (BenchmarkStillDecode, terminal, 200 frames each).
const MaxTerminalQRVersion = 17

// TerminalRows is how many text rows a code of the given version takes
// on a terminal: two modules a row, quiet zone included.
func TerminalRows(version int) int { return (17 + 4*version + 2*4 + 1) / 2 }

// terminalFrame renders a bitmap (quiet zone included) as text lines.
func terminalFrame(bm [][]bool) []byte {
	var b bytes.Buffer
	n := len(bm)
	light := func(y, x int) bool { return y >= n || !bm[y][x] }
	for y := 0; y < n; y += 2 {
		b.WriteString(termColors)
		for x := 0; x < n; x++ {
			top, bottom := light(y, x), light(y+1, x)
			switch {
			case top && bottom:
				b.WriteString("█")
			case top:
				b.WriteString("▀")
			case bottom:
				b.WriteString("▄")
			default:
				b.WriteByte(' ')
			}
		}
		b.WriteString(termReset + "\n")
	}
	return b.Bytes()
}

// RenderTerminal draws one QR code (error-correction level L) to w with
// half-block characters, quiet zone included.
func RenderTerminal(w io.Writer, part string) error {
	bms, err := qrBitmaps([]string{part}, ECCLow)
	if err != nil {
		return err
	}
	_, err = w.Write(terminalFrame(bms[0]))
	return err
}

// Animate cycles through parts on a terminal at fps frames per second
// (DefaultFPS if fps <= 0), redrawing in place from the top-left corner,
// until ctx is done; it then restores the cursor and returns ctx.Err().
// All frames share one QR version so they overwrite each other exactly.
func Animate(ctx context.Context, w io.Writer, parts []string, fps float64) error {
	if fps <= 0 {
		fps = DefaultFPS
	}
	bms, err := qrBitmaps(parts, ECCLow)
	if err != nil {
		return err
	}
	frames := make([][]byte, len(bms))
	for i, bm := range bms {
		frames[i] = append([]byte("\x1b[H"), terminalFrame(bm)...)
	}
	// Clear the screen and hide the cursor; restore it on exit.
	if _, err := io.WriteString(w, "\x1b[2J\x1b[?25l"); err != nil {
		return err
	}
	defer io.WriteString(w, termReset+"\x1b[?25h")
	tick := time.NewTicker(time.Duration(float64(time.Second) / fps))
	defer tick.Stop()
	for i := 0; ; i = (i + 1) % len(frames) {
		if _, err := w.Write(frames[i]); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
