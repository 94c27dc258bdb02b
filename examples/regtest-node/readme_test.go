//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// readmeSection is the README section that TestReadmeByHand runs.
const readmeSection = "### A 2-of-3 by hand (regtest)"

// shellBlocks returns the ```sh blocks of the README section whose heading
// line is heading, up to the next heading.
func shellBlocks(readme, heading string) ([]string, error) {
	_, sec, ok := strings.Cut(readme, "\n"+heading+"\n")
	if !ok {
		return nil, fmt.Errorf("README has no section %q", heading)
	}
	if i := regexp.MustCompile(`(?m)^#{1,3} `).FindStringIndex(sec); i != nil {
		sec = sec[:i[0]]
	}
	var blocks []string
	for {
		_, rest, ok := strings.Cut(sec, "\n```sh\n")
		if !ok {
			return blocks, nil
		}
		block, after, ok := strings.Cut(rest, "\n```\n")
		if !ok {
			return nil, errors.New("an unterminated ```sh block")
		}
		blocks = append(blocks, block+"\n")
		sec = after
	}
}

// lockedBuffer is a bytes.Buffer for a process's output read while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestReadmeByHand runs the README's "A 2-of-3 by hand (regtest)" section
// as a new user would: its shell blocks, taken from README.md, run by bash
// in the checkout, with HOME a fresh directory. The first block (the node,
// in its own terminal) runs in the background until the rest are done, and
// is then stopped as Ctrl-C would. The Go caches and the btcd binary are
// shared with the caller's, so nothing is downloaded twice.
func TestReadmeByHand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a btcd regtest node and builds the commands")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := shellBlocks(string(readme), readmeSection)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) < 2 || !strings.HasPrefix(blocks[0], "go run ./examples/regtest-node --dir ") || strings.Count(blocks[0], "\n") != 1 {
		t.Fatalf("the section must start with one block that starts the node; blocks: %q", blocks)
	}

	home := t.TempDir()
	env := []string{"HOME=" + home}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "HOME" || k == "XDG_CONFIG_HOME" || k == "XDG_DATA_HOME" || (strings.HasPrefix(k, "KINKO_") && k != "KINKO_BTCD") {
			continue
		}
		env = append(env, kv)
	}
	// Keep the caller's Go setup and caches, which live under the real HOME.
	goEnv, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH", "GOENV").Output()
	if err != nil {
		t.Fatal(err)
	}
	vals := strings.Split(strings.TrimSpace(string(goEnv)), "\n")
	for i, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOENV"} {
		env = append(env, k+"="+vals[i])
	}
	if cache, err := os.UserCacheDir(); err == nil {
		env = append(env, "XDG_CACHE_HOME="+cache) // where internal/regtest keeps btcd
	}

	run := func(script string, stdout, stderr *lockedBuffer) *exec.Cmd {
		cmd := exec.Command(bash, "-c", script)
		cmd.Dir = root
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = stdout, stderr
		// Its own session: no terminal to prompt on, and one signal
		// reaches every process it starts.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		return cmd
	}

	// Terminal 1: the node.
	var nodeOut, nodeErr lockedBuffer
	node := run("set -eu\n"+blocks[0], &nodeOut, &nodeErr)
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	nodeDone := make(chan error, 1)
	go func() { nodeDone <- node.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			syscall.Kill(-node.Process.Pid, syscall.SIGKILL)
			<-nodeDone
		}
	}()
	ready := time.After(3 * time.Minute)
	for !strings.Contains(nodeOut.String(), "export KINKO_RPC_HOST=") {
		select {
		case err := <-nodeDone:
			stopped = true
			t.Fatalf("the node exited: %v\n%s", err, nodeErr.String())
		case <-ready:
			t.Fatalf("the node printed no export line\n%s", nodeErr.String())
		case <-time.After(100 * time.Millisecond):
		}
	}

	// Terminal 2: the rest, in one shell, as typed one after the other.
	var out, errOut lockedBuffer
	script := "set -euxo pipefail\n" + strings.Join(blocks[1:], "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	user := run(script, &out, &errOut)
	err = user.Start()
	if err == nil {
		done := make(chan error, 1)
		go func() { done <- user.Wait() }()
		select {
		case err = <-done:
		case <-ctx.Done():
			syscall.Kill(-user.Process.Pid, syscall.SIGKILL)
			err = fmt.Errorf("timed out: %w", <-done)
		}
	}
	t.Logf("stdout:\n%s", out.String())
	if err != nil {
		t.Fatalf("the README's commands failed: %v\nstderr:\n%s\nnode:\n%s", err, errOut.String(), nodeErr.String())
	}

	// What the section promises: a node kinko is happy with, and a
	// confirmed spend of 0.3 BTC from the 1.5 received.
	o := out.String()
	if !strings.Contains(o, "ok: the node has what kinko needs") {
		t.Errorf("kinko node check did not say ok")
	}
	balances := regexp.MustCompile(`(?m)^confirmed: +([0-9.]+) BTC\nunconfirmed: +([0-9.]+) BTC`).FindAllStringSubmatch(o, -1)
	if len(balances) != 2 {
		t.Fatalf("want two balances, got %q", balances)
	}
	if balances[0][1] != "1.50000000" || balances[0][2] != "0.00000000" {
		t.Errorf("balance after funding: %q", balances[0][0])
	}
	if !strings.HasPrefix(balances[1][1], "1.19") || balances[1][2] != "0.00000000" {
		t.Errorf("balance after the spend: %q, want 1.19… confirmed", balances[1][0])
	}
	for _, f := range []string{"pw", "a.words", "b.words", "c.words", "node/rpc-password"} {
		fi, err := os.Stat(filepath.Join(home, "kinko-try", f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}

	// Ctrl-C in terminal 1. (go run itself exits 1 after an interrupt,
	// whatever the program did: look at what the program says and leaves.)
	syscall.Kill(-node.Process.Pid, syscall.SIGINT)
	select {
	case <-nodeDone:
		stopped = true
	case <-time.After(30 * time.Second):
		t.Fatalf("the node did not stop on Ctrl-C")
	}
	if msg := nodeErr.String(); !strings.Contains(msg, "stopping btcd") || strings.Contains(msg, "error:") {
		t.Errorf("the node did not stop cleanly:\n%s", msg)
	}
	if _, err := os.Stat(filepath.Join(home, "kinko-try", "node", stateFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the node's state file is still there after Ctrl-C: %v", err)
	}
}
