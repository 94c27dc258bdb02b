package airgap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	_ "image/jpeg" // register the JPEG decoder for ScanImage
	_ "image/png"  // register the PNG decoder for ScanImage
	"io"

	"github.com/makiuchi-d/gozxing"
	multiqr "github.com/makiuchi-d/gozxing/multi/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// Image decoding caps, checked from headers before pixel data is decoded.
const (
	maxImageFile   = 64 << 20  // bytes read
	maxImageSide   = 16384     // pixels per side
	maxImagePixels = 64 << 20  // pixels in one image or GIF canvas
	maxGIFPixels   = 256 << 20 // pixels over all GIF frames
	maxGIFFrames   = 10000
)

// ScanImage decodes the QR codes in a PNG, JPEG or GIF image; for a GIF
// every frame is scanned. It returns the distinct texts in the order first
// seen, or ErrNoQRCode. Decoding uses gozxing: first a multi-code search,
// then the single-code reader with PURE_BARCODE (exact for rendered
// codes), then with TRY_HARDER.
func ScanImage(r io.Reader) ([]string, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxImageFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxImageFile {
		return nil, fmt.Errorf("image larger than %d bytes: %w", maxImageFile, ErrTooLarge)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, &FormatError{Format: "image", Msg: err.Error()}
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxImageSide || cfg.Height > maxImageSide ||
		cfg.Width*cfg.Height > maxImagePixels {
		return nil, fmt.Errorf("image of %dx%d pixels: %w", cfg.Width, cfg.Height, ErrTooLarge)
	}
	var texts []string
	seen := map[string]bool{}
	add := func(img image.Image) {
		for _, s := range scanQRCodes(img) {
			if !seen[s] {
				seen[s] = true
				texts = append(texts, s)
			}
		}
	}
	if format == "gif" {
		frames, pixels, err := gifFrameStats(data)
		if err != nil {
			return nil, err
		}
		if frames > maxGIFFrames || pixels > maxGIFPixels {
			return nil, fmt.Errorf("gif of %d frames, %d pixels: %w", frames, pixels, ErrTooLarge)
		}
		g, err := gif.DecodeAll(bytes.NewReader(data))
		if err != nil {
			return nil, &FormatError{Format: "gif", Msg: err.Error()}
		}
		compositeGIF(g, add)
	} else {
		img, _, err := image.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, &FormatError{Format: format, Msg: err.Error()}
		}
		add(img)
	}
	if len(texts) == 0 {
		return nil, ErrNoQRCode
	}
	return texts, nil
}

// compositeGIF replays the frames on a canvas, honouring disposal, and
// calls f with the canvas after each frame.
func compositeGIF(g *gif.GIF, f func(image.Image)) {
	bounds := image.Rect(0, 0, g.Config.Width, g.Config.Height)
	canvas := image.NewRGBA(bounds)
	draw.Draw(canvas, bounds, image.NewUniform(color.White), image.Point{}, draw.Src)
	for i, frame := range g.Image {
		disposal := byte(0)
		if i < len(g.Disposal) {
			disposal = g.Disposal[i]
		}
		var saved *image.RGBA
		if disposal == gif.DisposalPrevious {
			saved = image.NewRGBA(bounds)
			copy(saved.Pix, canvas.Pix)
		}
		draw.Draw(canvas, frame.Bounds(), frame, frame.Bounds().Min, draw.Over)
		f(canvas)
		switch disposal {
		case gif.DisposalBackground:
			draw.Draw(canvas, frame.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
		case gif.DisposalPrevious:
			canvas = saved
		}
	}
}

// gifFrameStats walks the GIF block structure without decoding pixels and
// returns the number of frames and their total pixel count.
func gifFrameStats(b []byte) (frames, pixels int, err error) {
	bad := &FormatError{Format: "gif", Msg: "truncated or malformed block structure"}
	if len(b) < 13 {
		return 0, 0, bad
	}
	p := 13
	if b[10]&0x80 != 0 {
		p += 3 << (b[10]&7 + 1)
	}
	skipSubBlocks := func() bool {
		for p < len(b) {
			n := int(b[p])
			p++
			if n == 0 {
				return true
			}
			p += n
		}
		return false
	}
	for p < len(b) {
		switch b[p] {
		case 0x3b: // trailer
			return frames, pixels, nil
		case 0x21: // extension: label, sub-blocks
			p += 2
			if !skipSubBlocks() {
				return 0, 0, bad
			}
		case 0x2c: // image descriptor
			if p+10 > len(b) {
				return 0, 0, bad
			}
			w := int(binary.LittleEndian.Uint16(b[p+5:]))
			h := int(binary.LittleEndian.Uint16(b[p+7:]))
			packed := b[p+9]
			p += 10
			if packed&0x80 != 0 {
				p += 3 << (packed&7 + 1)
			}
			p++ // LZW minimum code size
			if !skipSubBlocks() {
				return 0, 0, bad
			}
			frames++
			pixels += w * h
			if frames > maxGIFFrames || pixels > maxGIFPixels {
				return frames, pixels, nil
			}
		default:
			return 0, 0, bad
		}
	}
	return frames, pixels, nil // no trailer: let the decoder judge
}

// maxUpscalePixels bounds the images scanQRCodes scales up for a second
// try: a 1920x1080 frame is, and the copy is at most four times that.
const maxUpscalePixels = 2_100_000

// scanQRCodes returns the texts of the QR codes found in img. When none
// is found it tries again on a copy scaled up twice (bilinear): in a
// webcam frame whose code covers half the height, a module of a version
// 16-20 code is 3 to 4 pixels wide and blurred, which gozxing's
// binarizer (8-pixel blocks) often loses, and the scaled copy reads. In
// BenchmarkCameraDecode this took version 16 at level L from about 85%
// of frames to all of them.
func scanQRCodes(img image.Image) []string {
	if out := scanQRCodesOnce(img); len(out) > 0 {
		return out
	}
	b := img.Bounds()
	if b.Dx()*b.Dy() > maxUpscalePixels {
		return nil
	}
	return scanQRCodesOnce(upscale2(img))
}

// upscale2 returns a grey copy of img twice as wide and high, bilinearly
// interpolated.
func upscale2(img image.Image) *image.Gray {
	b := img.Bounds()
	src := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(src, src.Bounds(), img, b.Min, draw.Src)
	w, h := b.Dx(), b.Dy()
	dst := image.NewGray(image.Rect(0, 0, 2*w, 2*h))
	at := func(x, y int) int { return int(src.Pix[y*src.Stride+x]) }
	// A destination pixel's centre falls a quarter of the way from one
	// source pixel centre to the next: weights in quarters.
	// taps gives, for destination coordinate i of an axis of n source
	// pixels, the two source pixels it lies between and the weight of
	// the second.
	taps := func(i, n int) (i0, i1, f int) {
		i0, i1, f = (i-1)/2, min((i+1)/2, n-1), 1
		if i%2 == 0 {
			f = 3
		}
		if i == 0 {
			i0, f = 0, 0
		}
		return i0, i1, f
	}
	for y := 0; y < 2*h; y++ {
		y0, y1, fy := taps(y, h)
		for x := 0; x < 2*w; x++ {
			x0, x1, fx := taps(x, w)
			top := at(x0, y0)*(4-fx) + at(x1, y0)*fx
			bottom := at(x0, y1)*(4-fx) + at(x1, y1)*fx
			dst.Pix[y*dst.Stride+x] = uint8((top*(4-fy) + bottom*fy + 8) / 16)
		}
	}
	return dst
}

// scanQRCodesOnce returns the texts of the QR codes gozxing finds in img.
func scanQRCodesOnce(img image.Image) []string {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return nil
	}
	var out []string
	hard := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true}
	if res, err := multiqr.NewQRCodeMultiReader().DecodeMultiple(bmp, hard); err == nil {
		for _, r := range res {
			out = append(out, r.GetText())
		}
	}
	if len(out) > 0 {
		return out
	}
	pure := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_PURE_BARCODE: true}
	for _, hints := range []map[gozxing.DecodeHintType]interface{}{pure, hard} {
		if res, err := qrcode.NewQRCodeReader().Decode(bmp, hints); err == nil {
			return []string{res.GetText()}
		}
	}
	return nil
}
