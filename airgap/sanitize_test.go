package airgap

import (
	"strings"
	"testing"

	"github.com/kinko-project/kinko/wallet"
)

// hostile is what an attacker would put in a QR code: clear the screen,
// set the window title, and reverse the text that follows.
const hostile = "\x1b[2J\x1b]0;ok\a\u202e\x9b"

// printable reports whether s holds printable ASCII only, so that it
// cannot drive a terminal.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// TestUntrustedTextEscaped feeds hostile text through every path where
// text from a QR code or a file reaches an error message: each error
// must still be printable ASCII.
func TestUntrustedTextEscaped(t *testing.T) {
	goodBBQr, err := EncodeBBQr([]byte("psbt\xff"), 'P', BBQrOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ur := func(part string) error { return NewURDecoder().Receive(part) }
	bbqr := func(part string) error { return NewBBQrDecoder().Receive(part) }
	bbqrPair := func(second string) error {
		d := NewBBQrDecoder()
		if err := d.Receive("B$ZP0200" + "AAAAAAAA"); err != nil {
			t.Fatal(err)
		}
		return d.Receive(second)
	}
	collect := func(lines string) error {
		_, err := NewCollector().ReadFrom(strings.NewReader(lines))
		return err
	}
	paths := map[string]func() error{
		"ur type":                   func() error { return ur("ur:" + hostile + "/abcd") },
		"ur sequence":               func() error { return ur("ur:crypto-psbt/1-" + hostile + "/abcd") },
		"bytewords word":            func() error { return ur("ur:crypto-psbt/" + hostile + "xx") },
		"bytewords minimal word":    func() error { return ur("ur:crypto-psbt/a" + hostile) },
		"psbt ur type":              func() error { _, err := DecodePSBTUR(hostile, nil); return err },
		"key record ur type":        func() error { _, err := DecodeKeyRecordUR(hostile, nil, wallet.Regtest); return err },
		"descriptor ur type":        func() error { _, err := DecodeDescriptorUR(hostile, nil, wallet.Regtest); return err },
		"bbqr encoding":             func() error { return bbqr("B$\x1bP0100AAAA") },
		"bbqr file type":            func() error { return bbqr("B$Z\x1b0100AAAA") },
		"bbqr count":                func() error { return bbqr("B$ZP\x1b[00AAAA") },
		"bbqr header while joining": func() error { return bbqrPair("B$2P0201" + "AAAAAAAA") },
		"bbqr encode file type":     func() error { _, err := EncodeBBQr([]byte("x"), 0x1b, BBQrOptions{}); return err },
		"bbqr encode encoding":      func() error { _, err := EncodeBBQr([]byte("x"), 'U', BBQrOptions{Encoding: 0x1b}); return err },
		"collector last line":       func() error { return collect(goodBBQr[0][:8] + "\n" + "ur:" + hostile + "/ab\n") },
	}
	for name, run := range paths {
		t.Run(name, func(t *testing.T) {
			err := run()
			if err == nil {
				t.Fatal("accepted")
			}
			if !printable(err.Error()) {
				t.Errorf("error reaches the terminal raw: %q", err.Error())
			}
		})
	}
}
