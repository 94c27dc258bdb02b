package wallet

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/btcec/v2"
)

// Taproot (BIP-341, BIP-342) building blocks: tagged hashes, leaf and
// branch hashes, the output key tweak and control blocks.

// TapLeafVersion is the leaf version of BIP-342 tapscript (0xc0), the only
// one kinko writes or accepts.
const TapLeafVersion = 0xc0

// Tapscript opcodes of multi_a (BIP-387).
const (
	opCheckSigAdd = 0xba
	opNumEqual    = 0x9c
)

// Bounds of taproot trees: BIP-341's control block depth, and the leaves
// kinko builds or parses in one descriptor.
const (
	maxTapDepth  = 128
	maxTapLeaves = 64
)

// NUMSKey is the x-only key H of BIP-341 ("lift_x(0x50929b…)"), whose
// discrete logarithm nobody knows: as a taproot internal key it makes the
// key path unspendable. Bitcoin Core and the vectors of BIP-387 write it as
// this hex string; BIP-388 wallet policies write it as an extended key
// with this key and a zero chain code (see [Descriptor.KeyPathSpendable]).
const NUMSKey = "50929b74c1a04954b78b4b6035e97a5e078a5a0f28ec96d547bfee9ace803ac0"

var numsKey = mustHex32(NUMSKey)

func mustHex32(s string) [32]byte {
	var k [32]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		panic("wallet: bad constant " + s)
	}
	copy(k[:], b)
	return k
}

// Errors of taproot checks.
var (
	ErrInvalidControlBlock = errors.New("invalid control block")
	ErrTapCommitment       = errors.New("leaf script not committed to by the output key")
)

// taggedHash is BIP-340's hash_tag(x) = SHA256(SHA256(tag) || SHA256(tag) || x).
func taggedHash(tag string, parts ...[]byte) [32]byte {
	th := sha256.Sum256([]byte(tag))
	h := sha256.New()
	h.Write(th[:])
	h.Write(th[:])
	for _, p := range parts {
		h.Write(p)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// TapLeafHash returns BIP-341's leaf hash of a tapscript of leaf version
// 0xc0: hash_TapLeaf(0xc0 || compact_size(len) || script).
func TapLeafHash(script []byte) [32]byte {
	var pre [10]byte
	pre[0] = TapLeafVersion
	n := putVarInt(pre[1:], len(script))
	return taggedHash("TapLeaf", pre[:1+n], script)
}

// tapBranch returns hash_TapBranch of two child hashes in lexicographic
// order.
func tapBranch(a, b [32]byte) [32]byte {
	if bytes.Compare(a[:], b[:]) > 0 {
		a, b = b, a
	}
	return taggedHash("TapBranch", a[:], b[:])
}

// putVarInt writes a compact size and returns its length.
func putVarInt(b []byte, n int) int {
	switch {
	case n < 0xfd:
		b[0] = byte(n)
		return 1
	case n <= 0xffff:
		b[0], b[1], b[2] = 0xfd, byte(n), byte(n>>8)
		return 3
	}
	b[0], b[1], b[2], b[3], b[4] = 0xfe, byte(n), byte(n>>8), byte(n>>16), byte(n>>24)
	return 5
}

// TapTweak returns the output key Q = P + hash_TapTweak(P || root)·G of the
// x-only internal key P and merkle root (nil or empty for a key without
// script path), as an x-only key and the parity of Q (0 even, 1 odd).
func TapTweak(internal []byte, root []byte) (out [32]byte, parity byte, err error) {
	if len(internal) != 32 {
		return out, 0, fmt.Errorf("%w: internal key of %d bytes, want 32", ErrInvalidPublicKey, len(internal))
	}
	if len(root) != 0 && len(root) != 32 {
		return out, 0, fmt.Errorf("taproot: merkle root of %d bytes, want 32", len(root))
	}
	p, err := btcec.ParsePubKey(append([]byte{0x02}, internal...))
	if err != nil {
		return out, 0, fmt.Errorf("%w: internal key not on the curve", ErrInvalidPublicKey)
	}
	t := taggedHash("TapTweak", internal, root)
	var s btcec.ModNScalar
	if overflow := s.SetBytes(&t); overflow != 0 {
		return out, 0, errors.New("taproot: tweak out of range")
	}
	q, ok := addTweak(p, &s)
	if !ok {
		return out, 0, errors.New("taproot: tweaked key is infinity")
	}
	c := q.SerializeCompressed()
	copy(out[:], c[1:])
	return out, c[0] & 1, nil
}

// p2trScript returns OP_1 <32-byte output key>.
func p2trScript(out []byte) []byte {
	return append([]byte{op1, 32}, out...)
}

// multiAScript returns BIP-387's tapscript "K1 OP_CHECKSIG K2
// OP_CHECKSIGADD … Kn OP_CHECKSIGADD k OP_NUMEQUAL" over x-only keys.
func multiAScript(k int, keys [][]byte) []byte {
	s := make([]byte, 0, 33*len(keys)+len(keys)+4)
	for i, key := range keys {
		s = appendPush(s, key)
		if i == 0 {
			s = append(s, opCheckSig)
		} else {
			s = append(s, opCheckSigAdd)
		}
	}
	s = appendNumber(s, k)
	return append(s, opNumEqual)
}

// pkScript returns the tapscript of pk(KEY): "K OP_CHECKSIG".
func pkScript(key []byte) []byte {
	return append(appendPush(make([]byte, 0, 34), key), opCheckSig)
}

// ParseMultiA reads a tapscript of multi_a's form (BIP-387), or pk()'s
// (one key, threshold 1), and returns its threshold and x-only keys in
// script order. ok is false for any other script.
func ParseMultiA(script []byte) (threshold int, keys [][]byte, ok bool) {
	s := script
	if len(s) == 34 && s[0] == 32 && s[33] == opCheckSig {
		return 1, [][]byte{s[1:33]}, true
	}
	for len(s) >= 34 && s[0] == 32 {
		op := s[33]
		if (len(keys) == 0 && op != opCheckSig) || (len(keys) > 0 && op != opCheckSigAdd) {
			return 0, nil, false
		}
		keys = append(keys, s[1:33])
		s = s[34:]
	}
	if len(keys) == 0 {
		return 0, nil, false
	}
	switch {
	case len(s) == 2 && s[0] >= op1 && s[0] <= op16 && s[1] == opNumEqual:
		threshold = int(s[0]-op1) + 1
	case len(s) == 3 && s[0] == 1 && s[1] > 16 && s[1] < 0x80 && s[2] == opNumEqual:
		threshold = int(s[1])
	case len(s) == 4 && s[0] == 2 && s[2] < 0x80 && (s[2] != 0 || s[1] >= 0x80) && s[3] == opNumEqual:
		threshold = int(s[1]) | int(s[2])<<8
	default:
		return 0, nil, false
	}
	if threshold > len(keys) {
		return 0, nil, false
	}
	return threshold, keys, true
}

// VerifyControlBlock checks that a tapscript leaf of version 0xc0 is
// committed to by the P2TR output key outputKey (32 bytes): the control
// block's internal key, tweaked with the merkle root that the leaf and the
// control block's path give, must be outputKey with the control block's
// parity (BIP-341). It returns the internal key and the merkle root.
func VerifyControlBlock(outputKey, script, controlBlock []byte) (internal, root []byte, err error) {
	cb := controlBlock
	if len(cb) < 33 || (len(cb)-33)%32 != 0 || (len(cb)-33)/32 > maxTapDepth {
		return nil, nil, fmt.Errorf("%w: %d bytes", ErrInvalidControlBlock, len(cb))
	}
	if cb[0]&0xfe != TapLeafVersion {
		return nil, nil, fmt.Errorf("%w: leaf version %#02x, want 0xc0", ErrInvalidControlBlock, cb[0]&0xfe)
	}
	if len(outputKey) != 32 {
		return nil, nil, fmt.Errorf("%w: output key of %d bytes", ErrInvalidControlBlock, len(outputKey))
	}
	h := TapLeafHash(script)
	for p := cb[33:]; len(p) > 0; p = p[32:] {
		h = tapBranch(h, [32]byte(p[:32]))
	}
	q, parity, err := TapTweak(cb[1:33], h[:])
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidControlBlock, err)
	}
	if !bytes.Equal(q[:], outputKey) || parity != cb[0]&1 {
		return nil, nil, ErrTapCommitment
	}
	return bytes.Clone(cb[1:33]), h[:], nil
}

// tapNode is a node of a parsed script tree: a leaf (index into
// Descriptor.leaves) or a branch of two nodes.
type tapNode struct {
	leaf        int // -1 for a branch
	left, right *tapNode
}

// tapLeafExpr is one leaf of a tr() tree: pk(), multi_a() or
// sortedmulti_a() over keys (indexes into Descriptor.keys).
type tapLeafExpr struct {
	kind      string // "pk", "multi_a", "sortedmulti_a"
	threshold int
	keys      []int
}

// merkle computes the hashes of the tree under n from the leaf hashes and
// appends, to paths[i] of each leaf i below n, the hashes of its path.
func (n *tapNode) merkle(leafHashes [][32]byte, paths [][][32]byte) [32]byte {
	if n.leaf >= 0 {
		return leafHashes[n.leaf]
	}
	l := n.left.merkle(leafHashes, paths)
	r := n.right.merkle(leafHashes, paths)
	n.left.addPath(paths, r)
	n.right.addPath(paths, l)
	return tapBranch(l, r)
}

func (n *tapNode) addPath(paths [][][32]byte, h [32]byte) {
	if n.leaf >= 0 {
		paths[n.leaf] = append(paths[n.leaf], h)
		return
	}
	n.left.addPath(paths, h)
	n.right.addPath(paths, h)
}

func (n *tapNode) format(d *Descriptor, b *strings.Builder) {
	if n.leaf < 0 {
		b.WriteByte('{')
		n.left.format(d, b)
		b.WriteByte(',')
		n.right.format(d, b)
		b.WriteByte('}')
		return
	}
	l := &d.leaves[n.leaf]
	b.WriteString(l.kind)
	b.WriteByte('(')
	if l.kind != "pk" {
		fmt.Fprintf(b, "%d,", l.threshold)
	}
	for i, k := range l.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		d.keys[k].format(b)
	}
	b.WriteByte(')')
}
