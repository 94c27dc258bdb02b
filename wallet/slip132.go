package wallet

import (
	"fmt"

	"github.com/btcsuite/btcd/address/v2/base58"
)

// slip132Names are the SLIP-132 versions of public keys by script type,
// mainnet form first, then the test networks'.
var slip132Names = map[ScriptType][2]string{
	P2WSH:      {"Zpub", "Vpub"},
	P2SHP2WSH:  {"Ypub", "Upub"},
	P2WPKH:     {"zpub", "vpub"},
	P2SHP2WPKH: {"ypub", "upub"},
}

// SLIP132 returns the public key k in the SLIP-132 form of script type
// st: Zpub (Vpub on the test networks) for wsh multisig, Ypub (Upub) for
// sh-wsh, zpub (vpub) for wpkh and ypub (upub) for sh-wpkh. Wallets that
// take a key without its origin, such as Electrum, read the script type
// from it. Legacy sh has no SLIP-132 form; a private key is refused.
func (k *ExtendedKey) SLIP132(st ScriptType) (string, error) {
	if k.private {
		return "", fmt.Errorf("slip-132: only public keys are written")
	}
	names, ok := slip132Names[st]
	if !ok {
		return "", fmt.Errorf("slip-132: no form for script type %s (use the plain xpub)", st)
	}
	name := names[0]
	if k.net.Family() != Mainnet {
		name = names[1]
	}
	for v, kv := range keyVersions {
		if kv.name != name {
			continue
		}
		b := k.Serialize()
		copy(b[0:4], v[:])
		return base58.CheckEncode(b[1:], b[0]), nil
	}
	return "", fmt.Errorf("slip-132: no version for %s", name)
}
