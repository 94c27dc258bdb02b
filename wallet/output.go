package wallet

import "fmt"

// OutputType names the kind of an output script: "p2pkh", "p2sh",
// "p2wpkh", "p2wsh", "p2tr", "witness vN" for other segwit programs, or
// "other".
func OutputType(pkScript []byte) string {
	s := pkScript
	switch {
	case len(s) == 25 && s[0] == opDup && s[1] == opHash160 && s[2] == 20 && s[23] == opEqualVerify && s[24] == opCheckSig:
		return "p2pkh"
	case len(s) == 23 && s[0] == opHash160 && s[1] == 20 && s[22] == opEqual:
		return "p2sh"
	}
	v, prog, ok := witnessProgram(s)
	switch {
	case !ok:
		return "other"
	case v == 0 && len(prog) == 20:
		return "p2wpkh"
	case v == 0 && len(prog) == 32:
		return "p2wsh"
	case v == 1 && len(prog) == 32:
		return "p2tr"
	}
	return fmt.Sprintf("witness v%d", v)
}

// DustThreshold is the smallest amount an output paying pkScript may
// carry and still be relayed: Bitcoin Core's dust rule (policy.cpp,
// GetDustThreshold) at its default dust relay fee of 3 sat/vB, the size
// of the output plus that of an input spending it. That is 546 sat for
// P2PKH, 540 for P2SH, 294 for P2WPKH, 330 for P2WSH and P2TR.
func DustThreshold(pkScript []byte) int64 {
	size := 8 + varIntSize(len(pkScript)) + len(pkScript)
	if _, _, ok := witnessProgram(pkScript); ok {
		size += 32 + 4 + 1 + 107/4 + 4 // the witness counts a quarter
	} else {
		size += 32 + 4 + 1 + 107 + 4
	}
	return int64(size) * 3
}
