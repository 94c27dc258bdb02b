package chain

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// Bulk reads: many calls of one method in JSON-RPC batches over one
// kept-alive connection.

// batchSize is how many calls with small results go in one request.
const batchSize = 2000

// MempoolTxIDs returns the txids now in the node's mempool.
func (c *Client) MempoolTxIDs() ([]string, error) {
	var txids []string
	if err := c.call(&txids, "getrawmempool"); err != nil {
		return nil, err
	}
	return txids, nil
}

// RawTransactions returns the raw transactions with the given txids (from
// the mempool; without -txindex a node knows no others), read in batches.
// A txid the node no longer has, mined or evicted meanwhile, gets nil.
func (c *Client) RawTransactions(txids []string) ([][]byte, error) {
	out := make([][]byte, 0, len(txids))
	for start := 0; start < len(txids); start += batchSize {
		end := min(start+batchSize, len(txids))
		params := make([][]any, end-start)
		for i, id := range txids[start:end] {
			params[i] = []any{id}
		}
		res, errs, err := c.batch("getrawtransaction", params)
		if err != nil {
			return nil, err
		}
		for i := range res {
			id := txids[start+i]
			if err := errs[i]; err != nil {
				var re *RPCError
				if errors.As(err, &re) && re.Code == codeNoTxInfo {
					out = append(out, nil)
					continue
				}
				return nil, fmt.Errorf("chain: getrawtransaction %s: %w", id, err)
			}
			raw, err := hexResult(res[i])
			if err != nil {
				return nil, fmt.Errorf("chain: getrawtransaction %s: bad hex: %w", id, err)
			}
			out = append(out, raw)
		}
	}
	return out, nil
}

// Mempool returns the raw transactions now in the node's mempool.
// Transactions that leave the mempool while it is being read are skipped.
func (c *Client) Mempool() ([][]byte, error) {
	ids, err := c.MempoolTxIDs()
	if err != nil {
		return nil, err
	}
	raws, err := c.RawTransactions(ids)
	if err != nil {
		return nil, err
	}
	txs := raws[:0]
	for _, r := range raws {
		if r != nil {
			txs = append(txs, r)
		}
	}
	return txs, nil
}

// BlockHashes returns the hashes of the blocks at heights from..to of the
// node's best chain, read in batches.
func (c *Client) BlockHashes(from, to int64) ([]string, error) {
	if from < 0 || to > math.MaxInt32 || from > to {
		return nil, fmt.Errorf("chain: getblockhash: heights %d..%d out of range", from, to)
	}
	hashes := make([]string, 0, to-from+1)
	for start := from; start <= to; start += batchSize {
		end := min(start+batchSize-1, to)
		params := make([][]any, 0, end-start+1)
		for h := start; h <= end; h++ {
			params = append(params, []any{h})
		}
		res, errs, err := c.batch("getblockhash", params)
		if err != nil {
			return nil, err
		}
		for i := range res {
			if errs[i] != nil {
				return nil, fmt.Errorf("chain: getblockhash %d: %w", start+int64(i), errs[i])
			}
			var h string
			if err := json.Unmarshal(res[i], &h); err != nil {
				return nil, fmt.Errorf("chain: getblockhash %d: unexpected result: %w", start+int64(i), err)
			}
			hashes = append(hashes, h)
		}
	}
	return hashes, nil
}

// Blocks returns the blocks with the given hashes, which are at heights
// from, from+1, …, in one batch of getblock calls. Each block's header is
// checked against its hash; that the blocks link up is the caller's to
// check, since the node's chain may change between calls.
func (c *Client) Blocks(hashes []string, from int64) ([]*Block, error) {
	params := make([][]any, len(hashes))
	for i, h := range hashes {
		params[i] = []any{h, 0}
	}
	res, errs, err := c.batch("getblock", params)
	if err != nil {
		return nil, err
	}
	blocks := make([]*Block, len(hashes))
	for i, hash := range hashes {
		if errs[i] != nil {
			return nil, fmt.Errorf("chain: getblock %s: %w", hash, errs[i])
		}
		raw, err := hexResult(res[i])
		res[i] = nil
		if err != nil {
			return nil, fmt.Errorf("chain: getblock %s: bad hex: %w", hash, err)
		}
		b, err := blockOf(hash, raw)
		if err != nil {
			return nil, err
		}
		b.Height = from + int64(i)
		b.Size = len(raw)
		blocks[i] = b
	}
	return blocks, nil
}

// OutPoint names a transaction output.
type OutPoint struct {
	TxID string
	Vout uint32
}

// Unspent reports for each outpoint whether the node's UTXO set holds it
// (gettxout, batched). With mempool set, outputs of mempool transactions
// count as unspent, and Bitcoin Core also reports an output spent by a
// mempool transaction as spent; btcd does not (it looks only at the
// chain for confirmed outputs).
func (c *Client) Unspent(ops []OutPoint, mempool bool) ([]bool, error) {
	out := make([]bool, 0, len(ops))
	for start := 0; start < len(ops); start += batchSize {
		end := min(start+batchSize, len(ops))
		params := make([][]any, end-start)
		for i, op := range ops[start:end] {
			params[i] = []any{op.TxID, op.Vout, mempool}
		}
		res, errs, err := c.batch("gettxout", params)
		if err != nil {
			return nil, err
		}
		for i := range res {
			op := ops[start+i]
			if err := errs[i]; err != nil {
				var re *RPCError
				if errors.As(err, &re) && re.Code == codeNoTxInfo {
					out = append(out, false) // btcd: no such transaction
					continue
				}
				return nil, fmt.Errorf("chain: gettxout %s:%d: %w", op.TxID, op.Vout, err)
			}
			out = append(out, len(res[i]) > 0 && string(res[i]) != "null")
		}
	}
	return out, nil
}
