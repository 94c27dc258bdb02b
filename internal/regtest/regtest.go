// Package regtest runs a real btcd node on the regression-test network for
// tests and the demo.
//
// The node listens on 127.0.0.1 only, on ports chosen by the kernel, with
// random RPC credentials. It enforces mainnet standardness and fee policy
// (see [Start]), so that transactions kinko builds are judged here as a
// mainnet node would judge them. Coinbases pay a fixed, test-only faucet key;
// [Node.Fund] spends them.
//
// The btcd binary is built once from the version pinned in go.mod and cached
// in os.UserCacheDir()/kinko (see [Binary]).
package regtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/btcsuite/btcd/rpcclient"
)

// Options configures Start.
type Options struct {
	// Dir holds the node's data and logs. "" means a fresh temporary
	// directory, removed by Stop. A given Dir is kept by Stop, but note
	// that btcd deletes an existing regtest block database when it
	// starts: every Start begins a new chain, even in the same Dir.
	Dir string
	// Log receives the node's stdout and stderr; may be nil.
	Log io.Writer
	// Peer, if not "", is the P2P address (see [Node.P2PAddr]) of a node
	// to sync from. The new node then mines no blocks of its own at
	// start: it connects to Peer as by [Node.Connect] and Start returns
	// once it has the blocks Peer had when they connected.
	Peer string
}

// Node is a running btcd regtest node.
type Node struct {
	cmd     *exec.Cmd
	dir     string
	tempDir bool
	host    string
	p2p     string // P2P listen address, 127.0.0.1:port
	user    string
	pass    string
	client  *rpcclient.Client
	out     *tailBuffer

	exited  chan struct{} // closed when the process has exited
	waitErr error         // valid once exited is closed

	stopOnce sync.Once
	stopErr  error

	fmu    sync.Mutex // guards faucet and serialises Fund
	faucet *faucet
}

const (
	// MatureHeight is the height Start brings the chain to: the first
	// coinbases are then spendable.
	MatureHeight  = 101
	startTimeout  = 30 * time.Second
	startAttempts = 3
	mineChunk     = 50 // blocks per generate call, well within the HTTP timeout
)

// Start launches btcd on regtest and waits (at most 30 s, or less if ctx says
// so) for its RPC server, then mines up to height 101 so that the first
// coinbases are mature, or, with Options.Peer, syncs from the peer instead
// (at most 30 s more). On any failure the process is stopped.
//
// Flags beyond the obvious ones: --rejectnonstd (regtest relays
// non-standard transactions by default), and --norelaypriority with
// --limitfreerelay=0 so that, like Bitcoin Core, transactions below the
// minimum relay fee (default kept: 1 sat/vB) are rejected instead of being
// let in as "free high-priority" transactions. --txindex is on.
func Start(ctx context.Context, opts Options) (*Node, error) {
	bin, err := Binary(ctx)
	if err != nil {
		return nil, err
	}
	dir, tempDir := opts.Dir, false
	if dir == "" {
		if dir, err = os.MkdirTemp("", "kinko-regtest-"); err != nil {
			return nil, fmt.Errorf("regtest: %w", err)
		}
		tempDir = true
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("regtest: %w", err)
	}
	cleanup := func() {
		if tempDir {
			os.RemoveAll(dir)
		}
	}

	var lastErr error
	for attempt := 0; attempt < startAttempts; attempt++ {
		n, retry, err := launch(ctx, bin, dir, tempDir, opts.Log)
		if err == nil {
			prepare := n.init
			if opts.Peer != "" {
				prepare = func(ctx context.Context) error { return n.syncFrom(ctx, opts.Peer) }
			}
			if err := prepare(ctx); err != nil {
				n.Stop()
				return nil, err
			}
			return n, nil
		}
		lastErr = err
		if !retry || ctx.Err() != nil {
			break
		}
	}
	cleanup()
	return nil, lastErr
}

// launch starts one btcd process and waits for its RPC server. retry is true
// when it failed in a way a new pair of ports may fix.
func launch(ctx context.Context, bin, dir string, tempDir bool, log io.Writer) (n *Node, retry bool, err error) {
	rpcPort, err := freePort()
	if err != nil {
		return nil, false, err
	}
	p2pPort, err := freePort()
	if err != nil {
		return nil, false, err
	}
	if p2pPort == rpcPort {
		return nil, true, errors.New("regtest: kernel gave the same port twice")
	}
	n = &Node{
		dir:     dir,
		tempDir: tempDir,
		host:    net.JoinHostPort("127.0.0.1", strconv.Itoa(rpcPort)),
		p2p:     net.JoinHostPort("127.0.0.1", strconv.Itoa(p2pPort)),
		user:    "kinko-" + randHex(4),
		pass:    randHex(16),
		out:     &tailBuffer{max: 16 << 10},
		exited:  make(chan struct{}),
		faucet:  newFaucet(),
	}
	// Credentials go in a private config file rather than on the command
	// line, where any local user could read them.
	conf := filepath.Join(dir, "btcd.conf")
	confText := fmt.Sprintf("[Application Options]\nrpcuser=%s\nrpcpass=%s\n", n.user, n.pass)
	if err := os.WriteFile(conf, []byte(confText), 0o600); err != nil {
		return nil, false, fmt.Errorf("regtest: %w", err)
	}
	args := []string{
		"--configfile=" + conf,
		"--regtest",
		"--datadir=" + filepath.Join(dir, "data"),
		"--logdir=" + filepath.Join(dir, "logs"),
		"--rpclisten=" + n.host,
		"--listen=" + n.p2p,
		"--notls",
		"--nodnsseed",
		"--miningaddr=" + faucetAddress(),
		"--txindex",
		"--rejectnonstd",
		"--norelaypriority",
		"--limitfreerelay=0",
		"--debuglevel=info",
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var w io.Writer = n.out
	if log != nil {
		w = io.MultiWriter(log, n.out)
	}
	cmd.Stdout, cmd.Stderr = w, w
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return nil, false, fmt.Errorf("regtest: start btcd: %w", err)
	}
	n.cmd = cmd
	go func() {
		n.waitErr = cmd.Wait()
		close(n.exited)
	}()

	if err := n.waitReady(ctx); err != nil {
		n.kill()
		out := n.out.String()
		retry = strings.Contains(out, "address already in use")
		return nil, retry, fmt.Errorf("%w\nbtcd output (tail):\n%s", err, out)
	}
	n.client, err = rpcclient.New(&rpcclient.ConnConfig{
		Host:         n.host,
		User:         n.user,
		Pass:         n.pass,
		HTTPPostMode: true,
		DisableTLS:   true,
	}, nil)
	if err != nil {
		n.kill()
		return nil, false, fmt.Errorf("regtest: rpc client: %w", err)
	}
	return n, false, nil
}

// init brings the chain to MatureHeight.
func (n *Node) init(ctx context.Context) error {
	h, err := n.Height()
	if err != nil {
		return err
	}
	for h < MatureHeight {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("regtest: %w", err)
		}
		k := min(MatureHeight-h, mineChunk)
		if _, err := n.Mine(int(k)); err != nil {
			return err
		}
		h += k
	}
	return nil
}

// waitReady polls getblockcount until it answers, the process exits, or the
// start timeout (or ctx) expires. It talks HTTP directly: rpcclient retries
// failed connections for ~20 s on its own.
func (n *Node) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	hc := &http.Client{Timeout: 2 * time.Second}
	body := []byte(`{"jsonrpc":"1.0","id":1,"method":"getblockcount","params":[]}`)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+n.host, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("regtest: %w", err)
		}
		req.SetBasicAuth(n.user, n.pass)
		req.Header.Set("Content-Type", "application/json")
		if resp, err := hc.Do(req); err == nil {
			var r struct {
				Result json.RawMessage `json:"result"`
			}
			derr := json.NewDecoder(resp.Body).Decode(&r)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && derr == nil && len(r.Result) > 0 {
				return nil
			}
		}
		select {
		case <-n.exited:
			return fmt.Errorf("regtest: btcd exited during startup: %v", n.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("regtest: btcd RPC not ready after %v: %w", startTimeout, ctx.Err())
		case <-tick.C:
		}
	}
}

// kill ends the process at once and waits for it.
func (n *Node) kill() {
	if n.cmd != nil && n.cmd.Process != nil {
		_ = n.cmd.Process.Kill()
		<-n.exited
	}
}

// Stop kills the node, waits for the process to exit and removes a temporary
// data directory. With an explicit Options.Dir it first interrupts btcd and
// gives it 10 s to shut down cleanly (so its logs are complete). Stop is
// idempotent.
func (n *Node) Stop() error {
	n.stopOnce.Do(func() {
		if n.client != nil {
			n.client.Shutdown()
		}
		switch {
		case n.cmd == nil || n.cmd.Process == nil:
		case n.tempDir:
			n.kill() // the data is thrown away: no need for a clean shutdown
		default:
			// A clean shutdown, for complete logs in the kept Dir.
			_ = n.cmd.Process.Signal(os.Interrupt)
			select {
			case <-n.exited:
			case <-time.After(10 * time.Second):
				n.kill()
			}
		}
		if n.tempDir {
			n.stopErr = os.RemoveAll(n.dir)
		}
	})
	return n.stopErr
}

// RPC returns the node's RPC address (127.0.0.1:port) and credentials. TLS is
// off.
func (n *Node) RPC() (host, user, pass string) { return n.host, n.user, n.pass }

// Dir returns the node's data directory.
func (n *Node) Dir() string { return n.dir }

// Exited is closed when the btcd process has exited, whether by Stop or on
// its own. For a node from [Attach] it is never closed.
func (n *Node) Exited() <-chan struct{} { return n.exited }

// Client returns an rpcclient in HTTP POST mode connected to the node. It is
// shut down by Stop.
func (n *Node) Client() *rpcclient.Client { return n.client }

// Mine mines k blocks with btcd's generate RPC (including the mempool's
// transactions) and returns their hashes. Coinbases pay the faucet.
func (n *Node) Mine(k int) ([]string, error) {
	if k < 0 {
		return nil, fmt.Errorf("regtest: mine %d blocks: negative count", k)
	}
	hashes := make([]string, 0, k)
	for k > 0 {
		c := min(k, mineChunk)
		hs, err := n.client.Generate(uint32(c))
		if err != nil {
			return hashes, fmt.Errorf("regtest: generate: %w", err)
		}
		for _, h := range hs {
			hashes = append(hashes, h.String())
		}
		k -= c
	}
	return hashes, nil
}

// Height returns the height of the node's best block.
func (n *Node) Height() (int64, error) {
	h, err := n.client.GetBlockCount()
	if err != nil {
		return 0, fmt.Errorf("regtest: getblockcount: %w", err)
	}
	return h, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("regtest: pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
