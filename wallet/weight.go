package wallet

// MaxSigSize is the largest ECDSA signature a PSBT input may carry: a
// 72-byte DER encoding plus the sighash byte.
const MaxSigSize = 73

// MaxInputWeight is the weight, in weight units, of one of the wallet's
// inputs once signed by its threshold of cosigners (or its one key),
// assuming the largest signatures: outpoint, sequence, scriptSig and
// witness. Fee estimates built on it never fall below the rate asked for.
//
// For tr() it is the heaviest script path: each leaf's threshold of
// signatures, an empty push for each other key, the script and its
// control block.
func (d *Descriptor) MaxInputWeight() int {
	der, err := d.Derive(false, 0)
	if err != nil {
		return 0
	}
	if d.st == P2TR {
		w := 0
		for _, l := range der.Taproot.Leaves {
			w = max(w, tapSpendWeight(l.Threshold, len(l.Keys), l.Script, len(l.ControlBlock)))
		}
		return w
	}
	return MaxSpendWeight(d.ScriptType(), d.Threshold(), der.Script)
}

// MaxTapSigSize is the largest BIP-340 signature a taproot input may
// carry: 64 bytes and a sighash byte other than DEFAULT.
const MaxTapSigSize = 65

// tapSpendWeight is the weight of a script-path input of an m-of-n leaf
// whose control block has cbLen bytes.
func tapSpendWeight(m, n int, script []byte, cbLen int) int {
	witness := varIntSize(n+2) + m*(1+MaxTapSigSize) + (n - m) +
		varIntSize(len(script)) + len(script) + varIntSize(cbLen) + cbLen
	return 4*(32+4+4+1) + witness
}

// MaxSpendWeight is the weight of an input spending an output of type st
// once signed, with the largest signatures: m of them for an m-of-n
// multisig whose witness or redeem script is script, one (and a
// compressed key) for the single-key types, whose script is ignored. For
// P2TR script is a multi_a leaf spent from a tree of that one leaf (a
// 33-byte control block). It is 0 for an unknown type.
func MaxSpendWeight(st ScriptType, m int, script []byte) int {
	if st == P2TR {
		_, keys, ok := ParseMultiA(script)
		if !ok {
			return 0
		}
		return tapSpendWeight(m, len(keys), script, 33)
	}
	sigs := m * (1 + MaxSigSize)
	n := len(script)
	witness := 0
	scriptSig := 0
	switch st {
	case P2WSH:
		witness = varIntSize(m+2) + 1 + sigs + varIntSize(n) + n
	case P2SHP2WSH:
		scriptSig = 1 + 34
		witness = varIntSize(m+2) + 1 + sigs + varIntSize(n) + n
	case P2SH:
		scriptSig = 1 + sigs + pushSize(n) + n
	case P2WPKH:
		// Witness: item count, <sig>, <33-byte key>.
		witness = 1 + 1 + MaxSigSize + 1 + 33
	case P2SHP2WPKH:
		// scriptSig: the push of the 22-byte program.
		scriptSig = 1 + 22
		witness = 1 + 1 + MaxSigSize + 1 + 33
	default:
		return 0
	}
	return 4*(32+4+4+varIntSize(scriptSig)+scriptSig) + witness
}

// OutputWeight is the weight of a transaction output paying pkScript.
func OutputWeight(pkScript []byte) int {
	return 4 * (8 + varIntSize(len(pkScript)) + len(pkScript))
}

func varIntSize(n int) int {
	switch {
	case n < 0xfd:
		return 1
	case n <= 0xffff:
		return 3
	case n <= 0xffffffff:
		return 5
	}
	return 9
}

// pushSize is the size of the opcode that pushes n bytes.
func pushSize(n int) int {
	switch {
	case n < 0x4c:
		return 1
	case n <= 0xff:
		return 2
	case n <= 0xffff:
		return 3
	}
	return 5
}
