package airgap

import (
	"bytes"
	"compress/flate"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// BBQr (Coinkite, https://github.com/coinkite/BBQr, BBQr.md) splits a file
// into QR codes whose text is "B$" + encoding + file type + two base-36
// digits of part count + two of part index + data, all in the QR
// alphanumeric character set.

// BBQr file types.
const (
	BBQrPSBT        byte = 'P'
	BBQrTransaction byte = 'T'
	BBQrJSON        byte = 'J'
	BBQrCBOR        byte = 'C'
	BBQrText        byte = 'U' // UTF-8 text
	BBQrBinary      byte = 'B'
	BBQrExecutable  byte = 'X'
)

// BBQr data encodings.
const (
	BBQrHex    byte = 'H'
	BBQrBase32 byte = '2'
	BBQrZlib   byte = 'Z' // raw DEFLATE, 1 KiB window (zlib wbits=-10), then base32
)

const (
	bbqrHeaderLen = 8
	bbqrMaxParts  = 1295 // "ZZ" in base 36
	// bbqrMaxPartLen bounds one scanned part: a version 40 QR code holds
	// 4296 alphanumeric characters.
	bbqrMaxPartLen = 8192
)

// Default QR versions considered by EncodeBBQr. Version 16 (81x81
// modules, 854 alphanumeric characters at level L, 528 bytes of
// compressed payload) is the largest a simulated 720p webcam read in at
// least 99% of frames (see DefaultFPS), and the density of a default UR
// part; the spec's reference splitter defaults to versions 5 to 40,
// which favours phone cameras.
const (
	DefaultBBQrMinVersion = 5
	DefaultBBQrMaxVersion = 16
)

// BBQrOptions tunes EncodeBBQr. The zero value selects the defaults.
type BBQrOptions struct {
	// Encoding is BBQrHex, BBQrBase32 or BBQrZlib; 0 means BBQrZlib.
	// BBQrZlib falls back to BBQrBase32 when compression does not make
	// the data smaller, as the specification asks.
	Encoding byte
	// MinVersion and MaxVersion bound the QR versions considered
	// (defaults DefaultBBQrMinVersion and DefaultBBQrMaxVersion).
	MinVersion, MaxVersion int
	// MinSplit and MaxSplit bound the number of parts (defaults 1, 1295).
	MinSplit, MaxSplit int
	// Level is the error-correction level the parts will be rendered at;
	// it determines the QR capacity (default ECCLow, as the spec assumes).
	Level ECCLevel
}

var bbqrBase32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func isBBQrFileType(c byte) bool { return strings.IndexByte("PTJCUBX", c) >= 0 }

func base36(n int) string {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	return string([]byte{digits[n/36], digits[n%36]})
}

func parseBase36(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			n = n*36 + int(c-'0')
		case 'A' <= c && c <= 'Z':
			n = n*36 + int(c-'A') + 10
		default:
			return 0, false
		}
	}
	return n, true
}

// EncodeBBQr splits data of the given file type into BBQr parts.
//
// Like the reference splitter it picks the fewest parts, then the lowest
// QR version, within the options' bounds. It then evens out the parts:
// every part but the last has the same length (a multiple of 2 hex or 8
// base32 characters, so each decodes to whole bytes) and the last one is
// at most that long, instead of leaving a small runt.
func EncodeBBQr(data []byte, fileType byte, opts BBQrOptions) ([]string, error) {
	if !isBBQrFileType(fileType) {
		return nil, fmt.Errorf("airgap: invalid bbqr file type %s", quoteShort(string(fileType)))
	}
	if len(data) == 0 {
		return nil, formatErr("bbqr", "empty data")
	}
	if len(data) > MaxPayloadSize {
		return nil, fmt.Errorf("bbqr payload of %d bytes: %w", len(data), ErrTooLarge)
	}
	if opts.MinVersion == 0 {
		opts.MinVersion = DefaultBBQrMinVersion
	}
	if opts.MaxVersion == 0 {
		opts.MaxVersion = DefaultBBQrMaxVersion
	}
	opts.MinVersion = min(opts.MinVersion, opts.MaxVersion)
	if opts.MinSplit == 0 {
		opts.MinSplit = 1
	}
	if opts.MaxSplit == 0 {
		opts.MaxSplit = bbqrMaxParts
	}
	if opts.MinVersion < 1 || opts.MaxVersion > 40 {
		return nil, fmt.Errorf("airgap: bbqr QR versions %d-%d out of range 1-40", opts.MinVersion, opts.MaxVersion)
	}
	if opts.MinSplit < 1 || opts.MaxSplit > bbqrMaxParts || opts.MinSplit > opts.MaxSplit {
		return nil, fmt.Errorf("airgap: bbqr split bounds %d-%d out of range 1-%d", opts.MinSplit, opts.MaxSplit, bbqrMaxParts)
	}

	enc := opts.Encoding
	var encoded string
	splitMod := 8
	switch enc {
	case BBQrHex:
		encoded, splitMod = strings.ToUpper(hex.EncodeToString(data)), 2
	case 0, BBQrZlib:
		enc = BBQrZlib
		z := deflateRaw(data)
		if len(z) >= len(data) {
			enc, z = BBQrBase32, data
		}
		encoded = bbqrBase32.EncodeToString(z)
	case BBQrBase32:
		encoded = bbqrBase32.EncodeToString(data)
	default:
		return nil, fmt.Errorf("airgap: invalid bbqr encoding %s", quoteShort(string(enc)))
	}

	count, perEach := 0, 0
	for v := opts.MinVersion; v <= opts.MaxVersion; v++ {
		c, pe := bbqrPartsNeeded(qrAlnumCapacity(v, opts.Level)-bbqrHeaderLen, len(encoded), splitMod)
		if c < opts.MinSplit || c > opts.MaxSplit {
			continue
		}
		if count == 0 || c < count {
			count, perEach = c, pe
		}
	}
	if count == 0 {
		return nil, fmt.Errorf("bbqr: %d characters do not fit in %d-%d parts of QR versions %d-%d: %w",
			len(encoded), opts.MinSplit, opts.MaxSplit, opts.MinVersion, opts.MaxVersion, ErrTooLarge)
	}
	if count > 1 {
		// Even out: ceil(len/count) rounded up to splitMod, when it fits.
		even := (len(encoded) + count - 1) / count
		even = (even + splitMod - 1) / splitMod * splitMod
		if even <= perEach {
			perEach = even
			count = (len(encoded) + perEach - 1) / perEach
		}
	}
	hdr := "B$" + string(enc) + string(fileType) + base36(count)
	parts := make([]string, 0, count)
	for i := 0; i < count; i++ {
		chunk := encoded[i*perEach : min((i+1)*perEach, len(encoded))]
		parts = append(parts, hdr+base36(i)+chunk)
	}
	return parts, nil
}

// bbqrPartsNeeded is the reference num_qr_needed: the number of QR codes
// of capacity c characters (after the header) needed for n characters when
// non-final parts must be multiples of mod, and their length.
func bbqrPartsNeeded(c, n, mod int) (count, perEach int) {
	if c <= 0 {
		return 0, 0
	}
	c2 := c - c%mod
	if n <= c {
		return 1, n
	}
	if c2 == 0 {
		return 0, 0
	}
	need := (n + c2 - 1) / c2
	if (need-1)*c2+c < n {
		need++
	}
	return need, c2
}

// BBQrDecoder joins BBQr parts received in any order; duplicates are
// harmless. It is not safe for concurrent use.
type BBQrDecoder struct {
	header   string // first 6 characters, shared by all parts
	parts    []string
	received int
	done     bool
	fileType byte
	data     []byte
	err      error
}

// NewBBQrDecoder returns an empty decoder.
func NewBBQrDecoder() *BBQrDecoder { return &BBQrDecoder{} }

// Receive feeds one part (surrounding white space ignored; letters are
// upper-cased since every valid BBQr character is uppercase). It returns a
// *FormatError for malformed parts and ErrMismatch for a part whose header
// (encoding, file type, count) differs from the first part's, or that
// contradicts an earlier part with the same index. Bad parts are dropped
// and the decoder stays usable; parts after Done are ignored.
func (d *BBQrDecoder) Receive(part string) error {
	if d.done {
		return nil
	}
	part = strings.TrimSpace(part)
	if len(part) > bbqrMaxPartLen {
		return fmt.Errorf("bbqr part of %d characters: %w", len(part), ErrTooLarge)
	}
	part = strings.ToUpper(part)
	if len(part) < bbqrHeaderLen || part[:2] != "B$" {
		return formatErr("bbqr", "missing B$ header")
	}
	enc, ft := part[2], part[3]
	if enc != BBQrHex && enc != BBQrBase32 && enc != BBQrZlib {
		return formatErr("bbqr", "unknown encoding "+quoteShort(string(enc)))
	}
	if !isBBQrFileType(ft) {
		return formatErr("bbqr", "unknown file type "+quoteShort(string(ft)))
	}
	total, ok1 := parseBase36(part[4:6])
	idx, ok2 := parseBase36(part[6:8])
	if !ok1 || !ok2 || total < 1 || idx >= total {
		return formatErr("bbqr", "invalid part count or index "+quoteShort(part[4:8]))
	}
	body := part[bbqrHeaderLen:]
	if err := checkBBQrBody(enc, body); err != nil {
		return err
	}
	if d.header == "" {
		d.header = part[:6]
		d.parts = make([]string, total)
	} else if part[:6] != d.header {
		return fmt.Errorf("bbqr header %s while assembling %s: %w", quoteShort(part[:6]), quoteShort(d.header), ErrMismatch)
	}
	stored := body
	if stored == "" {
		// An empty body still counts as received.
		stored = "\x00"
	}
	if prev := d.parts[idx]; prev != "" {
		if prev != stored {
			return fmt.Errorf("bbqr part %d differs from an earlier copy: %w", idx, ErrMismatch)
		}
		return nil
	}
	d.parts[idx] = stored
	d.received++
	if d.received == total {
		d.finish()
		return d.err
	}
	return nil
}

func checkBBQrBody(enc byte, body string) error {
	if enc == BBQrHex {
		if len(body)%2 != 0 {
			return formatErr("bbqr", "odd number of hex digits")
		}
		for i := 0; i < len(body); i++ {
			if c := body[i]; !('0' <= c && c <= '9' || 'A' <= c && c <= 'F') {
				return formatErr("bbqr", "invalid hex digit")
			}
		}
		return nil
	}
	switch len(body) % 8 {
	case 1, 3, 6:
		return formatErr("bbqr", "base32 part does not decode to whole bytes")
	}
	for i := 0; i < len(body); i++ {
		if c := body[i]; !('A' <= c && c <= 'Z' || '2' <= c && c <= '7') {
			return formatErr("bbqr", "invalid base32 character")
		}
	}
	return nil
}

func (d *BBQrDecoder) finish() {
	d.done = true
	enc := d.header[2]
	d.fileType = d.header[3]
	var raw []byte
	for _, p := range d.parts {
		if p == "\x00" {
			continue
		}
		var b []byte
		var err error
		if enc == BBQrHex {
			b, err = hex.DecodeString(p)
		} else {
			b, err = bbqrBase32.DecodeString(p)
		}
		if err != nil {
			d.err = formatErr("bbqr", err.Error())
			return
		}
		raw = append(raw, b...)
	}
	d.parts = nil
	if enc == BBQrZlib {
		out, err := inflateLimited(raw, MaxPayloadSize)
		if err != nil {
			d.err = err
			return
		}
		raw = out
	}
	if len(raw) == 0 {
		d.err = formatErr("bbqr", "empty payload")
		return
	}
	d.data = raw
}

// inflateLimited inflates raw DEFLATE data, failing with ErrTooLarge past
// limit bytes. compress/flate accepts any window up to 32 KiB, a superset
// of BBQr's 1 KiB.
func inflateLimited(z []byte, limit int) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(z))
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, &FormatError{Format: "bbqr", Msg: "zlib: " + err.Error()}
	}
	if len(out) > limit {
		return nil, fmt.Errorf("bbqr decompressed payload: %w", ErrTooLarge)
	}
	return out, nil
}

// Progress returns how many distinct parts arrived and how many the
// message has (0 before the first part).
func (d *BBQrDecoder) Progress() (received, total int) {
	if d.header == "" {
		return 0, 0
	}
	total, _ = parseBase36(d.header[4:6])
	return d.received, total
}

// Done reports whether every part arrived (successfully decoded or not).
func (d *BBQrDecoder) Done() bool { return d.done }

// Result returns the file type and payload once Done, ErrIncomplete before.
func (d *BBQrDecoder) Result() (fileType byte, data []byte, err error) {
	if !d.done {
		return 0, nil, ErrIncomplete
	}
	if d.err != nil {
		return d.fileType, nil, d.err
	}
	return d.fileType, bytes.Clone(d.data), nil
}

// DecodeBBQr joins a complete set of parts, in any order.
func DecodeBBQr(parts []string) (fileType byte, data []byte, err error) {
	d := NewBBQrDecoder()
	for _, p := range parts {
		if err := d.Receive(p); err != nil {
			return 0, nil, err
		}
	}
	if !d.Done() {
		got, total := d.Progress()
		return 0, nil, fmt.Errorf("bbqr: %d of %d parts: %w", got, total, ErrIncomplete)
	}
	return d.Result()
}
