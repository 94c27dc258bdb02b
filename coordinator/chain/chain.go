// Package chain is the coordinator's view of a Bitcoin node.
//
// It uses only RPCs that both Bitcoin Core and btcd answer, and it speaks in
// raw serialized transactions and blocks so that the coordinator does not
// depend on any node library's types. Hashes and txids are the usual
// byte-reversed hex strings.
package chain

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/btcsuite/btcd/rpcclient"
)

// ErrNoFeeEstimate is returned by FeeRate when the node has no estimate (a
// fresh node, a regtest chain without fee-paying history, btcd before it has
// seen 3 blocks): the caller must ask for an explicit fee rate.
var ErrNoFeeEstimate = errors.New("node has no fee estimate")

// ErrAuth is returned when the node refuses the RPC user and password.
var ErrAuth = errors.New("node refused the rpc credentials")

// feeTarget is the confirmation target FeeRate asks for, in blocks.
const feeTarget = 6

// maxFeeRate is the fee-rate ceiling passed to testmempoolaccept, in
// BTC/kvB: Bitcoin Core's default.
const maxFeeRate = 0.10

// RPC error codes the package interprets (shared by Core and btcd).
const (
	codeNoTxInfo        = -5  // no such mempool or blockchain transaction
	codeDeserialization = -22 // tx decode failed
)

// Config says how to reach a node's JSON-RPC server.
type Config struct {
	Host     string // host:port
	User     string
	Pass     string
	TLS      bool
	CertFile string // PEM certificate to trust when TLS is on; "" = system roots
	// CookieFile, if not "", is Bitcoin Core's cookie file: User and Pass
	// are read from it (see [ReadCookie]) at Dial, and again whenever the
	// node refuses them, since Core writes a new cookie at each start.
	CookieFile string
}

// Client talks to one node. It is safe for concurrent use.
type Client struct {
	mu      sync.Mutex // guards rpc, user, pass, retired
	rpc     *rpcclient.Client
	user    string
	pass    string
	cc      rpcclient.ConnConfig // without credentials
	cookie  string               // Config.CookieFile
	retired []*rpcclient.Client  // replaced after a cookie change; shut down by Close
	bulk    *batcher             // the transport: see batch.go
}

// Block is a block as the coordinator needs it.
type Block struct {
	Hash     string
	PrevHash string
	Height   int64
	Time     int64    // the header's timestamp, Unix seconds
	Txs      [][]byte // raw transactions, in block order, witness included
	Size     int      // serialized size in bytes (set by Blocks)
}

// RPCError is an error the node answered with. Errors returned by Client wrap
// it when the node refused a request (as opposed to being unreachable).
type RPCError struct {
	Code    int
	Message string
}

func (e *RPCError) Error() string { return fmt.Sprintf("rpc error %d: %s", e.Code, e.Message) }

// Dial connects to a node (HTTP POST mode, no TLS unless cfg.TLS) and checks
// that it answers getblockcount.
func Dial(cfg Config) (*Client, error) {
	if cfg.Host == "" {
		return nil, errors.New("chain: dial: no host")
	}
	if cfg.CookieFile != "" {
		var err error
		if cfg.User, cfg.Pass, err = ReadCookie(cfg.CookieFile); err != nil {
			return nil, fmt.Errorf("chain: dial %s: %w", cfg.Host, err)
		}
	}
	cc := rpcclient.ConnConfig{
		Host:         cfg.Host,
		HTTPPostMode: true,
		DisableTLS:   !cfg.TLS,
	}
	if cfg.TLS && cfg.CertFile != "" {
		pem, err := os.ReadFile(cfg.CertFile)
		if err != nil {
			return nil, fmt.Errorf("chain: dial %s: read certificate: %w", cfg.Host, err)
		}
		cc.Certificates = pem
	}
	// rpcclient retries a refused connection for about 20 s; fail fast
	// when nothing listens at all.
	conn, err := net.DialTimeout("tcp", cfg.Host, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("chain: dial %s: %w", cfg.Host, err)
	}
	conn.Close()
	rpc, err := newRPC(cc, cfg.User, cfg.Pass)
	if err != nil {
		return nil, fmt.Errorf("chain: dial %s: %w", cfg.Host, scrub(err, cfg.Pass))
	}
	c := &Client{rpc: rpc, user: cfg.User, pass: cfg.Pass, cc: cc, cookie: cfg.CookieFile}
	if c.bulk, err = newBatcher(&cc); err != nil {
		rpc.Shutdown()
		return nil, fmt.Errorf("chain: dial %s: %w", cfg.Host, err)
	}
	if _, err := c.Height(); err != nil {
		c.Close()
		if cfg.CookieFile != "" && errors.Is(err, ErrAuth) {
			return nil, fmt.Errorf("chain: dial %s: getblockcount: %w (from cookie %s)", cfg.Host, ErrAuth, cfg.CookieFile)
		}
		return nil, fmt.Errorf("chain: dial %s: getblockcount: %w", cfg.Host, errors.Unwrap(err))
	}
	return c, nil
}

// Close releases the client.
func (c *Client) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rpc := range append(c.retired, c.rpc) {
		rpc.Shutdown()
		rpc.WaitForShutdown()
	}
	c.bulk.http.CloseIdleConnections()
}

// Height returns the height of the node's best block.
func (c *Client) Height() (int64, error) {
	var h int64
	if err := c.call(&h, "getblockcount"); err != nil {
		return 0, err
	}
	return h, nil
}

// BlockHash returns the hash of the block at height in the node's best chain.
func (c *Client) BlockHash(height int64) (string, error) {
	// btcd truncates the height to 32 bits (1<<32 would give genesis).
	if height < 0 || height > math.MaxInt32 {
		return "", fmt.Errorf("chain: getblockhash: height %d out of range", height)
	}
	var h string
	if err := c.call(&h, "getblockhash", height); err != nil {
		return "", err
	}
	return h, nil
}

// blockOf parses raw, the node's answer to getblock hash, and checks that
// it is that block.
func blockOf(hash string, raw []byte) (*Block, error) {
	b, err := parseBlock(raw)
	if err != nil {
		return nil, fmt.Errorf("chain: getblock %s: %w", hash, err)
	}
	if b.Hash != hash {
		return nil, fmt.Errorf("chain: getblock %s: node returned block %s", hash, b.Hash)
	}
	return b, nil
}

// Block returns the block with the given hash, its transactions raw. The
// block's header hash is checked against hash.
func (c *Client) Block(hash string) (*Block, error) {
	var hexBlock string
	if err := c.call(&hexBlock, "getblock", hash, 0); err != nil {
		return nil, err
	}
	raw, err := hex.DecodeString(hexBlock)
	if err != nil {
		return nil, fmt.Errorf("chain: getblock %s: bad hex: %w", hash, err)
	}
	b, err := blockOf(hash, raw)
	if err != nil {
		return nil, err
	}
	var hdr struct {
		Height int64 `json:"height"`
	}
	if err := c.call(&hdr, "getblockheader", hash, true); err != nil {
		return nil, err
	}
	b.Height = hdr.Height
	return b, nil
}

// TestMempoolAccept asks the node whether it would accept rawTx into its
// mempool now (standardness, fees, scripts, inputs), without broadcasting.
// A rejection, including a transaction the node cannot decode, is ok=false
// with the node's reason; err is for failing to ask.
func (c *Client) TestMempoolAccept(rawTx []byte) (ok bool, reason string, err error) {
	var res []struct {
		Txid         string `json:"txid"`
		Allowed      bool   `json:"allowed"`
		RejectReason string `json:"reject-reason"`
		// Core ≥ 29 adds details to the short reason.
		RejectDetails string `json:"reject-details"`
	}
	// btcd requires maxfeerate (BTC/kvB); 0.10 is Core's default.
	err = c.call(&res, "testmempoolaccept", []string{hex.EncodeToString(rawTx)}, maxFeeRate)
	var re *RPCError
	if errors.As(err, &re) && re.Code == codeDeserialization {
		return false, re.Message, nil
	}
	if err != nil {
		return false, "", err
	}
	if len(res) != 1 {
		return false, "", fmt.Errorf("chain: testmempoolaccept: %d results for 1 transaction", len(res))
	}
	r := res[0]
	if r.Allowed {
		return true, "", nil
	}
	reason = r.RejectReason
	if r.RejectDetails != "" && r.RejectDetails != reason {
		reason += ": " + r.RejectDetails
	}
	if reason == "" {
		reason = "rejected (no reason given)"
	}
	return false, reason, nil
}

// Broadcast submits rawTx to the node and returns its txid. Submitting a
// transaction already in the mempool succeeds (btcd refuses it, Core does
// not; Broadcast makes both behave like Core).
//
// The node's own fee-rate ceiling is not relied on: btcd has none, Core's
// default is 0.10 BTC/kvB. Check fees before calling.
func (c *Client) Broadcast(rawTx []byte) (txid string, err error) {
	err = c.call(&txid, "sendrawtransaction", hex.EncodeToString(rawTx))
	var re *RPCError
	if errors.As(err, &re) {
		if id, perr := TxID(rawTx); perr == nil && c.inMempool(id) {
			return id, nil
		}
	}
	if err != nil {
		return "", err
	}
	return txid, nil
}

func (c *Client) inMempool(txid string) bool {
	var ids []string
	if c.call(&ids, "getrawmempool") != nil {
		return false
	}
	for _, id := range ids {
		if id == txid {
			return true
		}
	}
	return false
}

// FeeRate returns the node's fee-rate estimate for confirmation within 6
// blocks, in sat/vB: estimatesmartfee (Core), else estimatefee (btcd; Core
// removed it). ErrNoFeeEstimate means the node has none.
func (c *Client) FeeRate() (satPerVByte float64, err error) {
	var smart struct {
		FeeRate *float64 `json:"feerate"` // BTC/kvB
	}
	err = c.call(&smart, "estimatesmartfee", feeTarget)
	if err == nil && smart.FeeRate != nil && *smart.FeeRate > 0 {
		return *smart.FeeRate * 1e5, nil
	}
	if err != nil && !isRPCError(err) {
		return 0, err
	}
	var legacy float64 // BTC/kvB; -1 when there is no estimate
	err = c.call(&legacy, "estimatefee", feeTarget)
	if err == nil && legacy > 0 {
		return legacy * 1e5, nil
	}
	if err != nil && !isRPCError(err) {
		return 0, err
	}
	return 0, ErrNoFeeEstimate
}

func isRPCError(err error) bool {
	var re *RPCError
	return errors.As(err, &re)
}

// call performs one JSON-RPC call, decoding the result into out. Errors are
// lowercase, name the method, wrap *RPCError when the node refused, and never
// contain the RPC password.
func (c *Client) call(out any, method string, params ...any) error {
	raw := make([]json.RawMessage, len(params))
	for i, p := range params {
		b, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("chain: %s: %w", method, err)
		}
		raw[i] = b
	}
	_, pass := c.current()
	res, err := c.single(method, raw)
	if err != nil {
		if errors.Is(err, ErrAuth) {
			return fmt.Errorf("chain: %s: %w", method, ErrAuth)
		}
		return fmt.Errorf("chain: %s: %w", method, scrub(err, pass))
	}
	if err := json.Unmarshal(res, out); err != nil {
		return fmt.Errorf("chain: %s: unexpected result: %w", method, err)
	}
	return nil
}

// scrub keeps the RPC password out of an error's text, keeping the chain.
func scrub(err error, pass string) error {
	if err == nil || pass == "" || !strings.Contains(err.Error(), pass) {
		return err
	}
	return &scrubbed{msg: strings.ReplaceAll(err.Error(), pass, "****"), err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }
