package chain

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// A node check: what the coordinator needs from a node and whether this
// one has it. It only reads; sendrawtransaction is never called.

// RPC error codes a check interprets.
const (
	codeMethodNotFound = -32601 // Core and btcd: no such method
	codeMisc           = -1     // btcd: "Command unimplemented"
)

// maxTipAge is how old the tip may be for a node that does not report
// initialblockdownload (btcd) to count as synced; Core's own threshold.
const maxTipAge = 24 * time.Hour

// RPCCheck says whether the node answered one RPC the coordinator uses.
type RPCCheck struct {
	Method   string
	Required bool   // the coordinator cannot work without it
	Answered bool   // the node knows the method (even if it refused the probe's arguments)
	Note     string // what it answered, or why not
}

// NodeCheck is the result of [Client.Check].
type NodeCheck struct {
	Chain     string // getblockchaininfo's chain: "main", "test", "testnet4", "signet", "regtest" (btcd: "mainnet", "testnet3", …); "" if unknown
	Height    int64
	Tip       string
	TipTime   time.Time
	Headers   int64 // -1: unknown
	IBD       *bool // Core's initialblockdownload; nil when the node does not report it (btcd)
	Synced    bool
	SyncNote  string // why it is not synced, or how that was judged
	Pruned    bool
	PruneFrom int64 // the lowest block still stored, when Pruned

	RPCs []RPCCheck

	RelayFee     float64 // sat/vB; -1: unknown
	MempoolTxs   int64   // -1: unknown
	MempoolBytes int64   // -1: unknown
	FeeRate      float64 // estimate for 6 blocks, sat/vB; 0: none
	Filters      string  // how the node serves BIP-158 block filters ("getblockfilter", "getcfilter"); "" if it does not
	FiltersNote  string
}

// OK reports whether the node has everything the coordinator needs: it is
// synced and answers every required RPC.
func (n *NodeCheck) OK() bool { return len(n.Problems()) == 0 }

// Problems lists what the node lacks, one short sentence each.
func (n *NodeCheck) Problems() []string {
	var p []string
	if !n.Synced {
		p = append(p, "the node is not synced: "+n.SyncNote)
	}
	for _, r := range n.RPCs {
		if r.Required && !r.Answered {
			p = append(p, fmt.Sprintf("the node does not answer %s (%s)", r.Method, r.Note))
		}
	}
	return p
}

// Check asks the node, with read-only calls, for what the coordinator
// needs: its chain, tip and sync state; each RPC the coordinator uses
// (sendrawtransaction is listed as required but not called); the relay
// fee, the mempool's size, a fee estimate, and whether block filters are
// served. err is only for a node that cannot be asked at all (see Dial).
func (c *Client) Check() (*NodeCheck, error) {
	n := &NodeCheck{Headers: -1, RelayFee: -1, MempoolTxs: -1, MempoolBytes: -1}
	add := func(method string, required bool, err error, note string) bool {
		ok := answered(err)
		if err != nil && note == "" || !ok {
			note = errText(err)
		}
		if note == "" {
			note = "ok"
		}
		n.RPCs = append(n.RPCs, RPCCheck{Method: method, Required: required, Answered: ok, Note: note})
		return ok
	}

	var err error
	n.Height, err = c.Height()
	if err != nil && !isRPCError(err) {
		return nil, err // unreachable, or the credentials were refused
	}
	add("getblockcount", true, err, fmt.Sprint(n.Height))

	var info struct {
		Chain                string  `json:"chain"`
		Headers              *int64  `json:"headers"`
		InitialBlockDownload *bool   `json:"initialblockdownload"`
		Pruned               bool    `json:"pruned"`
		PruneHeight          int64   `json:"pruneheight"`
		Progress             float64 `json:"verificationprogress"`
	}
	err = c.call(&info, "getblockchaininfo")
	add("getblockchaininfo", false, err, "")
	if err == nil {
		n.Chain, n.IBD, n.Pruned, n.PruneFrom = info.Chain, info.InitialBlockDownload, info.Pruned, info.PruneHeight
		if info.Headers != nil {
			n.Headers = *info.Headers
		}
	}

	n.Tip, err = c.BlockHash(n.Height)
	add("getblockhash", true, err, "")
	var hdr struct {
		Time int64 `json:"time"`
	}
	if n.Tip == "" {
		for _, m := range []string{"getblock", "getblockheader"} {
			add(m, true, errors.New("not tried: no tip hash"), "")
		}
	} else {
		var hexBlock string
		err = c.call(&hexBlock, "getblock", n.Tip, 0)
		add("getblock", true, err, "")
		err = c.call(&hdr, "getblockheader", n.Tip, true)
		add("getblockheader", true, err, "")
		if err == nil {
			n.TipTime = time.Unix(hdr.Time, 0).UTC()
		}
	}

	var txids []string
	err = c.call(&txids, "getrawmempool")
	add("getrawmempool", true, err, "")
	// Any txid will do: an unknown one must be answered "no such
	// transaction", not "no such method".
	probe := strings.Repeat("0", 64)
	if len(txids) > 0 {
		probe = txids[0]
	}
	var hexTx string
	err = c.call(&hexTx, "getrawtransaction", probe)
	add("getrawtransaction", true, err, "")
	// An empty transaction: the node must answer, and must not accept it.
	_, _, err = c.TestMempoolAccept([]byte{0})
	add("testmempoolaccept", true, err, "")
	n.RPCs = append(n.RPCs, RPCCheck{Method: "sendrawtransaction", Required: true, Answered: true, Note: "needed to broadcast; not called"})

	var smart struct {
		FeeRate *float64 `json:"feerate"`
	}
	errSmart := c.call(&smart, "estimatesmartfee", feeTarget)
	var legacy float64
	errLegacy := c.call(&legacy, "estimatefee", feeTarget)
	switch {
	case answered(errSmart):
		add("estimatesmartfee", false, errSmart, "")
	case answered(errLegacy):
		add("estimatefee", false, errLegacy, "")
	default:
		add("estimatesmartfee", false, errSmart, "")
	}
	if rate, err := c.FeeRate(); err == nil {
		n.FeeRate = rate
		n.RPCs[len(n.RPCs)-1].Note = fmt.Sprintf("%.1f sat/vB for 6 blocks", rate)
	} else if answered(errSmart) || answered(errLegacy) {
		n.RPCs[len(n.RPCs)-1].Note = "no estimate yet: give --feerate"
	}

	// Relay fee: getnetworkinfo on Core, getinfo on btcd.
	var netinfo struct {
		RelayFee *float64 `json:"relayfee"` // BTC/kvB
	}
	if err := c.call(&netinfo, "getnetworkinfo"); err != nil || netinfo.RelayFee == nil {
		_ = c.call(&netinfo, "getinfo")
	}
	if netinfo.RelayFee != nil {
		n.RelayFee = *netinfo.RelayFee * 1e5
	}
	var mp struct {
		Size  *int64 `json:"size"`
		Bytes *int64 `json:"bytes"`
	}
	if c.call(&mp, "getmempoolinfo") == nil && mp.Size != nil {
		n.MempoolTxs = *mp.Size
		if mp.Bytes != nil {
			n.MempoolBytes = *mp.Bytes
		}
	}

	if n.Tip != "" {
		var f json.RawMessage
		errCore := c.call(&f, "getblockfilter", n.Tip, "basic")
		errBtcd := c.call(&f, "getcfilter", n.Tip, 0)
		switch {
		case errCore == nil:
			n.Filters = "getblockfilter"
		case errBtcd == nil:
			n.Filters = "getcfilter"
		case answered(errCore):
			n.FiltersNote = errText(errCore) // Core without -blockfilterindex
		default:
			n.FiltersNote = "neither getblockfilter nor getcfilter is answered"
		}
	}

	n.Synced, n.SyncNote = synced(n, time.Now())
	return n, nil
}

// synced judges the sync state: Core's initialblockdownload where the node
// reports it, else the tip's age; and headers ahead of blocks means still
// catching up.
func synced(n *NodeCheck, now time.Time) (bool, string) {
	if n.Headers > n.Height {
		return false, fmt.Sprintf("%d blocks of %d headers", n.Height, n.Headers)
	}
	if n.IBD != nil {
		if *n.IBD {
			return false, "in initial block download"
		}
		return true, "not in initial block download"
	}
	if n.TipTime.IsZero() {
		return false, "the tip's time is unknown"
	}
	age := now.Sub(n.TipTime)
	if age > maxTipAge {
		return false, fmt.Sprintf("the tip is %s old (more than %s)", age.Truncate(time.Minute), maxTipAge)
	}
	return true, fmt.Sprintf("the tip is %s old", max(age, 0).Truncate(time.Second))
}

// answered reports whether the node knows the method: a result, or an
// error about the arguments rather than "no such method".
func answered(err error) bool {
	if err == nil {
		return true
	}
	var re *RPCError
	if !errors.As(err, &re) {
		return false
	}
	if re.Code == codeMethodNotFound {
		return false
	}
	return !(re.Code == codeMisc && strings.Contains(strings.ToLower(re.Message), "unimplemented"))
}

// errText is err's message without the package and method prefix.
func errText(err error) string {
	if err == nil {
		return "ok"
	}
	var re *RPCError
	if errors.As(err, &re) {
		return re.Error()
	}
	return err.Error()
}
