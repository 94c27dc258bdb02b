package regtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/btcsuite/btcd/rpcclient"
)

// Attach connects to a regtest node that another process started (for
// example examples/regtest-node) and returns a Node that can Fund, Mine and
// answer Height, but does not own the process: Stop only closes the RPC
// connection. The faucet works against any node started by this package,
// since its key is fixed and every coinbase pays it.
//
// Attach checks that something listens at host (waiting at most 10 s, or
// less if ctx says so), that the node accepts the credentials, and that it
// runs regtest.
func Attach(ctx context.Context, host, user, pass string) (*Node, error) {
	if host == "" {
		return nil, errors.New("regtest: attach: no host")
	}
	n := &Node{
		host:   host,
		user:   user,
		pass:   pass,
		out:    &tailBuffer{max: 1},
		exited: make(chan struct{}), // never closed: the process is not ours
		faucet: newFaucet(),
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, fmt.Errorf("regtest: attach to %s: %w", host, err)
	}
	conn.Close()
	n.client, err = rpcclient.New(&rpcclient.ConnConfig{
		Host:         host,
		User:         user,
		Pass:         pass,
		HTTPPostMode: true,
		DisableTLS:   true,
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("regtest: attach: rpc client: %w", err)
	}
	info, err := n.client.GetBlockChainInfo()
	if err != nil {
		n.Stop()
		return nil, fmt.Errorf("regtest: attach: getblockchaininfo: %w", err)
	}
	if info.Chain != "regtest" {
		n.Stop()
		return nil, fmt.Errorf("regtest: attach to %s: the node runs %q, not regtest", host, info.Chain)
	}
	return n, nil
}
