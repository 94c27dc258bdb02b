package wallet

import (
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/address/v2/base58"
	"github.com/btcsuite/btcd/address/v2/bech32"
)

// ErrInvalidAddress is returned for a string that is not a valid address.
var ErrInvalidAddress = errors.New("invalid address")

// AddressFromScript returns the address of an output script: base58 for
// P2PKH and P2SH, bech32 for segwit v0 (P2WPKH, P2WSH), bech32m for v1 and
// later (P2TR and others). Any other script wraps ErrUnsupportedScript.
func AddressFromScript(pkScript []byte, net *Network) (string, error) {
	if net == nil {
		return "", errors.New("address: nil network")
	}
	s := pkScript
	switch {
	case len(s) == 25 && s[0] == opDup && s[1] == opHash160 && s[2] == 20 && s[23] == opEqualVerify && s[24] == opCheckSig:
		return base58.CheckEncode(s[3:23], net.P2PKH), nil
	case len(s) == 23 && s[0] == opHash160 && s[1] == 20 && s[22] == opEqual:
		return base58.CheckEncode(s[2:22], net.P2SH), nil
	}
	version, program, ok := witnessProgram(s)
	if !ok {
		return "", fmt.Errorf("address: %w", ErrUnsupportedScript)
	}
	if version == 0 && len(program) != 20 && len(program) != 32 {
		return "", fmt.Errorf("address: %w: witness v0 program of %d bytes", ErrUnsupportedScript, len(program))
	}
	data, err := bech32.ConvertBits(program, 8, 5, true)
	if err != nil {
		return "", fmt.Errorf("address: %w", err)
	}
	data = append([]byte{version}, data...)
	if version == 0 {
		return bech32.Encode(net.Bech32, data)
	}
	return bech32.EncodeM(net.Bech32, data)
}

// witnessProgram splits a segwit output script, OP_n <2..40 bytes>, into its
// version and program.
func witnessProgram(s []byte) (byte, []byte, bool) {
	if len(s) < 4 || len(s) > 42 || int(s[1]) != len(s)-2 {
		return 0, nil, false
	}
	switch {
	case s[0] == op0:
		return 0, s[2:], true
	case s[0] >= op1 && s[0] <= op16:
		return s[0] - op1 + 1, s[2:], true
	}
	return 0, nil, false
}

// ScriptFromAddress returns the output script an address pays to. It is
// strict: the checksum must hold; a segwit address must use its network's
// human-readable part (bc, tb, bcrt), bech32 for version 0 and bech32m for
// later versions, and a valid program length; a base58 address must use its
// network's version byte (testnet, signet and regtest share theirs). A valid
// address of another network wraps ErrNetworkMismatch, a bad checksum
// ErrChecksum, anything else ErrInvalidAddress.
func ScriptFromAddress(addr string, net *Network) ([]byte, error) {
	if net == nil {
		return nil, errors.New("address: nil network")
	}
	lower := strings.ToLower(addr)
	for _, hrp := range []string{"bc", "tb", "bcrt"} {
		if strings.HasPrefix(lower, hrp+"1") {
			return segwitScript(addr, net)
		}
	}
	return base58Script(addr, net)
}

func segwitScript(addr string, net *Network) ([]byte, error) {
	hrp, data, enc, err := bech32.DecodeGeneric(addr)
	if err != nil {
		var ce bech32.ErrInvalidChecksum
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("address: %w", ErrChecksum)
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalidAddress, err)
	}
	if len(data) < 1 || data[0] > 16 {
		return nil, fmt.Errorf("%w: bad witness version", ErrInvalidAddress)
	}
	version := data[0]
	program, err := bech32.ConvertBits(data[1:], 5, 8, false)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidAddress, err)
	}
	switch {
	case len(program) < 2 || len(program) > 40:
		return nil, fmt.Errorf("%w: witness program of %d bytes", ErrInvalidAddress, len(program))
	case version == 0 && len(program) != 20 && len(program) != 32:
		return nil, fmt.Errorf("%w: witness v0 program of %d bytes", ErrInvalidAddress, len(program))
	case version == 0 && enc != bech32.Version0:
		return nil, fmt.Errorf("%w: witness v0 address must use bech32, not bech32m", ErrInvalidAddress)
	case version != 0 && enc != bech32.VersionM:
		return nil, fmt.Errorf("%w: witness v%d address must use bech32m, not bech32", ErrInvalidAddress, version)
	}
	if hrp != net.Bech32 {
		for _, n := range Networks {
			if n.Bech32 == hrp {
				return nil, fmt.Errorf("address: %w: %q is a %s address, not %s", ErrNetworkMismatch, addr, n, net)
			}
		}
		return nil, fmt.Errorf("%w: unknown prefix %q", ErrInvalidAddress, hrp)
	}
	s := []byte{op0, byte(len(program))}
	if version > 0 {
		s[0] = op1 - 1 + version
	}
	return append(s, program...), nil
}

func base58Script(addr string, net *Network) ([]byte, error) {
	if len(addr) > 64 {
		return nil, fmt.Errorf("%w: %d characters", ErrInvalidAddress, len(addr))
	}
	payload, version, err := base58.CheckDecode(addr)
	switch {
	case errors.Is(err, base58.ErrChecksum):
		return nil, fmt.Errorf("address: %w", ErrChecksum)
	case err != nil:
		return nil, fmt.Errorf("%w: not base58check", ErrInvalidAddress)
	case len(payload) != 20:
		return nil, fmt.Errorf("%w: %d-byte hash", ErrInvalidAddress, len(payload))
	}
	switch version {
	case net.P2PKH:
		s := append([]byte{opDup, opHash160, 20}, payload...)
		return append(s, opEqualVerify, opCheckSig), nil
	case net.P2SH:
		s := append([]byte{opHash160, 20}, payload...)
		return append(s, opEqual), nil
	}
	for _, n := range Networks {
		if version == n.P2PKH || version == n.P2SH {
			return nil, fmt.Errorf("address: %w: %q is a %s address, not %s", ErrNetworkMismatch, addr, n.Family(), net)
		}
	}
	return nil, fmt.Errorf("%w: unknown version byte %#02x", ErrInvalidAddress, version)
}
