package regtest

import (
	"context"
	"strings"
	"testing"
)

// A second process's view: Attach funds and mines on a node it did not
// start, Stop leaves that node running, and wrong credentials are refused.
func TestAttach(t *testing.T) {
	skipShort(t)
	n := startNode(t, Options{})
	host, user, pass := n.RPC()
	ctx := context.Background()

	if _, err := Attach(ctx, host, user, pass+"x"); err == nil {
		t.Fatal("Attach with a wrong password succeeded")
	} else if strings.Contains(err.Error(), pass) {
		t.Fatalf("error leaks the password: %v", err)
	}
	if _, err := Attach(ctx, "", user, pass); err == nil {
		t.Fatal("Attach without a host succeeded")
	}

	a, err := Attach(ctx, host, user, pass)
	if err != nil {
		t.Fatal(err)
	}
	script := p2wsh(t)
	txid, err := a.Fund(script, 50_000)
	if err != nil {
		t.Fatal(err)
	}
	hashes, err := a.Mine(1)
	if err != nil {
		t.Fatal(err)
	}
	if !blockTxids(t, n, hashes[0])[txid] {
		t.Fatalf("funding tx %s not in block %s", txid, hashes[0])
	}
	// A second attachment sees the first one's change and funds again.
	b, err := Attach(ctx, host, user, pass)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Fund(script, 60_000); err != nil {
		t.Fatal(err)
	}
	a.Stop()
	b.Stop()
	if h, err := n.Height(); err != nil || h != MatureHeight+1 {
		t.Fatalf("the node after the attachments stopped: height %d, %v", h, err)
	}
	select {
	case <-n.Exited():
		t.Fatal("the node exited when an attachment stopped")
	default:
	}
}
