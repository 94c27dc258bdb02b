// Package setup reads and writes the files in which multisig wallets
// travel between vendors: a descriptor (with or without checksum, ' or h),
// a receive and change descriptor pair (one a line, or Sparrow's export
// with its comments), Coldcard's multisig file, Caravan's and Specter's
// wallet JSON, a BIP-129 (BSMS 1.0) descriptor record, and a
// ur:crypto-output or ur:output-descriptor. [Read] detects the form by its
// content and gives the same [wallet.Descriptor] whichever form a wallet
// came in; [Write] writes each form, and every form it writes reads back
// to the same descriptor.
//
// # Networks
//
// Testnet, signet and regtest share tpub keys, so a file of tpub keys does
// not always say which network it is for. Read never guesses: it takes the
// network from its caller, or from the file (Caravan's network field,
// BSMS's first address), and otherwise reports [Setup.NetworkKnown] false,
// for the caller to ask.
//
// The package is used by the air-gapped signer and imports no networking.
package setup

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/kinko-project/kinko/wallet"
)

// Format is a form of wallet setup file.
type Format string

// The forms Read detects and Write writes.
const (
	Descriptor Format = "descriptor" // one descriptor with receive and change branches, <0;1>
	Pair       Format = "pair"       // the /0/* and /1/* descriptors, one a line (Sparrow, Bitcoin Core)
	Coldcard   Format = "coldcard"   // Coldcard's multisig setup file
	Caravan    Format = "caravan"    // Caravan's wallet configuration JSON
	Specter    Format = "specter"    // Specter Desktop's wallet backup JSON
	BSMS       Format = "bsms"       // a BIP-129 BSMS 1.0 descriptor record
	UR         Format = "ur"         // ur:crypto-output or ur:output-descriptor
)

// Formats lists every format, in the order of the package documentation.
var Formats = []Format{Descriptor, Pair, Coldcard, Caravan, Specter, BSMS, UR}

// ParseFormat returns the format called name.
func ParseFormat(name string) (Format, error) {
	for _, f := range Formats {
		if strings.EqualFold(name, string(f)) {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown wallet file format %q (want descriptor, pair, coldcard, caravan, specter, bsms or ur)", name)
}

// title names the format in errors.
func (f Format) title() string {
	switch f {
	case Pair:
		return "descriptor pair"
	case Coldcard:
		return "Coldcard file"
	case Caravan:
		return "Caravan file"
	case Specter:
		return "Specter file"
	case BSMS:
		return "BSMS record"
	case UR:
		return "UR"
	}
	return "descriptor"
}

// MaxSize is the largest setup file Read accepts. A 15-key Coldcard file
// takes about 2 KB.
const MaxSize = 256 << 10

// Errors callers may branch on. Every error of Read is an *Error wrapping
// one of these or an error of package wallet.
var (
	ErrUnknownFormat   = errors.New("not a wallet setup kinko knows")
	ErrInvalid         = errors.New("invalid wallet setup")
	ErrAddressMismatch = errors.New("first address does not match the descriptor")
	ErrScriptType      = errors.New("key of the wrong script type")
	ErrNoChange        = errors.New("no change branch")
)

// Error is what Read and Write report: the format, and the line (1-based)
// or field where the problem is, when there is one.
type Error struct {
	Format Format
	Line   int    // 0 if not about one line
	Field  string // "" if not about one field
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	inner := e.Err.Error()
	if e.Line == 0 && e.Field == "" && strings.HasPrefix(inner, e.Format.title()+": ") {
		return inner // a descriptor's own error already says "descriptor: "
	}
	b.WriteString(e.Format.title())
	if e.Line > 0 {
		fmt.Fprintf(&b, ": line %d", e.Line)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": %s", e.Field)
	}
	b.WriteString(": ")
	b.WriteString(inner)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func lineErr(f Format, line int, err error) error { return &Error{Format: f, Line: line, Err: err} }

func fieldErr(f Format, field string, err error) error {
	return &Error{Format: f, Field: field, Err: err}
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// Setup is a wallet read from a setup file.
type Setup struct {
	Format     Format
	Name       string // the wallet's name in the file; "" if it has none
	Descriptor *wallet.Descriptor
	// NetworkKnown is false when the network was neither given nor told
	// by the file and the keys are tpub keys (testnet, signet and regtest
	// alike): the descriptor is then on testnet, and the caller must ask
	// which network is meant and read the file again with it.
	NetworkKnown bool
	// Birthday is the block height the file says the wallet was made at
	// (Specter's blockheight), -1 if it does not say.
	Birthday int64
}

// Read reads a wallet setup in any form listed in [Formats], detected by
// its content. net, if not nil, is the wallet's network; a file that
// names another network is refused. The wallet must be a ranged multisig
// or single-key wallet with receive and change branches: a descriptor of
// /0/* alone (Specter, a crypto-output, a BSMS template) gets /1/* as its
// change branch, the convention of every wallet that writes one.
func Read(b []byte, net *wallet.Network) (*Setup, error) {
	if len(b) > MaxSize {
		return nil, &Error{Format: Descriptor, Err: fmt.Errorf("%w: %d bytes, at most %d", ErrInvalid, len(b), MaxSize)}
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(b) {
		return nil, &Error{Format: Descriptor, Err: fmt.Errorf("%w: not text", ErrUnknownFormat)}
	}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	trimmed := strings.TrimSpace(text)
	switch {
	case trimmed == "":
		return nil, &Error{Format: Descriptor, Err: fmt.Errorf("%w: empty", ErrUnknownFormat)}
	case strings.HasPrefix(trimmed, "{"):
		return readJSON([]byte(trimmed), net)
	case strings.HasPrefix(trimmed, "BSMS "):
		return readBSMS(text, net)
	case len(trimmed) > 3 && strings.EqualFold(trimmed[:3], "ur:"):
		return readUR(trimmed, net)
	case looksColdcard(text):
		return readColdcard(text, net)
	}
	return readDescriptors(text, net)
}

// resolve parses the descriptor text a reader built, on net if given, or
// else on the network the file named (fileNet, may be nil).
func resolve(f Format, text string, net, fileNet *wallet.Network) (*wallet.Descriptor, bool, error) {
	if net != nil && fileNet != nil && net != fileNet {
		return nil, false, &Error{Format: f, Err: fmt.Errorf("%w: the file is for %s, not %s", wallet.ErrNetworkMismatch, fileNet, net)}
	}
	use := net
	if use == nil {
		use = fileNet
	}
	d, err := wallet.ParseDescriptor(text, use)
	if err != nil {
		return nil, false, &Error{Format: f, Err: err}
	}
	return d, use != nil || d.Network() == wallet.Mainnet, nil
}

// checkWallet refuses what kinko cannot watch as a wallet.
func checkWallet(f Format, d *wallet.Descriptor) error {
	if !d.IsRange() {
		return &Error{Format: f, Err: fmt.Errorf("%w: the descriptor is not ranged (its keys need /<0;1>/*)", ErrNoChange)}
	}
	if !d.HasChange() {
		return &Error{Format: f, Err: fmt.Errorf("%w: the descriptor needs receive and change branches (/<0;1>/*)", ErrNoChange)}
	}
	if d.ScriptType() == wallet.P2TR && f != Descriptor && f != Pair {
		return &Error{Format: f, Err: fmt.Errorf("%w: kinko writes no %s for a taproot wallet; share its descriptor", ErrInvalid, f.title())}
	}
	return nil
}
