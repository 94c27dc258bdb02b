package regtest

import (
	"context"
	"fmt"
	"time"

	"github.com/btcsuite/btcd/btcjson"
	"github.com/btcsuite/btcd/chainhash/v2"
)

// Peering: two nodes share a chain while connected and grow their own
// branches while not, which is how a test makes a real reorg (btcd has no
// invalidateblock). btcd in regtest makes no outbound connection on its own
// (its address manager ignores 127.0.0.1), so nodes talk only when told to.

const (
	// peerTimeout bounds Connect, Disconnect and the sync of Start with
	// Options.Peer.
	peerTimeout = 30 * time.Second
	pollEvery   = 50 * time.Millisecond
)

// P2PAddr returns the address (127.0.0.1:port) the node listens on for
// peers, as given to [Node.Connect] or Options.Peer.
func (n *Node) P2PAddr() string { return n.p2p }

// Connect makes a temporary outbound connection (btcd's "node connect
// temp") from the node to peer, another node's P2PAddr, and waits (at most
// 30 s) until the handshake is done. The nodes then relay transactions and
// blocks to each other and the one behind syncs from the other: see
// [Node.WaitTip]. btcd does not reconnect a temporary peer once it is
// disconnected. Connecting to a peer the node is already connected to does
// nothing (btcd itself would open a second connection).
func (n *Node) Connect(peer string) error {
	if ok, err := n.connected(peer); err != nil || ok {
		if err != nil {
			err = fmt.Errorf("regtest: connect to %s: %w", peer, err)
		}
		return err
	}
	if err := n.client.Node(btcjson.NConnect, peer, nil); err != nil {
		return fmt.Errorf("regtest: node connect %s: %w", peer, err)
	}
	err := n.poll(context.Background(), peerTimeout, func() (bool, error) {
		return n.connected(peer)
	})
	if err != nil {
		return fmt.Errorf("regtest: connect to %s: %w", peer, err)
	}
	return nil
}

// Disconnect drops the connection the node made to peer with Connect (or
// Options.Peer) and waits (at most 30 s) until the node no longer lists it.
// The peer learns of it when the TCP connection closes: a caller that needs
// both sides apart should wait for that too (getpeerinfo on the peer).
func (n *Node) Disconnect(peer string) error {
	if err := n.client.Node(btcjson.NDisconnect, peer, nil); err != nil {
		return fmt.Errorf("regtest: node disconnect %s: %w", peer, err)
	}
	err := n.poll(context.Background(), peerTimeout, func() (bool, error) {
		ok, err := n.connected(peer)
		return !ok, err
	})
	if err != nil {
		return fmt.Errorf("regtest: disconnect from %s: %w", peer, err)
	}
	return nil
}

// BestHash returns the hash of the node's best block.
func (n *Node) BestHash() (string, error) {
	h, err := n.client.GetBestBlockHash()
	if err != nil {
		return "", fmt.Errorf("regtest: getbestblockhash: %w", err)
	}
	return h.String(), nil
}

// WaitTip waits until the node's best block is hash, at most 30 s or less if
// ctx says so.
func (n *Node) WaitTip(ctx context.Context, hash string) error {
	want, err := chainhash.NewHashFromStr(hash)
	if err != nil {
		return fmt.Errorf("regtest: wait for tip %q: %w", hash, err)
	}
	err = n.poll(ctx, peerTimeout, func() (bool, error) {
		h, err := n.client.GetBestBlockHash()
		return err == nil && *h == *want, err
	})
	if err != nil {
		return fmt.Errorf("regtest: wait for tip %s: %w", hash, err)
	}
	return nil
}

// syncFrom connects to peer and waits until the node has as many blocks as
// the peer announced in the handshake. The node starts empty and mines
// nothing, so they are the peer's blocks.
func (n *Node) syncFrom(ctx context.Context, peer string) error {
	if err := n.Connect(peer); err != nil {
		return err
	}
	var target int64 = -1
	err := n.poll(ctx, peerTimeout, func() (bool, error) {
		if target < 0 {
			ps, err := n.client.GetPeerInfo()
			if err != nil {
				return false, err
			}
			for _, p := range ps {
				if p.Addr == peer && !p.Inbound {
					target = int64(p.StartingHeight)
				}
			}
			if target < 0 {
				return false, fmt.Errorf("peer %s is gone", peer)
			}
		}
		h, err := n.Height()
		return h >= target, err
	})
	if err != nil {
		return fmt.Errorf("regtest: sync from %s: %w", peer, err)
	}
	return nil
}

// connected reports whether the node has an outbound connection to peer.
func (n *Node) connected(peer string) (bool, error) {
	ps, err := n.client.GetPeerInfo()
	if err != nil {
		return false, fmt.Errorf("getpeerinfo: %w", err)
	}
	for _, p := range ps {
		if p.Addr == peer && !p.Inbound {
			return true, nil
		}
	}
	return false, nil
}

// poll calls done every 50 ms until it says true or fails, the node exits,
// or timeout (or ctx) expires.
func (n *Node) poll(ctx context.Context, timeout time.Duration, done func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		ok, err := done()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-n.exited:
			return fmt.Errorf("btcd exited: %v", n.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("gave up after %v: %w", timeout, ctx.Err())
		case <-tick.C:
		}
	}
}

// WaitNoPeers waits until the node has no peer left, at most 30 s or less
// if ctx says so: after a Disconnect, the other side notices in its own
// time.
func (n *Node) WaitNoPeers(ctx context.Context) error {
	err := n.poll(ctx, peerTimeout, func() (bool, error) {
		ps, err := n.client.GetPeerInfo()
		return err == nil && len(ps) == 0, err
	})
	if err != nil {
		return fmt.Errorf("regtest: wait for no peers: %w", err)
	}
	return nil
}
