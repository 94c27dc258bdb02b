package wallet

import (
	"bytes"
	"fmt"
	"github.com/btcsuite/btcd/btcec/v2"
	"slices"
	"strconv"
	"strings"
)

// parseTr parses tr(KEY,TREE) (BIP-386) whose leaves are multi_a(),
// sortedmulti_a() (BIP-387) or pk(), and finishes d.
func (d *Descriptor) parseTr(body string, net *Network) error {
	_, inner, err := splitCall(body)
	if err != nil {
		return err
	}
	d.st = P2TR
	keyArg, treeArg, hasTree := splitTop(inner)
	budget := maxDerivations
	d.keys = append(d.keys, keyExpr{})
	if err := parseKeyExpr(keyArg, net, &d.keys[0], &budget, true); err != nil {
		return fmt.Errorf("internal key: %w", err)
	}
	if len(d.keys[0].pubkey) == 65 {
		return fmt.Errorf("%w: internal key", ErrUncompressedKey)
	}
	if !hasTree {
		return fmt.Errorf("%w: tr() without a script tree; kinko's taproot wallets are multisig: tr(KEY,sortedmulti_a(k,…))", ErrUnsupportedDescriptor)
	}
	d.internal = 0
	d.tree, err = d.parseTree(treeArg, net, &budget, 0)
	if err != nil {
		return err
	}
	return d.finishTr(net)
}

// splitTop splits s at its first comma outside parentheses and braces.
func splitTop(s string) (string, string, bool) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '{':
			depth++
		case ')', '}':
			depth--
		case ',':
			if depth == 0 {
				return s[:i], s[i+1:], true
			}
		}
	}
	return s, "", false
}

// parseTree parses a tree expression: a leaf or {TREE,TREE}.
func (d *Descriptor) parseTree(s string, net *Network, budget *int, depth int) (*tapNode, error) {
	if depth > maxTapDepth {
		return nil, fmt.Errorf("%w: script tree deeper than %d", ErrInvalidDescriptor, maxTapDepth)
	}
	if strings.HasPrefix(s, "{") {
		if !strings.HasSuffix(s, "}") {
			return nil, fmt.Errorf("%w: script tree lacks '}'", ErrInvalidDescriptor)
		}
		l, r, ok := splitTop(s[1 : len(s)-1])
		if !ok {
			return nil, fmt.Errorf("%w: a branch {…} needs two trees", ErrInvalidDescriptor)
		}
		left, err := d.parseTree(l, net, budget, depth+1)
		if err != nil {
			return nil, err
		}
		right, err := d.parseTree(r, net, budget, depth+1)
		if err != nil {
			return nil, err
		}
		return &tapNode{leaf: -1, left: left, right: right}, nil
	}
	if len(d.leaves) >= maxTapLeaves {
		return nil, fmt.Errorf("%w: more than %d leaves", ErrInvalidDescriptor, maxTapLeaves)
	}
	name, inner, err := splitCall(s)
	if err != nil {
		return nil, err
	}
	leaf := tapLeafExpr{kind: name}
	var args []string
	switch name {
	case "pk":
		leaf.threshold = 1
		args = []string{inner}
	case "multi_a", "sortedmulti_a":
		args = strings.Split(inner, ",")
		if len(args) < 2 {
			return nil, fmt.Errorf("%w: %s() without keys", ErrInvalidDescriptor, name)
		}
		if leaf.threshold, err = parseThreshold(args[0]); err != nil {
			return nil, err
		}
		args = args[1:]
	case "multi", "sortedmulti":
		return nil, fmt.Errorf("%w: %s() inside tr(); tapscript uses %s_a()", ErrInvalidDescriptor, name, name)
	case "tr", "wsh", "sh", "wpkh":
		return nil, fmt.Errorf("%w: %s() inside tr()", ErrInvalidDescriptor, name)
	default:
		return nil, unsupported(name)
	}
	if strings.ContainsAny(inner, "(){}") {
		return nil, fmt.Errorf("%w: unexpected parenthesis in the arguments of %s()", ErrInvalidDescriptor, name)
	}
	if len(args) > 20 {
		return nil, fmt.Errorf("%w: %d keys in a leaf, at most 20", ErrTooManyKeys, len(args))
	}
	for _, a := range args {
		d.keys = append(d.keys, keyExpr{})
		i := len(d.keys) - 1
		if err := parseKeyExpr(a, net, &d.keys[i], budget, true); err != nil {
			return nil, fmt.Errorf("leaf %d: key %d: %w", len(d.leaves)+1, len(leaf.keys)+1, err)
		}
		leaf.keys = append(leaf.keys, i)
	}
	d.leaves = append(d.leaves, leaf)
	return &tapNode{leaf: len(d.leaves) - 1}, nil
}

// finishTr checks a parsed or built tr() descriptor, settles its network
// and builds the canonical string.
func (d *Descriptor) finishTr(net *Network) error {
	var fam *Network
	d.nBranches = 1
	first := true
	for i := range d.keys {
		k := &d.keys[i]
		if k.xpub == nil {
			if len(k.pubkey) == 65 {
				return fmt.Errorf("%w: %s", ErrUncompressedKey, d.keyName(i))
			}
			continue
		}
		if fam == nil {
			fam = k.xpub.Network()
		} else if !SameFamily(fam, k.xpub.Network()) {
			return fmt.Errorf("%w: keys of %s and %s mixed", ErrNetworkMismatch, fam.Family(), k.xpub.Network().Family())
		}
		if first {
			d.ranged, first = k.wild, false
		} else if k.wild != d.ranged {
			return fmt.Errorf("%w: extended keys ranged and not ranged", ErrMixedRange)
		}
		if err := d.addMultipath(k); err != nil {
			return err
		}
	}
	switch {
	case net != nil:
		d.net = net
	case fam != nil:
		d.net = fam
	default:
		d.net = Mainnet
	}
	d.sorted = true
	for li, l := range d.leaves {
		if l.threshold > len(l.keys) {
			return fmt.Errorf("%w: leaf %d: threshold %d of %d keys", ErrThreshold, li+1, l.threshold, len(l.keys))
		}
		if l.kind != "sortedmulti_a" {
			d.sorted = false
		}
		seen := make(map[string]int, len(l.keys))
		for j, ki := range l.keys {
			var b strings.Builder
			d.keys[ki].format(&b)
			id := b.String()
			if k := &d.keys[ki]; k.xpub == nil {
				id = hexKey(k.pubkey[1:])
			}
			if prev, dup := seen[id]; dup {
				return fmt.Errorf("%w: leaf %d: keys %d and %d", ErrDuplicateKey, li+1, prev, j+1)
			}
			seen[id] = j + 1
		}
	}
	d.threshold = d.leaves[0].threshold
	d.body = d.formatTr()
	sum, err := DescriptorChecksum(d.body)
	if err != nil {
		return err
	}
	d.checksum = sum
	return nil
}

// keyName names key i of a tr() descriptor for messages.
func (d *Descriptor) keyName(i int) string {
	if i == d.internal {
		return "internal key"
	}
	for li, l := range d.leaves {
		if j := slices.Index(l.keys, i); j >= 0 {
			return fmt.Sprintf("leaf %d key %d", li+1, j+1)
		}
	}
	return "key " + strconv.Itoa(i+1)
}

func (d *Descriptor) formatTr() string {
	var b strings.Builder
	b.WriteString("tr(")
	d.keys[d.internal].format(&b)
	b.WriteByte(',')
	d.tree.format(d, &b)
	b.WriteByte(')')
	return b.String()
}

// newTaprootMultisig builds tr(NUMS,sortedmulti_a(…)) or multi_a.
func newTaprootMultisig(net *Network, sorted bool, threshold int, keys []*KeyRecord) (*Descriptor, error) {
	d := &Descriptor{st: P2TR, keys: make([]keyExpr, 1, len(keys)+1)}
	nums := append([]byte{0x02}, numsKey[:]...)
	d.keys[0] = keyExpr{pubkey: nums, xonly: true}
	kind := "multi_a"
	if sorted {
		kind = "sortedmulti_a"
	}
	leaf := tapLeafExpr{kind: kind, threshold: threshold}
	for i, r := range keys {
		k, err := recordKeyExpr(net, r)
		if err != nil {
			return nil, fmt.Errorf("descriptor: key %d: %w", i+1, err)
		}
		d.keys = append(d.keys, k)
		leaf.keys = append(leaf.keys, len(d.keys)-1)
	}
	d.leaves = []tapLeafExpr{leaf}
	d.tree = &tapNode{leaf: 0}
	if net == nil {
		net = keys[0].Key.Network()
	}
	if err := d.finishTr(net); err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	return d, nil
}

// KeyPathSpendable reports whether a tr() descriptor's internal key may
// have a known private key: false when it is BIP-341's NUMS point H,
// written as the x-only key or as an extended key whose key is H (as
// BIP-388 wallet policies write it; its children are unspendable too).
// Always false for the other script types, which have no key path.
func (d *Descriptor) KeyPathSpendable() bool {
	if d.st != P2TR {
		return false
	}
	k := &d.keys[d.internal]
	pub := k.pubkey
	if k.xpub != nil {
		pub = k.xpub.PublicKey()
	}
	return !bytes.Equal(pub[1:], numsKey[:])
}

// deriveTr derives index on branch b of a tr() descriptor.
func (d *Descriptor) deriveTr(b int, index uint32) (*Derived, error) {
	dv, paths, err := d.trLeaves(b, index, nil)
	if err != nil {
		return nil, err
	}
	out, parity, err := TapTweak(dv.Taproot.InternalKey.PubKey[1:], dv.Taproot.MerkleRoot)
	if err != nil {
		return nil, fmt.Errorf("descriptor: index %d: %w", index, err)
	}
	return dv, d.trOutput(dv, paths, out, parity)
}

// trLeaves derives index on branch b of a tr() descriptor up to its
// output key: the keys (those of ranged keys taken from wild when it is
// not nil, as deriveKeys does), the leaves and the merkle root. It
// returns each leaf's merkle path, for trOutput's control blocks.
func (d *Descriptor) trLeaves(b int, index uint32, wild [][33]byte) (*Derived, [][][32]byte, error) {
	pubs, err := d.deriveKeys(b, index, d.keyName, wild)
	if err != nil {
		return nil, nil, err
	}
	tap := &TaprootSpend{InternalKey: pubs[d.internal], Leaves: make([]TapLeaf, len(d.leaves))}
	hashes := make([][32]byte, len(d.leaves))
	for li, l := range d.leaves {
		leaf := &tap.Leaves[li]
		leaf.Threshold = l.threshold
		leaf.Keys = make([]DerivedKey, len(l.keys))
		for j, ki := range l.keys {
			leaf.Keys[j] = DerivedKey{PubKey: slices.Clone(pubs[ki].PubKey), Origin: KeyOrigin{Fingerprint: pubs[ki].Origin.Fingerprint, Path: slices.Clone(pubs[ki].Origin.Path)}}
		}
		if l.kind == "sortedmulti_a" {
			slices.SortStableFunc(leaf.Keys, func(a, b DerivedKey) int { return bytes.Compare(a.PubKey[1:], b.PubKey[1:]) })
		}
		xs := make([][]byte, len(leaf.Keys))
		for j := range leaf.Keys {
			xs[j] = leaf.Keys[j].PubKey[1:]
		}
		for j := range xs {
			for k := j + 1; k < len(xs); k++ {
				if bytes.Equal(xs[j], xs[k]) {
					return nil, nil, fmt.Errorf("descriptor: index %d: leaf %d: %w: keys derive to the same x-only key", index, li+1, ErrDuplicateKey)
				}
			}
		}
		if l.kind == "pk" {
			leaf.Script = pkScript(xs[0])
		} else {
			leaf.Script = multiAScript(l.threshold, xs)
		}
		leaf.LeafHash = TapLeafHash(leaf.Script)
		hashes[li] = leaf.LeafHash
	}
	paths := make([][][32]byte, len(d.leaves))
	root := d.tree.merkle(hashes, paths)
	tap.MerkleRoot = root[:]
	dv := &Derived{
		Change:  b > 0,
		Index:   index,
		Script:  tap.Leaves[0].Script,
		Keys:    tap.Leaves[0].Keys,
		Taproot: tap,
	}
	return dv, paths, nil
}

// trOutput completes dv, which trLeaves made, with its output key out
// and that key's parity: control blocks, output script and address.
func (d *Descriptor) trOutput(dv *Derived, paths [][][32]byte, out [32]byte, parity byte) error {
	tap := dv.Taproot
	internal := tap.InternalKey.PubKey[1:]
	tap.OutputKey = out[:]
	for li := range tap.Leaves {
		cb := make([]byte, 0, 33+32*len(paths[li]))
		cb = append(cb, TapLeafVersion|parity)
		cb = append(cb, internal...)
		for _, h := range paths[li] {
			cb = append(cb, h[:]...)
		}
		tap.Leaves[li].ControlBlock = cb
	}
	dv.ScriptPubKey = p2trScript(out[:])
	var err error
	if dv.Address, err = AddressFromScript(dv.ScriptPubKey, d.net); err != nil {
		return fmt.Errorf("descriptor: %w", err)
	}
	return nil
}

// deriveTrMany derives the indexes on branch b of a tr() descriptor
// together: the child keys of all of them, then their output keys (each
// the internal key plus its tweak times G), with the table comb returns.
// It gives what deriveTr gives for each.
func (d *Descriptor) deriveTrMany(b int, indexes []uint32, comb func(n int) *combTable) ([]*Derived, error) {
	pubs, nwild, err := d.wildChildren(b, indexes, comb)
	if err != nil {
		return nil, err
	}
	wild := func(j int) [][33]byte { return pubs[j*nwild : (j+1)*nwild] }
	out := make([]*Derived, len(indexes))
	paths := make([][][][32]byte, len(indexes))
	tweaks := make([]btcec.ModNScalar, len(indexes))
	ps := make([]*affinePoint, len(indexes))
	lifted := make(map[[32]byte]*affinePoint) // lift_x of each internal key
	for j, index := range indexes {
		var err error
		if out[j], paths[j], err = d.trLeaves(b, index, wild(j)); err != nil {
			return nil, err
		}
		tap := out[j].Taproot
		x := [32]byte(tap.InternalKey.PubKey[1:])
		p, ok := lifted[x]
		if !ok {
			// The point with x and an even y, as BIP-341 reads an
			// x-only key; no point: TapTweak below says so.
			if k, err := btcec.ParsePubKey(append([]byte{0x02}, x[:]...)); err == nil {
				var jp btcec.JacobianPoint
				k.AsJacobian(&jp)
				p = &affinePoint{}
				p.x.Set(&jp.X).Normalize()
				p.y.Set(&jp.Y).Normalize()
			}
			lifted[x] = p
		}
		ps[j] = p
		t := taggedHash("TapTweak", x[:], tap.MerkleRoot)
		if tweaks[j].SetBytes(&t) != 0 {
			ps[j] = nil // out of range: TapTweak below refuses it
		}
	}
	// The indexes whose tweak can be added in a batch; the others (an
	// internal key off the curve, a tweak out of range, a doubling on
	// the way) go through TapTweak, which also names their fault.
	var batch []int
	for j := range indexes {
		if ps[j] != nil {
			batch = append(batch, j)
		}
	}
	if len(batch) < batchMin {
		batch = nil // a few: not worth a table
	}
	ks := make([]btcec.ModNScalar, len(batch))
	bps := make([]*affinePoint, len(batch))
	for n, j := range batch {
		ks[n], bps[n] = tweaks[j], ps[j]
	}
	sums := make([]affinePoint, len(batch))
	special := make([]bool, len(batch))
	if len(batch) > 0 {
		baseMulAdd(comb(len(batch)), ks, bps, sums, special)
	}
	done := make([]bool, len(indexes))
	for n, j := range batch {
		if special[n] {
			continue
		}
		var key [33]byte
		sums[n].compress(&key)
		if err := d.trOutput(out[j], paths[j], [32]byte(key[1:]), key[0]&1); err != nil {
			return nil, err
		}
		done[j] = true
	}
	for j, index := range indexes {
		if done[j] {
			continue
		}
		o, parity, err := TapTweak(out[j].Taproot.InternalKey.PubKey[1:], out[j].Taproot.MerkleRoot)
		if err != nil {
			return nil, fmt.Errorf("descriptor: index %d: %w", index, err)
		}
		if err := d.trOutput(out[j], paths[j], o, parity); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// TaprootSpend is what spending a derived tr() output by its script path
// needs: the internal key, the output key and merkle root it makes, and
// each leaf with its control block.
type TaprootSpend struct {
	// InternalKey is the 33-byte compressed internal key (its x-only form
	// is PubKey[1:]) with its origin; a plain key's origin is the hash of
	// the key and an empty path.
	InternalKey DerivedKey
	OutputKey   []byte // 32 bytes, x-only
	MerkleRoot  []byte // 32 bytes
	Leaves      []TapLeaf
}

// TapLeaf is one leaf of a derived script tree (leaf version 0xc0).
type TapLeaf struct {
	Script       []byte
	LeafHash     [32]byte
	ControlBlock []byte
	Threshold    int
	// Keys are the leaf's keys in script order, 33-byte compressed (the
	// script holds PubKey[1:]).
	Keys []DerivedKey
}
