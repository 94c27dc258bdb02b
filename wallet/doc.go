// Package wallet is what a signer and a coordinator must agree on byte for
// byte: which keys make up a wallet, and which scripts and addresses it
// has.
//
// # Keys
//
// [ExtendedKey] is BIP-32 on secp256k1 with a strict parser: every invalid
// key of BIP-32's test vector 5 is refused with its own error, version
// bytes are checked against the [Network] in use, and SLIP-132 forms are
// accepted and converted, never written. [KeyRecord] is a cosigner's
// account key with its BIP-380 origin, "[fingerprint/48h/1h/0h/2h]tpub…",
// at the BIP-48 path [AccountPath] gives (BIP-84 and BIP-49 for single
// keys).
//
// # Wallets
//
// [Descriptor] is a BIP-380/381/382/383/389 output descriptor for
// wsh(sortedmulti), sh(wsh(sortedmulti)), sh(sortedmulti) and the multi
// forms, for taproot multisig tr(KEY,TREE) with multi_a/sortedmulti_a
// leaves (BIP-386, BIP-387; the internal key BIP-341's unspendable
// [NUMSKey] or a real key), and for single-key wpkh() and sh(wpkh())
// wallets (such as an exchange's hot wallet), with the BIP-380 checksum
// and the <0;1>
// multipath step for the receive and change branches. [Descriptor.Derive]
// gives, for one index, the scripts, the address, and each key with its
// full origin, as a PSBT needs them; for tr() also the internal and
// output keys and each leaf with its control block ([TaprootSpend]).
//
// # Networks, addresses, amounts
//
// A [Network] travels with every key and descriptor; regtest and signet
// share testnet's key versions, so their name is given where keys cannot
// tell. [ScriptFromAddress] and [AddressFromScript] convert strictly;
// [ParseAmount] reads BTC or satoshis without floating point.
//
// The package links no networking code: the air-gapped signer imports it.
package wallet
