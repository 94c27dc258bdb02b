// Package flock takes an exclusive advisory lock on a file, held by the
// process until it unlocks or exits: for work that two processes must not
// do at once (building the regtest node, upgrading the coordinator's
// store).
package flock
