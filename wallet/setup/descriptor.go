package setup

import (
	"fmt"
	"strings"

	"github.com/kinko-project/kinko/wallet"
)

// body returns a descriptor's canonical text without its checksum.
func body(d *wallet.Descriptor) string {
	s := d.String()
	return s[:len(s)-len(d.Checksum())-1]
}

// keyEnd reports whether s[i:] continues a descriptor after a key: the
// next key or the end of the script expression.
func keyEnd(s string, i int) bool { return i < len(s) && (s[i] == ',' || s[i] == ')') }

// replaceBranch replaces, in canonical descriptor text, the final step
// from of every key ("/0/*") by to ("/<0;1>/*"), and reports whether every
// one of the n keys had it.
func replaceBranch(s, from, to string, n int) (string, bool) {
	var b strings.Builder
	count := 0
	for {
		i := strings.Index(s, from)
		if i < 0 {
			b.WriteString(s)
			break
		}
		if !keyEnd(s, i+len(from)) {
			b.WriteString(s[:i+len(from)])
			s = s[i+len(from):]
			continue
		}
		b.WriteString(s[:i])
		b.WriteString(to)
		s = s[i+len(from):]
		count++
	}
	return b.String(), count == n && n > 0
}

// widen turns a receive descriptor, every key ending in /0/*, into the
// wallet with receive and change branches, /<0;1>/*.
func widen(d *wallet.Descriptor) (string, bool) {
	if d.HasChange() {
		return body(d), true
	}
	return replaceBranch(body(d), "/0/*", "/<0;1>/*", len(d.Keys()))
}

// branchText returns the single-branch descriptor of a wallet with
// /<0;1>/*: branch 0 (receive) or 1 (change), with its checksum.
func branchText(d *wallet.Descriptor, branch int) (string, error) {
	s, ok := replaceBranch(body(d), "/<0;1>/*", fmt.Sprintf("/%d/*", branch), len(d.Keys()))
	if !ok {
		return "", fmt.Errorf("%w: every key must end in /<0;1>/* to be written as receive and change descriptors", ErrInvalid)
	}
	sum, err := wallet.DescriptorChecksum(s)
	if err != nil {
		return "", err
	}
	return s + "#" + sum, nil
}

// readDescriptors reads one descriptor, or several one a line (the
// receive and change pair, Sparrow's export with '#' comments, which may
// hold the <0;1> descriptor and the pair): every line must describe the
// same wallet.
func readDescriptors(text string, net *wallet.Network) (*Setup, error) {
	type line struct {
		n int
		d *wallet.Descriptor
	}
	var lines []line
	for i, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		d, err := wallet.ParseDescriptor(l, net)
		if err != nil {
			if len(lines) == 0 && strings.Count(strings.TrimSpace(text), "\n") == 0 {
				return nil, &Error{Format: Descriptor, Err: err}
			}
			return nil, lineErr(Pair, i+1, err)
		}
		lines = append(lines, line{i + 1, d})
	}
	if len(lines) == 0 {
		return nil, &Error{Format: Descriptor, Err: fmt.Errorf("%w: only comments", ErrUnknownFormat)}
	}
	f := Descriptor
	if len(lines) > 1 {
		f = Pair
	}
	// The wallet: the <0;1> descriptor if there is one, else the receive
	// descriptor widened.
	var wal string
	for _, l := range lines {
		if l.d.HasChange() {
			wal = body(l.d)
			break
		}
	}
	if wal == "" {
		if len(lines) == 1 {
			d := lines[0].d
			if !d.IsRange() {
				return nil, &Error{Format: f, Err: fmt.Errorf("%w: the descriptor is not ranged (its keys need /<0;1>/*)", ErrNoChange)}
			}
			return nil, &Error{Format: f, Err: fmt.Errorf("%w: the descriptor needs receive and change branches (end each key with /<0;1>/*, or give the /1/* descriptor on a second line)", ErrNoChange)}
		}
		for _, l := range lines {
			if w, ok := widen(l.d); ok {
				wal = w
				break
			}
		}
		if wal == "" {
			return nil, &Error{Format: f, Err: fmt.Errorf("%w: no line is a receive descriptor (keys ending in /0/*)", ErrNoChange)}
		}
	}
	wd, err := wallet.ParseDescriptor(wal, net)
	if err != nil {
		return nil, &Error{Format: f, Err: err}
	}
	recv, err := branchText(wd, 0)
	if err != nil && len(lines) > 1 {
		return nil, &Error{Format: f, Err: err}
	}
	change, _ := branchText(wd, 1)
	hasChange := false
	for _, l := range lines {
		switch b := body(l.d); {
		case l.d.HasChange():
			if b != wal {
				return nil, lineErr(f, l.n, fmt.Errorf("%w: a different wallet from the other lines", ErrInvalid))
			}
			hasChange = true
		case b == strings.Split(recv, "#")[0]:
		case b == strings.Split(change, "#")[0]:
			hasChange = true
		default:
			return nil, lineErr(f, l.n, fmt.Errorf("%w: neither the receive (/0/*) nor the change (/1/*) descriptor of the wallet on the other lines", ErrInvalid))
		}
	}
	if !hasChange {
		return nil, &Error{Format: f, Err: fmt.Errorf("%w: the change descriptor (/1/*) is missing", ErrNoChange)}
	}
	d, known, err := resolve(f, wal, net, nil)
	if err != nil {
		return nil, err
	}
	return &Setup{Format: f, Descriptor: d, NetworkKnown: known, Birthday: -1}, nil
}
