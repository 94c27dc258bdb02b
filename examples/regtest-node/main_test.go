package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kinko-project/kinko/coordinator/chain"
	"github.com/kinko-project/kinko/internal/regtest"
	"github.com/kinko-project/kinko/wallet"
)

// waitFile waits until path exists, or fails once done is closed or after
// two minutes (the first run builds btcd).
func waitFile(t *testing.T, path string, done <-chan error) {
	t.Helper()
	deadline := time.After(2 * time.Minute)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("the node stopped before it was ready: %v", err)
		case <-deadline:
			t.Fatalf("%s did not appear", path)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// The program itself: start a node, find it from a second invocation, fund
// an address, mine, and stop it with what Ctrl-C does (ctx cancelled).
func TestRegtestNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a btcd regtest node")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--dir", dir}, &out, &errOut) }()
	waitFile(t, filepath.Join(dir, stateFile), done)

	// The password file is private, and the state file holds no secret.
	fi, err := os.Stat(filepath.Join(dir, passwordFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", passwordFile, fi.Mode().Perm())
	}
	pass, _ := os.ReadFile(filepath.Join(dir, passwordFile))
	stateText, _ := os.ReadFile(filepath.Join(dir, stateFile))
	if bytes.Contains(stateText, bytes.TrimSpace(pass)) {
		t.Errorf("%s holds the password", stateFile)
	}

	// env prints what the start printed, and it points at the node.
	var env bytes.Buffer
	if err := run(ctx, []string{"--dir", dir, "env"}, &env, &errOut); err != nil {
		t.Fatal(err)
	}
	if env.String() == "" || !strings.Contains(out.String(), env.String()) {
		t.Fatalf("env printed %q; start printed %q", env.String(), out.String())
	}
	vars := map[string]string{}
	for _, kv := range strings.Fields(strings.TrimPrefix(strings.TrimSpace(env.String()), "export ")) {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	p, err := os.ReadFile(vars["KINKO_RPC_PASSWORD_FILE"])
	if err != nil {
		t.Fatal(err)
	}
	c, err := chain.Dial(chain.Config{Host: vars["KINKO_RPC_HOST"], User: vars["KINKO_RPC_USER"], Pass: strings.TrimSpace(string(p))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h0, err := c.Height()
	if err != nil {
		t.Fatal(err)
	}
	if h0 < regtest.MatureHeight {
		t.Fatalf("height %d, want at least %d", h0, regtest.MatureHeight)
	}

	// A second node for the same directory is refused.
	if err := run(ctx, []string{"--dir", dir}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "already runs") {
		t.Fatalf("second start: %v", err)
	}

	// fund, then mine: the payment is in the new block.
	addr := "bcrt1qgfpyysjzgfpyysjzgfpyysjzgfpyysjzuyhhvw"
	var txid bytes.Buffer
	if err := run(ctx, []string{"--dir", dir, "fund", addr, "1.5"}, &txid, &errOut); err != nil {
		t.Fatal(err)
	}
	var mined bytes.Buffer
	if err := run(ctx, []string{"--dir", dir, "mine", "2"}, &mined, &errOut); err != nil {
		t.Fatal(err)
	}
	hashes := strings.Fields(mined.String())
	if len(hashes) != 2 {
		t.Fatalf("mine 2 printed %q", mined.String())
	}
	if h, _ := c.Height(); h != h0+2 {
		t.Fatalf("height %d after mine 2, want %d", h, h0+2)
	}
	blk, err := c.Block(hashes[0])
	if err != nil {
		t.Fatal(err)
	}
	spk, _ := wallet.ScriptFromAddress(addr, wallet.Regtest)
	found := false
	for _, raw := range blk.Txs {
		id, _ := chain.TxID(raw)
		if id == strings.TrimSpace(txid.String()) && bytes.Contains(raw, spk) {
			found = true
		}
	}
	if !found {
		t.Fatalf("funding tx %s not in block %s", txid.String(), hashes[0])
	}

	// Bad input is a usage error naming what is wrong.
	var ue usageError
	if err := run(ctx, []string{"--dir", dir, "fund", "tb1qnope", "1"}, &txid, &errOut); !errors.As(err, &ue) || !strings.Contains(err.Error(), "tb1qnope") {
		t.Errorf("fund to a bad address: %v", err)
	}
	if err := run(ctx, []string{"--dir", dir, "mine", "zero"}, &txid, &errOut); !errors.As(err, &ue) {
		t.Errorf("mine zero: %v", err)
	}

	// Ctrl-C: the node stops, the directory stays, the state goes.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stop: %v\n%s", err, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the node did not stop")
	}
	if _, err := os.Stat(filepath.Join(dir, btcdDir, "logs")); err != nil {
		t.Errorf("the node's logs are gone: %v", err)
	}
	if err := run(context.Background(), []string{"--dir", dir, "mine"}, &mined, &errOut); !errors.Is(err, errNoNode) {
		t.Errorf("mine after stop: %v, want %v", err, errNoNode)
	}
}
