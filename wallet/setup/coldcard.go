package setup

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/kinko-project/kinko/wallet"
)

// Coldcard's multisig setup file, as described in Coldcard's documentation
// (coldcard.com/docs/multisig, "Configuration File"): "Name:", "Policy: M
// of N", "Derivation:" (which applies to the keys after it, so that keys
// may have their own), "Format: P2WSH | P2SH-P2WSH | P2SH" and one line
// "XFP: xpub" per cosigner, '#' starting a comment. The wallet is always
// sortedmulti (BIP-67). Coldcard takes a missing Format as P2SH, and so
// does this reader; a missing Derivation is refused (Coldcard assumes a
// path from before firmware 3.2.1, which no current wallet writes).

// looksColdcard reports whether text has a Coldcard header or key line.
func looksColdcard(text string) bool {
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, _, ok := strings.Cut(l, ":")
		if !ok {
			return false
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "name", "policy", "derivation", "format":
			return true
		}
		return isXFP(strings.TrimSpace(k))
	}
	return false
}

// isXFP reports whether s is a fingerprint as Coldcard writes it: eight
// hex digits.
func isXFP(s string) bool {
	_, err := hex.DecodeString(s)
	return len(s) == 8 && err == nil
}

// coldcardFormat parses the Format line.
func coldcardFormat(s string) (wallet.ScriptType, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "P2WSH":
		return wallet.P2WSH, nil
	case "P2SH-P2WSH", "P2WSH-P2SH":
		return wallet.P2SHP2WSH, nil
	case "P2SH":
		return wallet.P2SH, nil
	}
	return 0, invalidf("format %q: want P2WSH, P2SH-P2WSH or P2SH", clip(s))
}

// clip shortens untrusted text quoted in an error.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// parsePolicy parses "M of N" (also "M/N").
func parsePolicy(s string) (m, n int, err error) {
	s = strings.TrimSpace(s)
	a, b, ok := strings.Cut(strings.ToLower(s), " of ")
	if !ok {
		a, b, ok = strings.Cut(s, "/")
	}
	if ok {
		m, err1 := strconv.Atoi(strings.TrimSpace(a))
		n, err2 := strconv.Atoi(strings.TrimSpace(b))
		if err1 == nil && err2 == nil && m >= 1 && n >= 1 && m <= n && n <= 15 {
			return m, n, nil
		}
	}
	return 0, 0, invalidf("policy %q: want \"M of N\", 1 <= M <= N <= 15", clip(s))
}

func readColdcard(text string, net *wallet.Network) (*Setup, error) {
	const f = Coldcard
	var (
		name     string
		m, n     int
		st       = wallet.P2SH
		deriv    wallet.Path
		hasDeriv bool
		records  []*wallet.KeyRecord
		keyLines []int
	)
	for i, raw := range strings.Split(text, "\n") {
		ln := i + 1
		l := strings.TrimSpace(raw)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			return nil, lineErr(f, ln, invalidf("expected \"Key: value\""))
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch strings.ToLower(k) {
		case "name":
			if v == "" || len(v) > 64 {
				return nil, lineErr(f, ln, invalidf("name must have 1 to 64 characters"))
			}
			name = v
		case "policy":
			var err error
			if m, n, err = parsePolicy(v); err != nil {
				return nil, lineErr(f, ln, err)
			}
		case "format":
			var err error
			if st, err = coldcardFormat(v); err != nil {
				return nil, lineErr(f, ln, err)
			}
		case "derivation":
			p, err := wallet.ParsePath(v)
			if err != nil {
				return nil, lineErr(f, ln, err)
			}
			deriv, hasDeriv = p, true
		default:
			if !isXFP(k) {
				return nil, lineErr(f, ln, invalidf("unknown line %q (want Name, Policy, Derivation, Format or XFP: xpub)", clip(k)))
			}
			if !hasDeriv {
				return nil, lineErr(f, ln, invalidf("key without a derivation: give a \"Derivation:\" line before it"))
			}
			fp, err := wallet.ParseFingerprint(strings.ToLower(k))
			if err != nil {
				return nil, lineErr(f, ln, err)
			}
			r, err := keyRecord(fp, deriv, v)
			if err != nil {
				return nil, lineErr(f, ln, err)
			}
			records = append(records, r)
			keyLines = append(keyLines, ln)
		}
	}
	if m == 0 {
		return nil, &Error{Format: f, Err: invalidf("no \"Policy: M of N\" line")}
	}
	if len(records) != n {
		return nil, &Error{Format: f, Err: invalidf("policy says %d keys, the file has %d", n, len(records))}
	}
	for i := range records {
		if err := checkSLIP132(keyText(text, keyLines[i]), st); err != nil {
			return nil, lineErr(f, keyLines[i], err)
		}
	}
	d, err := wallet.NewMultisig(nil, st, m, records)
	if err != nil {
		return nil, &Error{Format: f, Err: err}
	}
	d2, known, err := resolve(f, body(d), net, nil)
	if err != nil {
		return nil, err
	}
	return &Setup{Format: f, Name: name, Descriptor: d2, NetworkKnown: known, Birthday: -1}, nil
}

// keyText returns the key as written on line ln of text.
func keyText(text string, ln int) string {
	l := strings.Split(text, "\n")[ln-1]
	_, v, _ := strings.Cut(l, ":")
	return strings.TrimSpace(v)
}

// errXFP is the error of a key that its fingerprint contradicts.
var errXFP = errors.New("XFP does not match the key")

// keyRecord builds the record of a key given with its fingerprint and path
// (Coldcard, Caravan), saying which of them disagrees with the key.
func keyRecord(fp wallet.Fingerprint, p wallet.Path, key string) (*wallet.KeyRecord, error) {
	xk, err := wallet.ParseExtendedKey(key, nil)
	if err != nil {
		return nil, err
	}
	if xk.IsPrivate() {
		xk.Zero()
		return nil, fmt.Errorf("%w: extended private key; give its xpub", wallet.ErrPrivateKey)
	}
	switch {
	case int(xk.Depth()) != len(p):
		return nil, fmt.Errorf("%w: derivation %s has %d steps, the key is at depth %d", wallet.ErrOriginMismatch, p, len(p), xk.Depth())
	case xk.Depth() == 0 && xk.Fingerprint() != fp:
		return nil, fmt.Errorf("%w: %w: the master key's fingerprint is %s", wallet.ErrOriginMismatch, errXFP, xk.Fingerprint())
	case xk.Depth() == 1 && xk.ParentFingerprint() != fp:
		return nil, fmt.Errorf("%w: %w: the key's parent fingerprint is %s", wallet.ErrOriginMismatch, errXFP, xk.ParentFingerprint())
	}
	r := &wallet.KeyRecord{Origin: wallet.KeyOrigin{Fingerprint: fp, Path: p}, Key: xk}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return r, nil
}

// checkSLIP132 refuses a SLIP-132 key (Zpub, Ypub, …) whose prefix names
// another script type than the wallet's; plain xpub/tpub keys fit any.
func checkSLIP132(written string, st wallet.ScriptType) error {
	if len(written) < 4 {
		return nil
	}
	var want wallet.ScriptType
	switch written[:4] {
	case "Zpub", "Vpub":
		want = wallet.P2WSH
	case "Ypub", "Upub":
		want = wallet.P2SHP2WSH
	case "zpub", "vpub":
		want = wallet.P2WPKH
	case "ypub", "upub":
		want = wallet.P2SHP2WPKH
	default:
		return nil
	}
	if want != st {
		return fmt.Errorf("%w: a %s key is for %s, the wallet is %s", ErrScriptType, written[:4], want, st)
	}
	return nil
}
