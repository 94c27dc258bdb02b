package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/fxamacker/cbor/v2"
	"github.com/kinko-project/kinko/airgap"
	"github.com/kinko-project/kinko/wallet/setup"
)

// ErrNotPSBT is returned when a PSBT was expected and something else came.
var ErrNotPSBT = errors.New("not a PSBT")

// QRCommand runs "qr encode" and "qr decode", which both commands offer.
func QRCommand(prog string, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return Usagef("qr: want encode or decode")
	}
	switch args[0] {
	case "encode":
		return qrEncode(prog, args[1:], stdin, stdout, stderr)
	case "decode":
		return qrDecode(prog, args[1:], stdin, stdout, stderr)
	}
	return Usagef("qr: unknown command %q (want encode or decode)", args[0])
}

func qrEncode(prog string, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("qr encode")
	var q QROut
	fs.StringVar(&q.Format, "format", "auto", formatUsage)
	fs.IntVar(&q.Fragment, "fragment", 0, "UR fragment size in bytes (default 380)")
	FloatVar(fs, &q.FPS, "fps", airgap.DefaultFPS, 0.1, 60, "frames per second of an animation")
	fs.StringVar(&q.Level, "ecc", "L", "QR error correction: L, M, Q or H")
	pngDir := fs.String("png-dir", "", "write one PNG per frame into this directory")
	gif := fs.String("gif", "", "write an animated GIF")
	terminal := fs.Bool("terminal", false, "animate the codes in this terminal")
	pos, err := Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return Usagef("qr encode: want at most one FILE")
	}
	in := "-"
	if len(pos) == 1 {
		in = pos[0]
	}
	raw, err := ReadInput(in, stdin, airgap.MaxPayloadSize)
	if err != nil {
		return err
	}
	// A PSBT travels as a PSBT; anything else as text (a descriptor, a
	// key record).
	msg := TextMessage(bytes.TrimSpace(raw))
	if kind, payload, err := airgap.DecodeBytes(raw); err == nil && kind == airgap.KindPSBT {
		msg = PSBTMessage(payload)
	}
	modes := 0
	for _, m := range []string{*pngDir, *gif} {
		if m != "" {
			modes++
		}
	}
	if *terminal {
		modes++
	}
	if modes > 1 {
		return Usagef("qr encode: choose one of --png-dir, --gif and --terminal")
	}
	switch {
	case *pngDir != "":
		q.Mode = "png-dir:" + *pngDir
	case *gif != "":
		q.Mode = "gif:" + *gif
	case *terminal:
		q.Mode = "terminal"
	default:
		q.Mode = "parts"
	}
	return q.Send(msg, stdout, stderr)
}

func qrDecode(prog string, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("qr decode")
	out := fs.String("o", "-", "where to write the payload")
	b64 := fs.Bool("base64", false, "write a binary payload as base64")
	pos, err := Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		pos = []string{"-"}
	}
	if len(pos) == 1 && pos[0] == "-" {
		kind, payload, err := readStdin(stdin, stderr)
		if err != nil {
			return WithHint(ExitRefused, err, "")
		}
		return writePayload(kind, payload, *out, *b64, stdout, stderr)
	}
	// Every FILE is part of the same message: frames as images, or part
	// strings one a line.
	c := airgap.NewCollector()
	for _, p := range pos {
		if c.Done() {
			break
		}
		if err := collect(c, p, stdin, stderr); err != nil {
			return err
		}
	}
	kind, payload, err := finish(c, strings.Join(pos, ", "))
	if err != nil {
		return WithHint(ExitRefused, err, "")
	}
	return writePayload(kind, payload, *out, *b64, stdout, stderr)
}

func writePayload(kind string, payload []byte, out string, b64 bool, stdout, stderr io.Writer) error {
	// Key records and wallets are written as their text.
	switch strings.TrimPrefix(kind, "ur:") {
	case airgap.URTypeCryptoHDKey, airgap.URTypeHDKey, airgap.URTypeCryptoAccount:
		rec, err := airgap.DecodeKeyRecordUR(strings.TrimPrefix(kind, "ur:"), payload, nil)
		if err != nil {
			return WithHint(ExitRefused, err, "")
		}
		return WriteOutput(out, []byte(rec.String()+"\n"), stdout, false, false)
	case airgap.URTypeCryptoOutput, airgap.URTypeOutputDescriptor:
		// A wallet's receive branch (/0/*, as wallets write it) reads as
		// the wallet, with /1/* for change; any other descriptor as it is.
		typ := strings.TrimPrefix(kind, "ur:")
		if su, err := setup.FromUR(typ, payload, nil); err == nil {
			return WriteOutput(out, []byte(su.Descriptor.String()+"\n"), stdout, false, false)
		}
		d, err := airgap.DecodeDescriptorUR(typ, payload, nil)
		if err != nil {
			return WithHint(ExitRefused, err, "")
		}
		return WriteOutput(out, []byte(d.String()+"\n"), stdout, false, false)
	}
	if text, ok := TextPayload(kind, payload); ok {
		return WriteOutput(out, append(text, '\n'), stdout, false, false)
	}
	fmt.Fprintf(stderr, "%s: %d bytes\n", kind, len(payload))
	if b64 {
		return WriteOutput(out, Base64Line(payload), stdout, false, false)
	}
	return WriteOutput(out, payload, stdout, true, false)
}

// collect feeds the parts in one file (an image or lines of part strings)
// to c.
func collect(c *airgap.Collector, path string, stdin io.Reader, progress io.Writer) error {
	if path != "-" {
		if st, err := os.Stat(path); err == nil && st.IsDir() {
			return collectDir(c, path, progress)
		}
	}
	b, err := ReadInput(path, stdin, MaxInput)
	if err != nil {
		return err
	}
	if isImage(b) {
		return scanInto(c, path, b, progress)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if c.Done() {
			break
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if err := c.Add(strings.TrimSpace(line)); err != nil {
			return WithHint(ExitRefused, fmt.Errorf("%s: %w", path, err), "")
		}
	}
	fmt.Fprintf(progress, "%s: %s\n", path, c.Status())
	return nil
}

// TextPayload returns the text carried by a payload: BBQr's unicode type,
// or a UR of type "bytes" holding UTF-8.
func TextPayload(kind string, payload []byte) ([]byte, bool) {
	switch kind {
	case airgap.KindText:
		return payload, true
	case "ur:bytes":
		var b []byte
		if err := cbor.Unmarshal(payload, &b); err != nil {
			return nil, false
		}
		return b, true
	}
	return nil, false
}
