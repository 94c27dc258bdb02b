package cli

import (
	"math/rand/v2"
	"testing"

	"github.com/kinko-project/kinko/airgap"
)

// TestStillParts: one code up to airgap.MaxStillQRVersion (on a terminal
// the largest version its height holds, airgap.MaxTerminalQRVersion at
// least), else the animation's parts, of versions
// up to the animation defaults.
func TestStillParts(t *testing.T) {
	msg := func(n int) Message {
		// Signatures do not compress: nor do these bytes.
		data := make([]byte, n)
		r := rand.New(rand.NewPCG(1, 2))
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		return Message{airgap.URTypeBytes, airgap.CBORByteString(data), airgap.BBQrCBOR, data}
	}
	for _, c := range []struct {
		q     QROut
		bytes int
		parts int
		max   int
		sent  string
	}{
		{QROut{Format: "bbqr", Mode: "parts"}, 714, 1, airgap.MaxStillQRVersion, ""},
		{QROut{Format: "bbqr", Mode: "gif:x.gif"}, 715, 1, airgap.MaxStillQRVersion, ""},
		{QROut{Format: "bbqr", Mode: "parts"}, 716, 2, airgap.DefaultBBQrMaxVersion, ""},
		{QROut{Format: "bbqr", Mode: "terminal"}, 714, 2, airgap.DefaultBBQrMaxVersion, ""},
		{QROut{Format: "bbqr", Mode: "terminal"}, 570, 1, airgap.MaxTerminalQRVersion, ""},
		{QROut{Format: "ur", Mode: "parts"}, 500, 1, airgap.MaxStillQRVersion, ""},
		{QROut{Format: "ur", Mode: "parts"}, 714, 4, airgap.DefaultBBQrMaxVersion, ""},
		// The default: one UR code if it fits, else one BBQr code, else
		// the animation.
		{QROut{Mode: "parts"}, 500, 1, airgap.MaxStillQRVersion, "ur"},
		{QROut{Format: "auto", Mode: "parts"}, 714, 1, airgap.MaxStillQRVersion, "bbqr"},
		{QROut{Mode: "parts"}, 716, 2, airgap.DefaultBBQrMaxVersion, "bbqr"},
		{QROut{Mode: "terminal"}, 570, 1, airgap.MaxTerminalQRVersion, "bbqr"},
		// A terminal tall enough for a version 19 code (51 rows) shows
		// it; one row less, or a version past 19 however tall, does not.
		{QROut{Mode: "terminal", TermRows: 51}, 714, 1, airgap.MaxStillQRVersion, "bbqr"},
		{QROut{Mode: "terminal", TermRows: 50}, 714, 2, airgap.DefaultBBQrMaxVersion, "bbqr"},
		{QROut{Mode: "terminal", TermRows: 200}, 716, 2, airgap.DefaultBBQrMaxVersion, "bbqr"},
	} {
		parts, err := c.q.StillParts(msg(c.bytes))
		if err != nil {
			t.Fatal(err)
		}
		if c.sent != "" && c.q.Sent() != c.sent {
			t.Errorf("%q %s, %d bytes: sent as %s, want %s", c.q.Format, c.q.Mode, c.bytes, c.q.Sent(), c.sent)
		}
		if len(parts) != c.parts {
			t.Errorf("%s %s, %d bytes: %d parts, want %d", c.q.Format, c.q.Mode, c.bytes, len(parts), c.parts)
		}
		for _, p := range parts {
			if v, err := airgap.QRVersion(p, airgap.ECCLow); err != nil || v > c.max {
				t.Errorf("%s %s, %d bytes: a part of version %d (%v), want at most %d", c.q.Format, c.q.Mode, c.bytes, v, err, c.max)
			}
		}
	}
}
