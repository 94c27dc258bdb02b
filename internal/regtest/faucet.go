package regtest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcjson"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// faucetKeyTESTONLY is the private key every coinbase of a regtest node pays
// to. It is public (it is in this source file): it must never hold value on
// a real network. It is sha256("kinko regtest faucet - TEST ONLY - never use
// on a real network").
const faucetKeyTESTONLY = "78841c204bfebfbe3319c571610333e2f72d85038073e1502c25718b267ddf02"

const (
	// FundFeeRate is the fee rate of Fund transactions, in sat/vB.
	FundFeeRate = 2
	// changeDust: change below this is left to the fee.
	changeDust = 1000
	// coinbaseMaturity is regtest's (and mainnet's) coinbase maturity.
	coinbaseMaturity = 100
	// maxFundMine bounds how many blocks one Fund call may mine when the
	// faucet's mature coins do not cover the amount.
	maxFundMine = 1000
)

var (
	faucetPriv     *btcec.PrivateKey
	faucetPkScript []byte // P2WPKH
	faucetAddr     string
)

func init() {
	b, err := hex.DecodeString(faucetKeyTESTONLY)
	if err != nil {
		panic(err)
	}
	priv, pub := btcec.PrivKeyFromBytes(b)
	addr, err := address.NewAddressWitnessPubKeyHash(
		address.Hash160(pub.SerializeCompressed()), &chaincfg.RegressionNetParams)
	if err != nil {
		panic(err)
	}
	script, err := txscript.PayToAddrScript(addr)
	if err != nil {
		panic(err)
	}
	faucetPriv, faucetPkScript, faucetAddr = priv, script, addr.EncodeAddress()
}

func faucetAddress() string { return faucetAddr }

// FaucetPkScript returns the P2WPKH script the node's coinbases pay to.
func FaucetPkScript() []byte { return bytes.Clone(faucetPkScript) }

// utxo is an output paying the faucet.
type utxo struct {
	value    int64
	height   int64 // 0: unconfirmed
	coinbase bool
}

// faucet is a minimal wallet for the faucet key. It learns coins by
// scanning blocks (coinbases mined by anyone pay the faucet) and by
// remembering its own transactions, which may be chained unconfirmed.
type faucet struct {
	utxos       map[wire.OutPoint]utxo
	scanned     int64 // last block scanned; 0 = none
	scannedHash chainhash.Hash
}

func newFaucet() *faucet { return &faucet{utxos: map[wire.OutPoint]utxo{}} }

// applyTx records tx's effect on the faucet's coins.
func (f *faucet) applyTx(tx *wire.MsgTx, height int64, coinbase bool) {
	if !coinbase {
		for _, in := range tx.TxIn {
			delete(f.utxos, in.PreviousOutPoint)
		}
	}
	f.addOutputs(tx, height, coinbase)
}

func (f *faucet) addOutputs(tx *wire.MsgTx, height int64, coinbase bool) {
	h := tx.TxHash()
	for i, out := range tx.TxOut {
		if bytes.Equal(out.PkScript, faucetPkScript) {
			f.utxos[wire.OutPoint{Hash: h, Index: uint32(i)}] = utxo{value: out.Value, height: height, coinbase: coinbase}
		}
	}
}

// sync brings the faucet up to the node's tip. After a reorg (or on first
// use) it rebuilds from the whole chain plus the mempool.
func (n *Node) syncFaucet() (tip int64, err error) {
	f := n.faucet
	tip, err = n.Height()
	if err != nil {
		return 0, err
	}
	if f.scanned > 0 {
		h, err := n.client.GetBlockHash(f.scanned)
		if err != nil || *h != f.scannedHash || f.scanned > tip {
			n.faucet = newFaucet()
			f = n.faucet
		}
	}
	fresh := f.scanned == 0
	for h := f.scanned + 1; h <= tip; h++ {
		hash, err := n.client.GetBlockHash(h)
		if err != nil {
			return 0, fmt.Errorf("regtest: faucet: getblockhash %d: %w", h, err)
		}
		blk, err := n.client.GetBlock(hash)
		if err != nil {
			return 0, fmt.Errorf("regtest: faucet: getblock %d: %w", h, err)
		}
		for i, tx := range blk.Transactions {
			f.applyTx(tx, h, i == 0)
		}
		f.scanned, f.scannedHash = h, *hash
	}
	if fresh {
		// Unconfirmed faucet transactions (e.g. from before a reorg).
		txids, err := n.client.GetRawMempool()
		if err != nil {
			return 0, fmt.Errorf("regtest: faucet: getrawmempool: %w", err)
		}
		var txs []*wire.MsgTx
		for _, id := range txids {
			tx, err := n.client.GetRawTransaction(id)
			if err != nil {
				continue // left the mempool meanwhile
			}
			txs = append(txs, tx.MsgTx())
		}
		// Outputs first, then spends, so the order of the list does
		// not matter.
		for _, tx := range txs {
			f.addOutputs(tx, 0, false)
		}
		for _, tx := range txs {
			for _, in := range tx.TxIn {
				delete(f.utxos, in.PreviousOutPoint)
			}
		}
	}
	return tip, nil
}

type coin struct {
	op wire.OutPoint
	utxo
}

// spendable lists the coins a transaction entering the next block may spend,
// largest first.
func (f *faucet) spendable(tip int64) []coin {
	var cs []coin
	for op, u := range f.utxos {
		if u.coinbase && u.height+coinbaseMaturity > tip+1 {
			continue
		}
		cs = append(cs, coin{op, u})
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].value != cs[j].value {
			return cs[i].value > cs[j].value
		}
		return bytes.Compare(cs[i].op.Hash[:], cs[j].op.Hash[:]) < 0
	})
	return cs
}

// Fund pays sats to pkScript from the faucet and returns the txid. The
// payment is always output 0 (change, if any, is output 1). The transaction
// is in the mempool, unconfirmed until Mine; it pays FundFeeRate sat/vB and
// may spend the unconfirmed change of earlier Fund calls, so any number of
// calls can be made in a row. If the faucet's mature coins do not suffice,
// Fund mines blocks (which also confirms whatever else is in the mempool).
func (n *Node) Fund(pkScript []byte, sats int64) (txid string, err error) {
	if len(pkScript) == 0 {
		return "", errors.New("regtest: fund: empty pkScript")
	}
	if sats <= 0 || sats > 21e6*1e8 {
		return "", fmt.Errorf("regtest: fund: invalid amount %d sats", sats)
	}
	n.fmu.Lock()
	defer n.fmu.Unlock()

	mined := 0
	retried := false
	for {
		tip, err := n.syncFaucet()
		if err != nil {
			return "", err
		}
		tx, spent, ok, err := buildFund(n.faucet.spendable(tip), pkScript, sats)
		if err != nil {
			return "", err
		}
		if !ok {
			if mined >= maxFundMine {
				return "", fmt.Errorf("regtest: fund %d sats: faucet still short after mining %d blocks", sats, mined)
			}
			// Each new block matures one more coinbase.
			k := min(max(int(sats/(25*1e8)), 1), 100)
			if _, err := n.Mine(k); err != nil {
				return "", err
			}
			mined += k
			continue
		}
		var buf bytes.Buffer
		if err := tx.Serialize(&buf); err != nil {
			return "", fmt.Errorf("regtest: fund: %w", err)
		}
		param, _ := json.Marshal(hex.EncodeToString(buf.Bytes()))
		res, err := n.client.RawRequest("sendrawtransaction", []json.RawMessage{param})
		if err != nil {
			var rpcErr *btcjson.RPCError
			if errors.As(err, &rpcErr) && !retried {
				// Our view of the faucet's coins may be stale (a
				// reorg, an eviction): rebuild it and try again.
				retried = true
				n.faucet = newFaucet()
				continue
			}
			return "", fmt.Errorf("regtest: fund: sendrawtransaction: %w", err)
		}
		if err := json.Unmarshal(res, &txid); err != nil {
			return "", fmt.Errorf("regtest: fund: sendrawtransaction result: %w", err)
		}
		for _, op := range spent {
			delete(n.faucet.utxos, op)
		}
		n.faucet.addOutputs(tx, 0, false)
		return txid, nil
	}
}

// buildFund selects coins (largest first) and builds and signs the funding
// transaction. ok is false when the coins do not cover sats plus the fee.
func buildFund(coins []coin, pkScript []byte, sats int64) (tx *wire.MsgTx, spent []wire.OutPoint, ok bool, err error) {
	tx = wire.NewMsgTx(2)
	tx.AddTxOut(wire.NewTxOut(sats, pkScript))
	prevOuts := map[wire.OutPoint]*wire.TxOut{}
	var in int64
	for _, c := range coins {
		tx.AddTxIn(&wire.TxIn{PreviousOutPoint: c.op, Sequence: wire.MaxTxInSequenceNum})
		prevOuts[c.op] = wire.NewTxOut(c.value, faucetPkScript)
		spent = append(spent, c.op)
		in += c.value

		withChange := vsizeWithDummyWitness(tx, true) * FundFeeRate
		if change := in - sats - withChange; change >= changeDust {
			tx.AddTxOut(wire.NewTxOut(change, faucetPkScript))
			break
		}
		if in-sats >= vsizeWithDummyWitness(tx, false)*FundFeeRate {
			break // no change: the remainder (< changeDust + fee) is fee
		}
	}
	if len(tx.TxIn) == 0 || in-sats < vsizeWithDummyWitness(tx, false)*FundFeeRate {
		return nil, nil, false, nil
	}

	fetcher := txscript.NewMultiPrevOutFetcher(prevOuts)
	sigHashes := txscript.NewTxSigHashes(tx, fetcher)
	for i, txIn := range tx.TxIn {
		w, err := txscript.WitnessSignature(tx, sigHashes, i, prevOuts[txIn.PreviousOutPoint].Value,
			faucetPkScript, txscript.SigHashAll, faucetPriv, true)
		if err != nil {
			return nil, nil, false, fmt.Errorf("regtest: fund: sign: %w", err)
		}
		txIn.Witness = w
	}
	return tx, spent, true, nil
}

// vsizeWithDummyWitness is tx's virtual size once every input carries a
// P2WPKH witness (a 72-byte signature, the most DER allows, and a 33-byte
// key), optionally with one more P2WPKH change output.
func vsizeWithDummyWitness(tx *wire.MsgTx, plusChange bool) int64 {
	t := tx.Copy()
	for _, in := range t.TxIn {
		in.Witness = wire.TxWitness{make([]byte, 72), make([]byte, 33)}
	}
	if plusChange {
		t.AddTxOut(wire.NewTxOut(0, faucetPkScript))
	}
	weight := int64(t.SerializeSizeStripped()*3 + t.SerializeSize())
	return (weight + 3) / 4
}
