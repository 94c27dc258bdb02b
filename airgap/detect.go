package airgap

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Payload kinds reported by DecodeBytes and Collector. A UR of a type
// other than crypto-psbt/psbt and kinko-sigreply is reported as "ur:" +
// its type, with its CBOR body as payload (for example "ur:crypto-output").
const (
	KindPSBT        = "psbt"
	KindTransaction = "transaction" // BBQr T
	KindJSON        = "json"        // BBQr J
	KindCBOR        = "cbor"        // BBQr C
	KindText        = "text"        // BBQr U
	KindBinary      = "binary"      // BBQr B
	KindExecutable  = "executable"  // BBQr X
)

// KindSigReply is a SigReply: raw, as BBQr type C, or ur:kinko-sigreply.
// The payload is its CBOR.
const KindSigReply = "kinko signature reply"

// maxCollectorLine bounds one line read by Collector.ReadFrom. A QR code
// holds at most 7089 characters; the slack covers pasted single blobs.
const maxCollectorLine = 1 << 20

// DecodeBytes recognises a single blob, such as a file from a USB stick or
// pasted text: a binary PSBT (magic "psbt\xff"), a SigReply (its CBOR,
// KindSigReply; checked by DecodeSigReply, not here), a hex or base64 PSBT
// (white space ignored), a PSBT or transaction as Electrum's base43 QR
// text, a single-part UR or BBQr, or several UR or BBQr parts one per
// line. It returns the payload kind (KindPSBT, ...) and the
// payload. Sizes are checked before anything proportional is allocated.
func DecodeBytes(b []byte) (kind string, payload []byte, err error) {
	if len(b) > maxTextInput {
		return "", nil, fmt.Errorf("input of %d bytes: %w", len(b), ErrTooLarge)
	}
	if bytes.HasPrefix(b, []byte(psbtMagic)) {
		if len(b) > MaxPayloadSize {
			return "", nil, fmt.Errorf("psbt of %d bytes: %w", len(b), ErrTooLarge)
		}
		return KindPSBT, bytes.Clone(b), nil
	}
	if IsSigReply(b) {
		return KindSigReply, bytes.Clone(b), nil
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "", nil, fmt.Errorf("empty input: %w", ErrUnknownFormat)
	}
	if hasPrefixFold(b, "ur:") || bytes.HasPrefix(b, []byte("B$")) || bytes.HasPrefix(b, []byte("b$")) {
		c := NewCollector()
		for _, line := range bytes.Split(b, []byte("\n")) {
			if err := c.Add(string(line)); err != nil {
				return "", nil, err
			}
		}
		if !c.Done() {
			return "", nil, fmt.Errorf("%s: %w", c.Status(), ErrIncomplete)
		}
		return c.Result()
	}
	compact := bytes.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, b)
	switch {
	case hasPrefixFold(compact, "70736274ff"):
		if len(compact)/2 > MaxPayloadSize {
			return "", nil, fmt.Errorf("hex psbt: %w", ErrTooLarge)
		}
		out := make([]byte, hex.DecodedLen(len(compact)))
		if _, err := hex.Decode(out, compact); err != nil {
			return "", nil, &FormatError{Format: "hex", Msg: err.Error()}
		}
		return KindPSBT, out, nil
	case isBase64PSBT(compact):
		enc := base64.StdEncoding
		if len(compact)%4 != 0 {
			enc = base64.RawStdEncoding
		}
		if enc.DecodedLen(len(compact)) > MaxPayloadSize {
			return "", nil, fmt.Errorf("base64 psbt: %w", ErrTooLarge)
		}
		out := make([]byte, enc.DecodedLen(len(compact)))
		n, err := enc.Decode(out, compact)
		if err != nil {
			return "", nil, &FormatError{Format: "base64", Msg: err.Error()}
		}
		return KindPSBT, out[:n], nil
	}
	return decodeBase43Payload(compact) // Electrum's QR text (base43.go)
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && strings.EqualFold(string(b[:len(prefix)]), prefix)
}

// Collector assembles a payload from QR part strings fed one per line, as
// a USB QR scanner in keyboard mode or `zbarcam --raw` produces them. The
// first part decides between UR ("ur:...") and BBQr ("B$..."); a line that
// is neither is decoded on its own with DecodeBytes (a plain hex or
// base64 PSBT QR code). It is not safe for concurrent use.
type Collector struct {
	ur      *URDecoder
	bbqr    *BBQrDecoder
	done    bool
	kind    string
	payload []byte
	err     error
}

// NewCollector returns an empty collector.
func NewCollector() *Collector { return &Collector{} }

// Add feeds one line. Blank lines and lines after completion are ignored.
// Errors describe the rejected line (malformed, corrupted, from another
// message: see URDecoder.Receive and BBQrDecoder.Receive); the collector
// stays usable, so callers reading a scanner may log them and go on.
func (c *Collector) Add(line string) error {
	line = strings.TrimSpace(line)
	if line == "" || c.done {
		return nil
	}
	if len(line) > maxTextInput {
		return fmt.Errorf("line of %d bytes: %w", len(line), ErrTooLarge)
	}
	switch {
	case hasPrefixFold([]byte(line), "ur:"):
		if c.bbqr != nil {
			return fmt.Errorf("ur part while assembling bbqr: %w", ErrMismatch)
		}
		if c.ur == nil {
			c.ur = NewURDecoder()
		}
		err := c.ur.Receive(line)
		if c.ur.Done() && !c.done {
			c.finishUR()
			if err == nil {
				err = c.err
			}
		}
		return err
	case hasPrefixFold([]byte(line), "b$"):
		if c.ur != nil {
			return fmt.Errorf("bbqr part while assembling ur: %w", ErrMismatch)
		}
		if c.bbqr == nil {
			c.bbqr = NewBBQrDecoder()
		}
		err := c.bbqr.Receive(line)
		if c.bbqr.Done() && !c.done {
			c.finishBBQr()
			if err == nil {
				err = c.err
			}
		}
		return err
	}
	if c.ur != nil || c.bbqr != nil {
		return fmt.Errorf("non-multipart line while assembling parts: %w", ErrMismatch)
	}
	kind, payload, err := DecodeBytes([]byte(line))
	if err != nil {
		return err
	}
	c.done, c.kind, c.payload = true, kind, payload
	return nil
}

func (c *Collector) finishUR() {
	c.done = true
	typ, cbor, err := c.ur.Result()
	if err != nil {
		c.err = err
		return
	}
	if typ == URTypeCryptoPSBT || typ == URTypePSBT {
		c.payload, c.err = DecodePSBTUR(typ, cbor)
		c.kind = KindPSBT
		return
	}
	if typ == URTypeSigReply {
		c.kind, c.payload = KindSigReply, cbor
		return
	}
	c.kind, c.payload = "ur:"+typ, cbor
}

func (c *Collector) finishBBQr() {
	c.done = true
	ft, data, err := c.bbqr.Result()
	if err != nil {
		c.err = err
		return
	}
	switch ft {
	case BBQrPSBT:
		if !bytes.HasPrefix(data, []byte(psbtMagic)) {
			c.err = formatErr("psbt", "bbqr file type P without psbt magic")
			return
		}
		c.kind = KindPSBT
	case BBQrTransaction:
		c.kind = KindTransaction
	case BBQrJSON:
		c.kind = KindJSON
	case BBQrCBOR:
		c.kind = KindCBOR
		if IsSigReply(data) {
			c.kind = KindSigReply
		}
	case BBQrText:
		c.kind = KindText
	case BBQrExecutable:
		c.kind = KindExecutable
	default:
		c.kind = KindBinary
	}
	c.payload = data
}

// Done reports whether the payload is complete (successfully or not).
func (c *Collector) Done() bool { return c.done }

// Progress estimates completion between 0 and 1 (UR: fountain estimate;
// BBQr: parts received over parts expected).
func (c *Collector) Progress() float64 {
	switch {
	case c.done:
		return 1
	case c.ur != nil:
		return c.ur.Progress()
	case c.bbqr != nil:
		got, total := c.bbqr.Progress()
		if total == 0 {
			return 0
		}
		return float64(got) / float64(total)
	}
	return 0
}

// Status describes progress for humans: "waiting for parts",
// "ur:crypto-psbt 42%", "bbqr 3 of 8", "complete".
func (c *Collector) Status() string {
	switch {
	case c.done:
		return "complete"
	case c.ur != nil:
		return fmt.Sprintf("ur:%s %d%%", c.ur.Type(), int(c.ur.Progress()*100))
	case c.bbqr != nil:
		got, total := c.bbqr.Progress()
		return fmt.Sprintf("bbqr %d of %d", got, total)
	}
	return "waiting for parts"
}

// Result returns the payload kind and payload once Done, ErrIncomplete
// before.
func (c *Collector) Result() (kind string, payload []byte, err error) {
	if !c.done {
		return "", nil, ErrIncomplete
	}
	if c.err != nil {
		return "", nil, c.err
	}
	return c.kind, bytes.Clone(c.payload), nil
}

// ReadFrom reads lines from r until the payload is complete or r ends.
// Lines that fail to decode are skipped (a scanner may misread a frame or
// see a stray code); if r ends first the error wraps ErrIncomplete and
// mentions the last rejected line's error. Lines longer than 1 MiB fail
// with ErrTooLarge.
func (c *Collector) ReadFrom(r io.Reader) (int64, error) {
	cr := &countingReader{r: r}
	sc := bufio.NewScanner(cr)
	sc.Buffer(make([]byte, 0, 64<<10), maxCollectorLine)
	var lastErr error
	for !c.done && sc.Scan() {
		if err := c.Add(sc.Text()); err != nil {
			lastErr = err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return cr.n, fmt.Errorf("scanner line: %w", ErrTooLarge)
		}
		return cr.n, err
	}
	if !c.done {
		if lastErr != nil {
			return cr.n, fmt.Errorf("%s (last rejected line: %v): %w", c.Status(), lastErr, ErrIncomplete)
		}
		return cr.n, fmt.Errorf("%s: %w", c.Status(), ErrIncomplete)
	}
	return cr.n, c.err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// isBase64PSBT reports whether b starts as base64 of "psbt\xff": "cHNidP"
// and a seventh character holding the last four bits of 0xff and the top
// two of the next byte, '8' for a version 0 PSBT (the unsigned
// transaction's key, length 1, comes first) but '9' for a version 2 one
// that starts with a global xpub (key length 79), '+' or '/' for others.
func isBase64PSBT(b []byte) bool {
	return len(b) >= 7 && bytes.HasPrefix(b, []byte("cHNidP")) && strings.IndexByte("89+/", b[6]) >= 0
}
