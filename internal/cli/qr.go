package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/kinko-project/kinko/airgap"
	"github.com/kinko-project/kinko/wallet"
	"github.com/kinko-project/kinko/wallet/setup"
	"golang.org/x/term"
)

// QROut holds the flags with which a command sends its result as QR codes
// instead of (or besides) a file.
type QROut struct {
	Mode     string // "", "parts", "terminal", "gif:FILE", "png-dir:DIR"
	Format   string // "auto" (or ""), "ur", "bbqr" or "base43"
	Fragment int    // UR fragment size in bytes (0: the default)
	FPS      float64
	Level    string // "L", "M", "Q" or "H"

	// TermRows is the height of the terminal a still code is drawn on
	// (--qr terminal); 0 asks standard output's terminal, and a
	// laptop console's 48 rows are assumed when it is none.
	TermRows int

	sent string // the format Parts last used (Sent)
}

// Sent returns the format the last Parts or Send used: "ur", "bbqr" or
// "base43" (what auto chose, for one).
func (q *QROut) Sent() string { return q.sent }

// Register adds --qr, --qr-format, --fragment, --fps and --ecc to fs.
func (q *QROut) Register(fs *flag.FlagSet) {
	fs.StringVar(&q.Mode, "qr", "", "also show the result as QR codes: parts (one string a line), terminal, gif:FILE or png-dir:DIR")
	fs.StringVar(&q.Format, "qr-format", "auto", formatUsage)
	fs.IntVar(&q.Fragment, "fragment", 0, "UR fragment size in bytes (default 380)")
	FloatVar(fs, &q.FPS, "fps", airgap.DefaultFPS, 0.1, 60, "frames per second of an animation")
	fs.StringVar(&q.Level, "ecc", "L", "QR error correction: L, M, Q or H")
}

// Enabled reports whether QR output was asked for.
func (q *QROut) Enabled() bool { return q.Mode != "" }

func (q *QROut) level() (airgap.ECCLevel, error) {
	switch strings.ToUpper(q.Level) {
	case "", "L":
		return airgap.ECCLow, nil
	case "M":
		return airgap.ECCMedium, nil
	case "Q":
		return airgap.ECCQuartile, nil
	case "H":
		return airgap.ECCHigh, nil
	}
	return 0, Usagef("--ecc %q: want L, M, Q or H", q.Level)
}

// Message is something to send as QR codes: its UR form (type and CBOR
// body) and its BBQr form (file type and data).
type Message struct {
	URType   string
	URBody   []byte
	BBQrType byte
	Data     []byte
}

// PSBTMessage is a PSBT: ur:crypto-psbt, or BBQr type P.
func PSBTMessage(p []byte) Message {
	return Message{airgap.URTypeCryptoPSBT, airgap.CBORByteString(p), airgap.BBQrPSBT, p}
}

// SigReplyMessage is kinko-signer's compact reply (airgap.SigReply):
// ur:kinko-sigreply, whose body is the reply's CBOR, or BBQr type C.
// BBQr carries it in base32 (EncodeBBQr's zlib encoding falls back to
// base32 by itself: signatures and a txid do not compress), 1.6
// characters a byte against UR's 2.
func SigReplyMessage(reply []byte) Message {
	return Message{airgap.URTypeSigReply, reply, airgap.BBQrCBOR, reply}
}

// TextMessage is text: ur:bytes, or BBQr type U.
func TextMessage(t []byte) Message {
	return Message{airgap.URTypeBytes, airgap.CBORByteString(t), airgap.BBQrText, t}
}

// KeyRecordMessage is a signer's key record: ur:crypto-hdkey (with its
// origin), or its text as BBQr type U.
func KeyRecordMessage(rec *wallet.KeyRecord) (Message, error) {
	typ, body, err := airgap.EncodeKeyRecordUR(rec)
	if err != nil {
		return Message{}, err
	}
	return Message{typ, body, airgap.BBQrText, []byte(rec.String())}, nil
}

// DescriptorMessage is a wallet: ur:crypto-output, or its descriptor text
// as BBQr type U.
func DescriptorMessage(d *wallet.Descriptor) (Message, error) {
	if d.ScriptType() == wallet.P2TR {
		// kinko writes no crypto-output for tr(): the descriptor goes as
		// text (ur:bytes, BBQr U), which ReadDescriptor reads back.
		return TextMessage([]byte(d.String())), nil
	}
	// The /0/* form: the one common crypto-output readers take (the
	// receive branch; /1/* is change by convention).
	typ, body, err := setup.EncodeUR(d, setup.URReceive)
	if err != nil {
		return Message{}, err
	}
	return Message{typ, body, airgap.BBQrText, []byte(d.String())}, nil
}

const formatUsage = "QR encoding: auto (one UR code when it fits, else BBQr for a PSBT, a transaction or the signer's reply, UR for the rest), ur (BC-UR), bbqr, or base43 (a PSBT as one code of base43 text, which Electrum reads)"

// Parts encodes m as QR part strings. A multi-part UR gets twice its
// fragment count, so that a camera that misses frames recovers from the
// fountain mixes without waiting for a whole loop.
//
// The default format, auto, sends a PSBT, a transaction or the signer's
// compact reply that does not fit one UR code as BBQr: BBQr compresses
// and UR does not, so it needs about a third of the frames
// (BenchmarkQRTransfer: 41 against 130 for a 100-input 2-of-3 PSBT), and
// with 10% of frames lost it crosses in half the time. One code is UR,
// which every wallet reads; so are key records and wallets, which have
// UR types of their own. A --fragment size asks for UR.
func (q *QROut) Parts(m Message) ([]string, error) {
	switch q.Format {
	case "", "auto":
		if q.Fragment > 0 || !binaryMessage(m) {
			return q.urParts(m)
		}
		enc, err := airgap.NewUREncoder(m.URType, m.URBody, 0, 0)
		if err != nil {
			return nil, err
		}
		if enc.SinglePart() {
			q.sent = "ur"
			return enc.Parts(1), nil
		}
		return q.bbqrParts(m)
	case "ur":
		return q.urParts(m)
	case "bbqr":
		return q.bbqrParts(m)
	case "base43":
		// Electrum's QR form: one code, never split; a PSBT too large
		// for one fails to render, and goes as a file instead.
		if m.BBQrType != airgap.BBQrPSBT && m.BBQrType != airgap.BBQrTransaction {
			return nil, Usagef("--qr-format base43 carries a PSBT or a transaction (Electrum's QR codes), not this")
		}
		q.sent = "base43"
		return []string{airgap.EncodeBase43(m.Data)}, nil
	}
	return nil, Usagef("--qr-format %q: want auto, ur, bbqr or base43", q.Format)
}

func (q *QROut) urParts(m Message) ([]string, error) {
	enc, err := airgap.NewUREncoder(m.URType, m.URBody, q.Fragment, 0)
	if err != nil {
		return nil, err
	}
	q.sent = "ur"
	if enc.SinglePart() {
		return enc.Parts(1), nil
	}
	return enc.Parts(2 * enc.SeqLen()), nil
}

func (q *QROut) bbqrParts(m Message) ([]string, error) {
	lvl, err := q.level()
	if err != nil {
		return nil, err
	}
	q.sent = "bbqr"
	return airgap.EncodeBBQr(m.Data, m.BBQrType, airgap.BBQrOptions{Level: lvl})
}

// StillParts encodes m as one QR code of version airgap.MaxStillQRVersion
// at most (a still code, read from a camera's continuous film; on a
// terminal the largest version its height holds, see terminalVersion)
// when it fits, and as Parts does otherwise.
func (q *QROut) StillParts(m Message) ([]string, error) {
	lvl, err := q.level()
	if err != nil {
		return nil, err
	}
	maxVersion := airgap.MaxStillQRVersion
	if mode, _, _ := strings.Cut(q.Mode, ":"); mode == "terminal" {
		maxVersion = q.terminalVersion()
	}
	formats := []string{q.Format}
	if q.Format == "" || q.Format == "auto" {
		// One UR code if it fits, as Parts would send; else one BBQr
		// code, which holds a fifth more of a binary message.
		formats = []string{"ur"}
		if binaryMessage(m) {
			formats = append(formats, "bbqr")
		}
	}
	for _, f := range formats {
		one, err := stillCode(m, f, lvl, maxVersion)
		if err != nil {
			return nil, err
		}
		if one != "" {
			q.sent = f
			return []string{one}, nil
		}
	}
	return q.Parts(m)
}

// terminalVersion is the largest version of a still code that fits the
// terminal's height, between airgap.MaxTerminalQRVersion (a 1366x768
// laptop console) and airgap.MaxStillQRVersion.
func (q *QROut) terminalVersion() int {
	rows := q.TermRows
	if rows <= 0 {
		if _, h, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
			rows = h
		}
	}
	v := airgap.MaxStillQRVersion
	for v > airgap.MaxTerminalQRVersion && airgap.TerminalRows(v) > rows {
		v--
	}
	return v
}

// stillCode returns m as one code in format f (ur or bbqr) of version
// maxVersion at most, or "" if it does not fit one.
func stillCode(m Message, f string, lvl airgap.ECCLevel, maxVersion int) (string, error) {
	var one string
	switch f {
	case "ur":
		enc, err := airgap.NewUREncoder(m.URType, m.URBody, len(m.URBody), 0)
		if err != nil {
			return "", err
		}
		one = enc.Parts(1)[0]
	case "bbqr":
		parts, err := airgap.EncodeBBQr(m.Data, m.BBQrType, airgap.BBQrOptions{Level: lvl, MaxVersion: maxVersion, MaxSplit: 1})
		if errors.Is(err, airgap.ErrTooLarge) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		one = parts[0]
	default:
		return "", nil
	}
	if v, err := airgap.QRVersion(one, lvl); err != nil || v > maxVersion {
		return "", nil
	}
	return one, nil
}

// binaryMessage reports whether m is binary data that BBQr carries
// denser than UR: a PSBT, a transaction, or CBOR (the signer's reply).
func binaryMessage(m Message) bool {
	switch m.BBQrType {
	case airgap.BBQrPSBT, airgap.BBQrTransaction, airgap.BBQrCBOR:
		return true
	}
	return false
}

// Send shows m as QR codes as the flags ask.
func (q *QROut) Send(m Message, stdout, stderr io.Writer) error {
	parts, err := q.Parts(m)
	if err != nil {
		return err
	}
	return q.SendParts(parts, stdout, stderr)
}

// SendParts shows the given part strings as QR codes, one code each, as
// --qr asks. Send uses it; a caller whose text goes as it is, in neither
// UR nor BBQr (a key for Electrum), calls it directly.
func (q *QROut) SendParts(parts []string, stdout, stderr io.Writer) error {
	lvl, err := q.level()
	if err != nil {
		return err
	}
	opts := airgap.QROptions{Level: lvl, FPS: q.FPS}
	mode, arg, _ := strings.Cut(q.Mode, ":")
	switch mode {
	case "parts":
		for _, p := range parts {
			fmt.Fprintln(stdout, p)
		}
		return nil
	case "gif":
		if arg == "" {
			return Usagef("--qr gif:FILE needs a file name")
		}
		var buf bytes.Buffer
		if err := airgap.RenderGIF(parts, &buf, opts); err != nil {
			return err
		}
		if err := WriteOutput(arg, buf.Bytes(), stdout, true, false); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %d QR frames to %s\n", len(parts), arg)
		return nil
	case "png-dir":
		if arg == "" {
			return Usagef("--qr png-dir:DIR needs a directory")
		}
		if err := os.MkdirAll(arg, 0o755); err != nil {
			return err
		}
		files, err := airgap.RenderPNGs(parts, arg, opts)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %d QR frames to %s\n", len(files), arg)
		return nil
	case "terminal":
		f, ok := stdout.(*os.File)
		if !ok || !IsTerminal(f) {
			return WithHint(ExitUsage, errors.New("--qr terminal needs a terminal on standard output"), "use --qr gif:FILE or --qr parts")
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		fmt.Fprintf(stderr, "showing %d QR frames; press Ctrl-C when the other side has them\n", len(parts))
		if len(parts) == 1 {
			if err := airgap.RenderTerminal(stdout, parts[0]); err != nil {
				return err
			}
			<-ctx.Done()
			return nil
		}
		if err := airgap.Animate(ctx, stdout, parts, q.FPS); err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	}
	return Usagef("--qr %q: want parts, terminal, gif:FILE or png-dir:DIR", q.Mode)
}

var imageMagic = [][]byte{[]byte("\x89PNG"), []byte("\xff\xd8\xff"), []byte("GIF8")}

func isImage(b []byte) bool {
	for _, m := range imageMagic {
		if bytes.HasPrefix(b, m) {
			return true
		}
	}
	return false
}

// ReadPayload reads one message from path, whatever its form: a PSBT in
// binary, base64 or hex; UR or BBQr part strings one per line (what a QR
// scanner in keyboard mode types); an image holding QR codes (PNG, JPEG,
// or every frame of a GIF); or a directory of such images, the frames of
// one animated code. "-" is stdin. Progress goes to progress.
func ReadPayload(path string, stdin io.Reader, progress io.Writer) (kind string, payload []byte, err error) {
	if path != "-" {
		if st, err := os.Stat(path); err == nil && st.IsDir() {
			return readImageDir(path, progress)
		}
	} else {
		return readStdin(stdin, progress)
	}
	b, err := ReadInput(path, stdin, MaxInput)
	if err != nil {
		return "", nil, err
	}
	if isImage(b) {
		c := airgap.NewCollector()
		if err := scanInto(c, path, b, progress); err != nil {
			return "", nil, err
		}
		return finish(c, path)
	}
	return decodeBlob(path, b)
}

// decodeBlob detects what b holds; plain text that is no known encoding
// is returned as airgap.KindText (a descriptor, a key record).
func decodeBlob(name string, b []byte) (string, []byte, error) {
	kind, payload, err := airgap.DecodeBytes(b)
	if errors.Is(err, airgap.ErrUnknownFormat) && utf8.Valid(b) && !bytes.ContainsRune(b, 0) {
		return airgap.KindText, bytes.TrimSpace(b), nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", name, err)
	}
	return kind, payload, nil
}

// readStdin reads one message from stdin. Part strings are taken one line
// at a time, with progress, and reading stops as soon as the message is
// complete: a QR scanner typing into a terminal needs no end-of-file.
// Anything else is read to the end and detected as a whole.
func readStdin(stdin io.Reader, progress io.Writer) (string, []byte, error) {
	br := bufio.NewReaderSize(stdin, 64<<10)
	first, err := br.Peek(3)
	if err != nil && len(first) == 0 {
		return "", nil, fmt.Errorf("standard input: %w", err)
	}
	if !strings.EqualFold(string(first[:min(3, len(first))]), "ur:") && !bytes.HasPrefix(first, []byte("B$")) {
		b, err := ReadInput("-", br, MaxInput)
		if err != nil {
			return "", nil, err
		}
		return decodeBlob("standard input", b)
	}
	c := airgap.NewCollector()
	// A scanner left running, or a hostile stream, must not be read
	// forever: what a message may take in all, and how many lines in a
	// row may fail to be its parts, are bounded.
	lr := &io.LimitedReader{R: br, N: MaxInput + 1}
	sc := bufio.NewScanner(lr)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	rejected := 0
	for !c.Done() && sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if err := c.Add(line); err != nil {
			fmt.Fprintf(progress, "skipped a part: %v\n", err)
			if rejected++; rejected >= MaxRejectedParts {
				return "", nil, WithHint(ExitRefused, fmt.Errorf("standard input: %d lines in a row are not parts of the message (%s)", rejected, c.Status()),
					"is the scanner reading the right codes?")
			}
			continue
		}
		rejected = 0
		fmt.Fprintf(progress, "%s\n", c.Status())
	}
	if err := sc.Err(); err != nil {
		return "", nil, fmt.Errorf("standard input: %w", err)
	}
	if lr.N <= 0 && !c.Done() {
		return "", nil, WithHint(ExitRefused, fmt.Errorf("standard input: more than %d bytes of part strings and the message is not complete (%s)", MaxInput, c.Status()), "")
	}
	return finish(c, "standard input")
}

// MaxRejectedParts is how many lines in a row that are not parts of the
// message being read are skipped before reading stops: a scanner misreads
// a frame now and then, not a thousand times in a row.
const MaxRejectedParts = 1000

func scanInto(c *airgap.Collector, name string, img []byte, progress io.Writer) error {
	parts, err := airgap.ScanImage(bytes.NewReader(img))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	for _, p := range parts {
		if c.Done() {
			break
		}
		if err := c.Add(p); err != nil {
			fmt.Fprintf(progress, "%s: skipped a QR code: %v\n", name, err)
		}
	}
	fmt.Fprintf(progress, "%s: %s\n", filepath.Base(name), c.Status())
	return nil
}

func readImageDir(dir string, progress io.Writer) (string, []byte, error) {
	c := airgap.NewCollector()
	if err := collectDir(c, dir, progress); err != nil {
		return "", nil, err
	}
	return finish(c, dir)
}

// collectDir feeds c the QR codes of every image in dir, in name order.
func collectDir(c *airgap.Collector, dir string, progress io.Writer) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if c.Done() {
			break
		}
		p := filepath.Join(dir, n)
		b, err := ReadInput(p, nil, MaxInput)
		if err != nil {
			return err
		}
		if !isImage(b) {
			continue
		}
		if err := scanInto(c, p, b, progress); err != nil {
			return err
		}
	}
	return nil
}

func finish(c *airgap.Collector, name string) (string, []byte, error) {
	if !c.Done() {
		return "", nil, fmt.Errorf("%s: the QR codes are incomplete (%s)", name, c.Status())
	}
	kind, payload, err := c.Result()
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", name, err)
	}
	return kind, payload, nil
}

// ReadPSBT reads a PSBT from path in any form ReadPayload knows, and
// refuses any other kind of payload (a UR or BBQr of another type).
func ReadPSBT(path string, stdin io.Reader, progress io.Writer) ([]byte, error) {
	kind, payload, err := ReadPayload(path, stdin, progress)
	if err != nil {
		return nil, err
	}
	if kind != airgap.KindPSBT {
		return nil, fmt.Errorf("%s holds %s, not a PSBT", path, kind)
	}
	return payload, nil
}

// ReadKeyRecord reads a signer's key record from path in any form
// ReadPayload knows: text, or ur:crypto-hdkey / hdkey / crypto-account.
func ReadKeyRecord(path string, net *wallet.Network, stdin io.Reader, progress io.Writer) (*wallet.KeyRecord, error) {
	kind, payload, err := ReadPayload(path, stdin, progress)
	if err != nil {
		return nil, err
	}
	if typ, ok := strings.CutPrefix(kind, "ur:"); ok && typ != airgap.URTypeBytes {
		return airgap.DecodeKeyRecordUR(typ, payload, net)
	}
	text, ok := TextPayload(kind, payload)
	if !ok {
		return nil, fmt.Errorf("%s holds %s, not a key record", path, kind)
	}
	return wallet.ParseKeyRecord(strings.TrimSpace(string(text)), net)
}

// ReadDescriptor reads a wallet descriptor from path in any form
// ReadPayload knows: text, or ur:crypto-output / output-descriptor.
func ReadDescriptor(path string, net *wallet.Network, stdin io.Reader, progress io.Writer) (*wallet.Descriptor, error) {
	kind, payload, err := ReadPayload(path, stdin, progress)
	if err != nil {
		return nil, err
	}
	if typ, ok := strings.CutPrefix(kind, "ur:"); ok && typ != airgap.URTypeBytes {
		su, err := setup.FromUR(typ, payload, net)
		if err != nil {
			return nil, err
		}
		return su.Descriptor, nil
	}
	text, ok := TextPayload(kind, payload)
	if !ok {
		return nil, fmt.Errorf("%s holds %s, not a wallet descriptor", path, kind)
	}
	return wallet.ParseDescriptor(strings.TrimSpace(string(text)), net)
}
