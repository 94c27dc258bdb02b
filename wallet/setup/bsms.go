package setup

import (
	"fmt"
	"strings"

	"github.com/kinko-project/kinko/wallet"
)

// A BIP-129 descriptor record (BSMS 1.0, round 2, unencrypted): the
// version line "BSMS 1.0", a descriptor or a descriptor template (keys
// ending in /**), the path restrictions ("/0/*,/1/*" or "No path
// restrictions") and the wallet's first address, which must be the
// descriptor's (from the first path restriction).

const (
	bsmsVersion    = "BSMS 1.0"
	noRestrictions = "No path restrictions"
)

func readBSMS(text string, net *wallet.Network) (*Setup, error) {
	const f = BSMS
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		lines = append(lines, strings.TrimSpace(l))
	}
	if len(lines) == 5 {
		return nil, &Error{Format: f, Err: fmt.Errorf("%w: a BSMS key record (round 1), not a wallet: give it to 'kinko wallet create --key'", ErrUnknownFormat)}
	}
	if len(lines) != 4 {
		return nil, &Error{Format: f, Err: invalidf("%d lines, a descriptor record has 4 (version, descriptor, path restrictions, first address)", len(lines))}
	}
	if lines[0] != bsmsVersion {
		return nil, lineErr(f, 1, invalidf("version %q, kinko reads %q", clip(lines[0]), bsmsVersion))
	}
	desc, restr, addr := lines[1], lines[2], lines[3]
	switch {
	case restr == noRestrictions:
		if strings.Contains(desc, "/**") {
			return nil, lineErr(f, 3, invalidf("a descriptor template needs path restrictions"))
		}
	case strings.ReplaceAll(restr, " ", "") == "/0/*,/1/*":
		if !strings.Contains(desc, "/**") {
			return nil, lineErr(f, 3, invalidf("path restrictions without a descriptor template (keys ending in /**)"))
		}
		desc = strings.ReplaceAll(desc, "/**", "/<0;1>/*")
	default:
		return nil, lineErr(f, 3, invalidf("path restrictions %q: kinko handles \"/0/*,/1/*\" (receive and change) or %q", clip(restr), noRestrictions))
	}
	d, err := wallet.ParseDescriptor(desc, net)
	if err != nil {
		return nil, lineErr(f, 2, err)
	}
	w, ok := widen(d)
	if !ok {
		if !d.IsRange() {
			return nil, lineErr(f, 2, fmt.Errorf("%w: the descriptor is not ranged; kinko watches wallets of many addresses (keys ending in /** or /<0;1>/*)", ErrNoChange))
		}
		return nil, lineErr(f, 2, fmt.Errorf("%w: every key must end in /** with restrictions /0/*,/1/*, or in /<0;1>/*", ErrNoChange))
	}
	// The first address tells the network among those of the keys' family,
	// unless two share its form (testnet and signet).
	var fileNet *wallet.Network
	matched := 0
	for _, n := range wallet.Networks {
		if net != nil && n != net {
			continue
		}
		wd, err := wallet.ParseDescriptor(w, n)
		if err != nil {
			continue
		}
		first, err := wd.Derive(false, 0)
		if err != nil {
			return nil, lineErr(f, 2, err)
		}
		if first.Address == addr {
			fileNet = n
			matched++
		}
	}
	if matched == 0 {
		return nil, lineErr(f, 4, fmt.Errorf("%w: %q is not the descriptor's first receive address", ErrAddressMismatch, clip(addr)))
	}
	if matched > 1 {
		fileNet = nil // testnet or signet: the address cannot tell
	}
	d2, known, err := resolve(f, w, net, fileNet)
	if err != nil {
		return nil, err
	}
	return &Setup{Format: f, Descriptor: d2, NetworkKnown: known, Birthday: -1}, nil
}
