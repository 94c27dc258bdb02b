package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/kinko-project/kinko/internal/untrusted"
	"strings"

	"github.com/kinko-project/kinko/internal/cli"
	"github.com/kinko-project/kinko/signer"
	"github.com/kinko-project/kinko/wallet"
)

// history prints what the signer signed and the head of the history's
// hash chain; a broken chain is refused (exit 3), naming the entry.
func (e *env) history(args []string) error {
	fs := e.flags("history")
	asJSON := fs.Bool("json", false, "print the entries and the chain head as JSON")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return cli.Usagef("history takes no arguments")
	}
	ks, err := e.open()
	if err != nil {
		return err
	}
	h := ks.History()
	head, verr := h.Verify()
	if *asJSON {
		out := struct {
			Entries signer.History `json:"entries"`
			Head    string         `json:"head,omitempty"`
			Intact  bool           `json:"intact"`
		}{Entries: h, Intact: verr == nil}
		if verr == nil {
			out.Head = head.String()
		}
		if out.Entries == nil {
			out.Entries = signer.History{}
		}
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s\n", b)
	} else {
		var b strings.Builder
		for i, en := range h {
			// Names and addresses were checked when recorded; they are
			// quoted all the same, as the file could be edited.
			fmt.Fprintf(&b, "%d\t%s\t%q\t%s\tsent %s\n", i, en.Time.UTC().Format("2006-01-02T15:04:05Z"), en.Wallet, untrusted.Text(en.TxID), wallet.FormatAmount(en.Spent))
			if len(en.Outputs) == 0 {
				b.WriteString("\t(outputs not recorded)\n")
			}
			for j, o := range en.Outputs {
				to := "external"
				switch {
				case o.Change:
					to = "change"
				case o.Destination != "":
					to = fmt.Sprintf("registered wallet %q", o.Destination)
				}
				fmt.Fprintf(&b, "\toutput %d: %s %s %s\n", j, wallet.FormatAmount(o.Amount), to, untrusted.Text(o.Address))
			}
		}
		if verr == nil {
			fmt.Fprintf(&b, "%d entries, chain head %s\n", len(h), head)
		} else {
			fmt.Fprintf(&b, "%d entries, chain broken\n", len(h))
		}
		fmt.Fprint(e.stdout, b.String())
	}
	if errors.Is(verr, signer.ErrHistoryBroken) {
		return cli.WithHint(cli.ExitRefused, verr, "the keystore's signing history was altered; the daily limit counts from it")
	}
	return verr
}
