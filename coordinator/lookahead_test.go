package coordinator

import (
	"bytes"
	"crypto/rand"
	"testing"
	"time"

	"github.com/kinko-project/kinko/wallet"
)

// TestLookahead: whatever order a scan asks for scripts in (window after
// window, a jump, a window partly derived ahead), lookahead hands out the
// scripts of exactly the indexes asked for, and halt stops the goroutine
// deriving ahead.
func TestLookahead(t *testing.T) {
	d := randomWallet(t)
	la := &lookahead{d: d, change: true}
	for n, ask := range []struct{ from, count uint32 }{
		{20, 236},   // the first move: nothing ahead
		{256, 256},  // the second: derived now, ahead from here on
		{512, 256},  // taken from what was derived ahead
		{768, 100},  // part of a block
		{868, 900},  // the rest of it and more
		{3000, 50},  // a jump: what was ahead is dropped
		{3050, 300}, // and derived ahead again from the jump on
		{3350, 1},
	} {
		got, err := la.derive(ask.from, ask.count)
		if err != nil {
			t.Fatal(err)
		}
		want, err := d.DeriveScriptPubKeys(true, ask.from, ask.count)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("ask %d: %d scripts, want %d", n, len(got), len(want))
		}
		for k := range want {
			if !bytes.Equal(got[k], want[k]) {
				t.Fatalf("ask %d: index %d: got %x, want %x", n, ask.from+uint32(k), got[k], want[k])
			}
		}
		if n >= 1 && la.blocks == nil {
			t.Fatalf("ask %d: nothing derived ahead after the second move", n)
		}
	}
	blocks := la.blocks
	la.halt()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-blocks:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("deriving ahead did not stop after halt")
		}
	}
}

// randomWallet is a 2-of-3 P2WSH regtest wallet of fresh random keys.
func randomWallet(t testing.TB) *wallet.Descriptor {
	t.Helper()
	var recs []*wallet.KeyRecord
	for range 3 {
		seed := make([]byte, 32)
		rand.Read(seed)
		m, err := wallet.NewMaster(seed, wallet.Regtest)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := wallet.NewKeyRecord(m, wallet.AccountPath(wallet.Regtest, wallet.P2WSH, 0))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	d, err := wallet.NewMultisig(wallet.Regtest, wallet.P2WSH, 2, recs)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
