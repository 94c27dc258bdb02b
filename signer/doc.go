// Package signer is the air-gapped side of kinko. A [Keystore] holds a
// BIP-39 seed encrypted at rest (age, scrypt), the wallets the signer
// agreed to co-sign ([Keystore.PrepareRegistration], [Keystore.Register])
// with an optional signing [Policy], the destinations it may pay but
// never signs for ([Keystore.PrepareDestination]), and the hash-chained
// [History] of what it signed.
//
// [Keystore.Sign] trusts nothing in a PSBT it cannot work out itself: every
// input must re-derive from the seed and a registered wallet, amounts come
// from previous transactions, change is change only if it re-derives on
// the wallet's change branch, an output pays a registered destination
// only if it re-derives from that destination's descriptor. It returns a
// [Review] to show the operator and, once approved, a PSBT holding only
// the new signatures. Anything it
// refuses wraps [ErrRefused] in a [RefusalError] naming the input or
// output and the reason, and nothing is signed.
//
// The package links no networking code.
package signer
