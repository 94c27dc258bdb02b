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
	// AllowWallets, when not empty, names the registered destinations
	// that may be paid: an output counts only once the signer has
	// re-derived it from the destination's descriptor. With Allow also
	// set, an output may be on either list; with either set, every output
	// that is not verified change must be on one.
	AllowWallets []string `json:"allow_wallets,omitempty"`
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
	switch {
	case len(p.Allow) > 0 && len(p.AllowWallets) > 0:
		parts = append(parts, fmt.Sprintf("only to %d allowed addresses or registered wallets %s", len(p.Allow), quoteList(p.AllowWallets)))
	case len(p.Allow) > 0:
		parts = append(parts, fmt.Sprintf("only to %d allowed addresses", len(p.Allow)))
	case len(p.AllowWallets) > 0:
		parts = append(parts, "only to registered wallets "+quoteList(p.AllowWallets))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
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
	if len(p.Allow) > 0 || len(p.AllowWallets) > 0 {
		allowed := make(map[string]bool, len(p.Allow))
		for _, a := range p.Allow {
			allowed[a] = true
		}
		wallets := make(map[string]bool, len(p.AllowWallets))
		for _, n := range p.AllowWallets {
			wallets[n] = true
		}
		for j, out := range r.Outputs {
			switch {
			case out.Change || allowed[out.Address]:
			case out.Destination != "" && wallets[out.Destination]:
			case len(p.AllowWallets) == 0:
				return refuse("policy", "allowlist: output %d pays %s, which is not on the list", j, out.Address)
			case out.Destination != "":
				return refuse("policy", "wallet allowlist: output %d pays registered wallet %q, which is not among %s", j, out.Destination, quoteList(p.AllowWallets))
			case len(p.Allow) > 0:
				return refuse("policy", "allowlists: output %d pays %s, which is neither on the address list nor a verified address of %s", j, out.Address, quoteList(p.AllowWallets))
			default:
				return refuse("policy", "wallet allowlist: output %d pays %s, which is not a verified address of %s", j, out.Address, quoteList(p.AllowWallets))
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
