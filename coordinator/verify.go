package coordinator

import (
	"bytes"
	"fmt"

	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"
	"github.com/kinko-project/kinko/internal/psbt"
)

// verifyScripts runs btcd's script engine over every input of tx, with
// the standard verification flags, before anything is shown to the node.
// It is an independent implementation from kinko's own finalizer.
func verifyScripts(p *psbt.Packet, tx *psbt.Tx) error {
	var msg wire.MsgTx
	if err := msg.Deserialize(bytes.NewReader(tx.Bytes())); err != nil {
		return fmt.Errorf("finalized transaction: %w", err)
	}
	prevOuts := make(map[wire.OutPoint]*wire.TxOut, len(msg.TxIn))
	for i, in := range msg.TxIn {
		utxo, err := p.InputUTXO(i)
		if err != nil {
			return fmt.Errorf("input %d: %w", i, err)
		}
		prevOuts[in.PreviousOutPoint] = wire.NewTxOut(utxo.Value, utxo.PkScript)
	}
	fetcher := txscript.NewMultiPrevOutFetcher(prevOuts)
	hashes := txscript.NewTxSigHashes(&msg, fetcher)
	for i, in := range msg.TxIn {
		prev := prevOuts[in.PreviousOutPoint]
		vm, err := txscript.NewEngine(prev.PkScript, &msg, i, txscript.StandardVerifyFlags, nil, hashes, prev.Value, fetcher)
		if err != nil {
			return fmt.Errorf("input %d: script engine: %w", i, err)
		}
		if err := vm.Execute(); err != nil {
			return fmt.Errorf("input %d: signed script does not verify: %w", i, err)
		}
	}
	return nil
}
