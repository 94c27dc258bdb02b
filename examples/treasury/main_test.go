package main

import (
	"context"
	"testing"

	"github.com/kinko-project/kinko/wallet"
)

// The demo itself is a test: the whole flow on a fresh regtest node, over
// files, and with every transfer carried as UR and as BBQr QR images read
// back by the QR decoder.
func TestTreasury(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a btcd regtest node")
	}
	for _, c := range []struct {
		qr string
		st wallet.ScriptType
	}{{"", wallet.P2WSH}, {"ur", wallet.P2WSH}, {"bbqr", wallet.P2WSH}, {"", wallet.P2TR}, {"ur", wallet.P2TR}} {
		name := c.qr
		if name == "" {
			name = "files"
		}
		t.Run(name+"-"+c.st.String(), func(t *testing.T) {
			if err := run(context.Background(), t.TempDir(), false, c.qr, c.st); err != nil {
				t.Fatal(err)
			}
		})
	}
}
