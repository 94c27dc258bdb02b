package wallet_test

import (
	"fmt"

	"github.com/kinko-project/kinko/wallet"
)

// A 2-of-2 P2WSH treasury wallet from BIP-129 (BSMS): its checksum, its
// first receive address (the one BIP-129 publishes), and the full origin
// of the first key of its first change script.
func ExampleParseDescriptor() {
	d, err := wallet.ParseDescriptor("wsh(sortedmulti(2,"+
		"[1cf0bf7e/48'/0'/0'/2']xpub6FL8FhxNNUVnG64YurPd16AfGyvFLhh7S2uSsDqR3Qfcm6o9jtcMYwh6DvmcBF9qozxNQmTCVvWtxLpKTnhVLN3Pgnu2D3pAoXYFgVyd8Yz/<0;1>/*,"+
		"[4fc1dd4a/48'/0'/0'/2']xpub6EebMbEps7ZcV3FYEnddRsvrFWDrt2tiPmCeM7pPXQEmphvq9ZfJ1LWFUDjf3vxCeBuPrfyGrMazWUsYsetrnHatQZVLJH7LsgCjtMqdzgj/<0;1>/*))", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Threshold(), "of", len(d.Keys()), d.ScriptType(), "on", d.Network(), "#"+d.Checksum())
	receive, _ := d.Derive(false, 0)
	change, _ := d.Derive(true, 0)
	fmt.Println(receive.Address)
	fmt.Println(change.Keys[0].Origin)
	// Output:
	// 2 of 2 wsh on mainnet #xc2gy0ye
	// bc1qrgc6p3kylfztu06ysl752gwwuekhvtfh9vr7zg43jvu60mutamcsv948ej
	// 1cf0bf7e/48h/0h/0h/2h/1/0
}
