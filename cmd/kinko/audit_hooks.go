package main

import (
	"database/sql"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/coordinator/treasury"
)

// These record treasury actions in the audit log; they are wired to it
// once the log lands.
func recordTreasurySet(tx *sql.Tx, raw []byte) error                                  { return nil }
func recordRebalance(c *coordinator.Coordinator, p *treasury.Proposal) error          { return nil }
func recordSweep(c *coordinator.Coordinator, s *coordinator.Session, to string) error { return nil }
