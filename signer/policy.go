package signer

import (
	"fmt"
	"strings"
	"time"

	"github.com/kinko-project/kinko/wallet"
)

// Policy limits what a signer signs for a registered wallet, so that a
// compromised coordinator draining the wallet hits a limit. It is set at
// registration, kept inside the encrypted keystore, and shown at every
// review.
type Policy struct {
	// MaxPerTx caps what one transaction may send out (external outputs
	// plus fee), in satoshis; 0 means no cap.
	MaxPerTx int64 `json:"max_per_tx,omitempty"`
	// Daily caps what may be sent out over any 24 hours, counted from the
	// signer's own history; 0 means no cap.
	Daily int64 `json:"daily,omitempty"`
	// Allow, when not empty, lists the only external addresses that may
	// be paid.
	Allow []string `json:"allow,omitempty"`
}

// String describes the policy in one line.
func (p *Policy) String() string {
	var parts []string
	if p.MaxPerTx > 0 {
		parts = append(parts, "at most "+wallet.FormatAmount(p.MaxPerTx)+" per transaction")
	}
	if p.Daily > 0 {
		parts = append(parts, "at most "+wallet.FormatAmount(p.Daily)+" per 24 hours")
	}
	if len(p.Allow) > 0 {
		parts = append(parts, fmt.Sprintf("only to %d allowed addresses", len(p.Allow)))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// checkPolicy refuses a reviewed transaction that breaks w's policy,
// naming the rule.
func (ks *Keystore) checkPolicy(w *registered, r *Review, now time.Time) error {
	p := w.Policy
	if p == nil {
		return nil
	}
	spent := r.External + r.Fee
	if p.MaxPerTx > 0 && spent > p.MaxPerTx {
		return refuse("policy", "per-transaction limit: sends %s, the limit is %s", wallet.FormatAmount(spent), wallet.FormatAmount(p.MaxPerTx))
	}
	if len(p.Allow) > 0 {
		allowed := make(map[string]bool, len(p.Allow))
		for _, a := range p.Allow {
			allowed[a] = true
		}
		for j, out := range r.Outputs {
			if !out.Change && !allowed[out.Address] {
				return refuse("policy", "allowlist: output %d pays %s, which is not on the list", j, out.Address)
			}
		}
	}
	if p.Daily > 0 {
		var sum int64
		for _, h := range ks.data.History {
			if h.Wallet == w.Name && now.Sub(h.Time) < 24*time.Hour {
				sum += h.Spent
			}
		}
		if sum+spent > p.Daily {
			return refuse("policy", "daily limit: %s already signed in the last 24 hours, this adds %s, the limit is %s",
				wallet.FormatAmount(sum), wallet.FormatAmount(spent), wallet.FormatAmount(p.Daily))
		}
	}
	return nil
}
