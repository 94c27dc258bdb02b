package psbt

import (
	"bytes"
	"errors"
	"fmt"
)

// ErrDifferentTx means PSBTs for different unsigned transactions were
// combined.
var ErrDifferentTx = errors.New("psbts are for different transactions")

// ErrConflict means two PSBTs being combined have different values for the
// same key.
var ErrConflict = errors.New("conflicting values for the same key")

// Combine merges others into dst as the BIP-174 Combiner: every PSBT must
// have the same unsigned transaction (compared by serialisation, else
// ErrDifferentTx), and the result holds the union of the key-value pairs of
// every map. A pair present in several PSBTs with the same value (such as
// the same signature twice) is kept once; the same key with different values
// is an error (a *FieldError naming the map and key type, wrapping
// ErrConflict). Each PSBT must be valid (as for Serialize). On error dst is
// left unchanged.
func Combine(dst *Packet, others ...*Packet) error {
	global, inputs, outputs, err := dst.maps()
	if err != nil {
		return fmt.Errorf("psbt: combine: %w", err)
	}
	if _, err := dst.validate(global, inputs, outputs, ParseOptions{}); err != nil {
		return fmt.Errorf("psbt: combine: %w", err)
	}
	txBytes := dst.UnsignedTx.BytesNoWitness()
	for n, o := range others {
		if o == nil || o.UnsignedTx == nil {
			return fmt.Errorf("psbt: combine: psbt %d: %w", n+1, ErrMissingUnsignedTx)
		}
		if o.UnsignedTx.check() != nil || !bytes.Equal(o.UnsignedTx.BytesNoWitness(), txBytes) {
			return fmt.Errorf("psbt: combine: psbt %d: %w", n+1, ErrDifferentTx)
		}
		og, oi, oo, err := o.maps()
		if err != nil {
			return fmt.Errorf("psbt: combine: psbt %d: %w", n+1, err)
		}
		if _, err := o.validate(og, oi, oo, ParseOptions{}); err != nil {
			return fmt.Errorf("psbt: combine: psbt %d: %w", n+1, err)
		}
		if global, err = mergePairs(global, og, "global", nil); err != nil {
			return fmt.Errorf("psbt: combine: %w", err)
		}
		for i := range inputs {
			if inputs[i], err = mergePairs(inputs[i], oi[i], inputMap(i), sameUTXO); err != nil {
				return fmt.Errorf("psbt: combine: %w", err)
			}
		}
		for i := range outputs {
			if outputs[i], err = mergePairs(outputs[i], oo[i], outputMap(i), nil); err != nil {
				return fmt.Errorf("psbt: combine: %w", err)
			}
		}
	}
	merged, err := dst.validate(global, inputs, outputs, ParseOptions{})
	if err != nil {
		return fmt.Errorf("psbt: combine: %w", err)
	}
	*dst = *merged
	return nil
}

// sameUTXO treats two non-witness UTXOs with the same txid as equal (one
// may have had its witnesses stripped); the first one is kept.
func sameUTXO(key, a, b []byte) bool {
	if len(key) != 1 || key[0] != inNonWitnessUTXO {
		return false
	}
	ta, errA := parseTx(a, true)
	tb, errB := parseTx(b, true)
	return errA == nil && errB == nil && ta.TxID() == tb.TxID()
}

// mergePairs returns the union of a and b (each free of duplicate keys).
// Pairs with the same key must have equal values, or values that equivalent
// (if not nil) accepts.
func mergePairs(a, b []kv, name string, equivalent func(key, a, b []byte) bool) ([]kv, error) {
	idx := make(map[string]int, len(a))
	for i, pair := range a {
		idx[string(pair.key)] = i
	}
	for _, pair := range b {
		if i, ok := idx[string(pair.key)]; ok {
			if !bytes.Equal(a[i].value, pair.value) && (equivalent == nil || !equivalent(pair.key, a[i].value, pair.value)) {
				t, _, _ := keyType(pair.key)
				return nil, fieldErr(name, t, fmt.Errorf("%w %x", ErrConflict, pair.key))
			}
			continue
		}
		idx[string(pair.key)] = len(a)
		a = append(a, pair)
	}
	return a, nil
}
