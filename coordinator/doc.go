// Package coordinator is the online, watch-only side of kinko. It holds
// wallets as output descriptors in a SQLite file (multisig, or a single
// key in wpkh or sh(wpkh), such as an exchange's hot wallet), finds their coins on a
// node ([Coordinator.Sync]: blocks from each wallet's birthday with a gap
// limit on both branches, reorgs rolled back, then the mempool), builds
// PSBTs for the signers ([Coordinator.Spend], [BuildPSBT]), and runs each
// spend as a signing session: signatures are imported and verified one
// partial PSBT at a time ([Coordinator.Import]), combined, finalized with
// exactly the threshold of signatures and checked by btcd's script engine
// and the node ([Coordinator.Finalize]), and broadcast
// ([Coordinator.Broadcast]). Every change is committed durably before a
// call returns, so a stop of the process loses nothing reported done.
//
// The coordinator holds no private key.
package coordinator
