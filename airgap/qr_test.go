package airgap

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/gif"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestPNGRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	psbt := fakePSBT(r, 3, 2)
	enc, err := EncodePSBTUR(psbt)
	if err != nil {
		t.Fatal(err)
	}
	urParts := enc.Parts(enc.SeqLen())
	bbParts, err := EncodeBBQr(psbt, BBQrPSBT, BBQrOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name, parts := range map[string][]string{"ur": urParts, "bbqr": bbParts} {
		dir := t.TempDir()
		paths, err := RenderPNGs(parts, filepath.Join(dir, "frames"), QROptions{})
		if err != nil {
			t.Fatal(err)
		}
		c := NewCollector()
		var size image.Point
		for i, p := range paths {
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := png.DecodeConfig(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				size = image.Pt(cfg.Width, cfg.Height)
			} else if size != image.Pt(cfg.Width, cfg.Height) {
				t.Fatalf("%s: frame %d is %dx%d, frame 1 %v", name, i, cfg.Width, cfg.Height, size)
			}
			f, _ = os.Open(p)
			texts, err := ScanImage(f)
			f.Close()
			if err != nil || len(texts) != 1 {
				t.Fatalf("%s: scan %s: %v %v", name, p, texts, err)
			}
			if !strings.EqualFold(texts[0], parts[i]) {
				t.Fatalf("%s: scanned %q, rendered %q", name, texts[0], parts[i])
			}
			if err := c.Add(texts[0]); err != nil {
				t.Fatal(err)
			}
		}
		kind, got, err := c.Result()
		if err != nil || kind != KindPSBT || !bytes.Equal(got, psbt) {
			t.Fatalf("%s: result %q %v", name, kind, err)
		}
		t.Logf("%s: %d frames of %dx%d px", name, len(paths), size.X, size.Y)
	}
}

func TestGIFRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	psbt := fakePSBT(r, 4, 2)
	enc, err := EncodePSBTUR(psbt)
	if err != nil {
		t.Fatal(err)
	}
	parts := enc.Parts(enc.SeqLen() + 2)
	var buf bytes.Buffer
	if err := RenderGIF(parts, &buf, QROptions{FPS: 5, ModuleSize: 4}); err != nil {
		t.Fatal(err)
	}
	g, err := gif.DecodeAll(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Image) != len(parts) || g.Delay[0] != 20 || g.LoopCount != 0 {
		t.Fatalf("%d frames, delay %d, loop %d", len(g.Image), g.Delay[0], g.LoopCount)
	}
	if frames, pixels, err := gifFrameStats(buf.Bytes()); err != nil || frames != len(parts) || pixels != len(parts)*g.Config.Width*g.Config.Height {
		t.Fatalf("gifFrameStats: %d frames, %d pixels, %v", frames, pixels, err)
	}
	texts, err := ScanImage(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(texts) != len(parts) {
		t.Fatalf("scanned %d of %d frames", len(texts), len(parts))
	}
	d := NewURDecoder()
	for _, s := range texts {
		if err := d.Receive(s); err != nil {
			t.Fatal(err)
		}
	}
	typ, cbor, err := d.Result()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodePSBTUR(typ, cbor); err != nil || !bytes.Equal(got, psbt) {
		t.Fatalf("psbt: %v", err)
	}
	t.Logf("gif: %d frames, %d bytes", len(g.Image), buf.Len())
}

// terminalBitmap parses RenderTerminal output back into modules (true =
// dark).
func terminalBitmap(t *testing.T, out string) [][]bool {
	t.Helper()
	var bm [][]bool
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		line = strings.TrimPrefix(line, termColors)
		line = strings.TrimSuffix(line, termReset)
		var top, bottom []bool
		for _, c := range line {
			switch c {
			case '█':
				top, bottom = append(top, false), append(bottom, false)
			case '▀':
				top, bottom = append(top, false), append(bottom, true)
			case '▄':
				top, bottom = append(top, true), append(bottom, false)
			case ' ':
				top, bottom = append(top, true), append(bottom, true)
			default:
				t.Fatalf("unexpected rune %q", c)
			}
		}
		bm = append(bm, top, bottom)
	}
	return bm
}

func TestRenderTerminal(t *testing.T) {
	enc, _ := NewUREncoder(URTypeBytes, CBORByteString([]byte("terminal test payload")), 0, 0)
	part := enc.NextPart()
	var out bytes.Buffer
	if err := RenderTerminal(&out, part); err != nil {
		t.Fatal(err)
	}
	bm := terminalBitmap(t, out.String())
	want, _ := qrBitmaps([]string{part}, ECCLow)
	n := len(want[0])
	if len(bm) != n+n%2 || len(bm[0]) != n {
		t.Fatalf("terminal %dx%d, qr %d", len(bm[0]), len(bm), n)
	}
	for y := range n {
		for x := range n {
			if bm[y][x] != want[0][y][x] {
				t.Fatalf("module (%d,%d) differs", x, y)
			}
		}
	}
	// What the terminal shows scans back.
	var img bytes.Buffer
	png.Encode(&img, bitmapImage(bm[:n], 4))
	texts, err := ScanImage(&img)
	if err != nil || len(texts) != 1 || !strings.EqualFold(texts[0], part) {
		t.Fatalf("scan: %v %v", texts, err)
	}
	t.Logf("terminal: %d columns x %d rows for %d characters", n, (n+1)/2, len(part))
	v, err := QRVersion(part, ECCLow)
	if err != nil {
		t.Fatal(err)
	}
	if rows := strings.Count(out.String(), "\n"); rows != TerminalRows(v) {
		t.Errorf("version %d: %d rows drawn, TerminalRows says %d", v, rows, TerminalRows(v))
	}
}

func TestAnimate(t *testing.T) {
	enc, _ := NewUREncoder(URTypeBytes, CBORByteString(bytes.Repeat([]byte("x"), 300)), 60, 10)
	parts := enc.Parts(enc.SeqLen())
	ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel()
	var out bytes.Buffer
	err := Animate(ctx, &out, parts, 20)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	s := out.String()
	frames := strings.Count(s, "\x1b[H")
	if frames < 2 || !strings.HasPrefix(s, "\x1b[2J\x1b[?25l") || !strings.HasSuffix(s, "\x1b[?25h") {
		t.Fatalf("%d frames, prefix %q suffix %q", frames, s[:10], s[len(s)-10:])
	}
	// Every frame has the same size, so redrawing in place is exact.
	chunks := strings.Split(strings.TrimSuffix(strings.TrimPrefix(s, "\x1b[2J\x1b[?25l"), termReset+"\x1b[?25h"), "\x1b[H")[1:]
	for i, c := range chunks {
		if strings.Count(c, "\n") != strings.Count(chunks[0], "\n") || utf8.RuneCountInString(c) != utf8.RuneCountInString(chunks[0]) {
			t.Fatalf("frame %d differs in size", i)
		}
	}
}

func TestScanImageRejects(t *testing.T) {
	if _, err := ScanImage(strings.NewReader("not an image")); err == nil {
		t.Error("accepted garbage")
	}
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 50, 50)))
	if _, err := ScanImage(&buf); !errors.Is(err, ErrNoQRCode) {
		t.Errorf("blank image: %v", err)
	}
	// A PNG header declaring 20000x20000 is refused before decoding.
	buf.Reset()
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1)))
	b := buf.Bytes()
	b[16], b[17], b[18], b[19] = 0, 0, 0x4e, 0x20
	b[20], b[21], b[22], b[23] = 0, 0, 0x4e, 0x20
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	if _, err := ScanImage(bytes.NewReader(b)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge png: %v", err)
	}
}
