package main

import (
	"context"
	"testing"
)

// The exchange demo is a test: the whole treasury day on a fresh regtest
// node.
func TestExchange(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a btcd regtest node")
	}
	if err := run(context.Background(), t.TempDir(), false); err != nil {
		t.Fatal(err)
	}
}
