package main

import (
	"context"
	"testing"
)

// The demo itself is a test: the whole flow on a fresh regtest node, over
// files, and with every transfer carried as UR and as BBQr QR images read
// back by the QR decoder.
func TestTreasury(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a btcd regtest node")
	}
	for _, qr := range []string{"", "ur", "bbqr"} {
		name := qr
		if name == "" {
			name = "files"
		}
		t.Run(name, func(t *testing.T) {
			if err := run(context.Background(), t.TempDir(), false, qr); err != nil {
				t.Fatal(err)
			}
		})
	}
}
