package wallet

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/address/v2/base58"
	"github.com/btcsuite/btcd/btcec/v2"
)

// Errors of extended keys. ParseExtendedKey wraps exactly one of them, so a
// caller can tell why a key was refused.
var (
	ErrInvalidSeed              = errors.New("invalid seed")
	ErrInvalidLength            = errors.New("invalid length")
	ErrChecksum                 = errors.New("bad checksum")
	ErrUnknownVersion           = errors.New("unknown extended key version")
	ErrPublicVersionPrivateKey  = errors.New("public key version with private key data")
	ErrPrivateVersionPublicKey  = errors.New("private key version with public key data")
	ErrInvalidKeyPrefix         = errors.New("invalid key data prefix")
	ErrZeroDepthParent          = errors.New("zero depth with non-zero parent fingerprint")
	ErrZeroDepthIndex           = errors.New("zero depth with non-zero child index")
	ErrInvalidPrivateKey        = errors.New("private key not in 1..n-1")
	ErrInvalidPublicKey         = errors.New("invalid public key")
	ErrDeriveHardenedFromPublic = errors.New("cannot derive a hardened child from a public key")
	ErrInvalidChild             = errors.New("invalid child key (try the next index)")
	ErrMaxDepth                 = errors.New("maximum derivation depth exceeded")
	ErrNotPrivate               = errors.New("not a private key")
	ErrZeroed                   = errors.New("extended key was zeroed")
)

// ExtendedKey is a BIP-32 extended private or public key together with the
// network it belongs to. It is immutable, except for Zero.
type ExtendedKey struct {
	net        *Network
	depth      uint8
	parentFP   Fingerprint
	childIndex uint32
	chainCode  [32]byte
	private    bool
	priv       [32]byte         // the private key scalar, when private
	pub        [33]byte         // compressed public key, once pubDone
	point      *btcec.PublicKey // pub, parsed, once pubDone
	pubDone    bool             // public keys always; private ones on first use
	zeroed     bool
}

// keyVersion describes a known extended-key version: BIP-32 xpub/xprv and
// tpub/tprv, and the SLIP-132 forms, which are accepted on input only.
type keyVersion struct {
	family  *Network // Mainnet or Testnet
	private bool
	name    string
}

var keyVersions = map[[4]byte]keyVersion{
	{0x04, 0x88, 0xb2, 0x1e}: {Mainnet, false, "xpub"},
	{0x04, 0x88, 0xad, 0xe4}: {Mainnet, true, "xprv"},
	{0x04, 0x9d, 0x7c, 0xb2}: {Mainnet, false, "ypub"},
	{0x04, 0x9d, 0x78, 0x78}: {Mainnet, true, "yprv"},
	{0x04, 0xb2, 0x47, 0x46}: {Mainnet, false, "zpub"},
	{0x04, 0xb2, 0x43, 0x0c}: {Mainnet, true, "zprv"},
	{0x02, 0x95, 0xb4, 0x3f}: {Mainnet, false, "Ypub"},
	{0x02, 0x95, 0xb0, 0x05}: {Mainnet, true, "Yprv"},
	{0x02, 0xaa, 0x7e, 0xd3}: {Mainnet, false, "Zpub"},
	{0x02, 0xaa, 0x7a, 0x99}: {Mainnet, true, "Zprv"},
	{0x04, 0x35, 0x87, 0xcf}: {Testnet, false, "tpub"},
	{0x04, 0x35, 0x83, 0x94}: {Testnet, true, "tprv"},
	{0x04, 0x4a, 0x52, 0x62}: {Testnet, false, "upub"},
	{0x04, 0x4a, 0x4e, 0x28}: {Testnet, true, "uprv"},
	{0x04, 0x5f, 0x1c, 0xf6}: {Testnet, false, "vpub"},
	{0x04, 0x5f, 0x18, 0xbc}: {Testnet, true, "vprv"},
	{0x02, 0x42, 0x89, 0xef}: {Testnet, false, "Upub"},
	{0x02, 0x42, 0x85, 0xb5}: {Testnet, true, "Uprv"},
	{0x02, 0x57, 0x54, 0x83}: {Testnet, false, "Vpub"},
	{0x02, 0x57, 0x50, 0x48}: {Testnet, true, "Vprv"},
}

// NewMaster derives the BIP-32 master key of a seed of 16 to 64 bytes.
func NewMaster(seed []byte, net *Network) (*ExtendedKey, error) {
	if net == nil {
		return nil, errors.New("new master key: nil network")
	}
	if len(seed) < 16 || len(seed) > 64 {
		return nil, fmt.Errorf("%w: %d bytes, want 16 to 64", ErrInvalidSeed, len(seed))
	}
	mac := hmac.New(sha512.New, []byte("Bitcoin seed"))
	mac.Write(seed)
	var sum [64]byte
	mac.Sum(sum[:0])
	defer clear(sum[:])

	var k btcec.ModNScalar
	defer k.Zero()
	if overflow := k.SetByteSlice(sum[:32]); overflow || k.IsZero() {
		return nil, fmt.Errorf("%w: master key of this seed is invalid, use another seed", ErrInvalidSeed)
	}
	key := &ExtendedKey{net: net, private: true}
	copy(key.chainCode[:], sum[32:])
	key.setPrivate(&k)
	return key, nil
}

// setPrivate stores the scalar s as the private key. The public key is
// computed when first needed: a signer deriving a key only to sign with it
// never pays for the elliptic-curve multiplication.
func (k *ExtendedKey) setPrivate(s *btcec.ModNScalar) {
	k.priv = s.Bytes()
	k.pubDone = false
	k.point = nil
}

// pubPoint returns the public key, computing it from the private key the
// first time. Like every method that reads the public key, it is not safe
// to call concurrently on the same private ExtendedKey.
func (k *ExtendedKey) pubPoint() *btcec.PublicKey {
	if !k.pubDone {
		var s btcec.ModNScalar
		s.SetBytes(&k.priv)
		var p btcec.JacobianPoint
		btcec.ScalarBaseMultNonConst(&s, &p)
		s.Zero()
		p.ToAffine()
		k.point = btcec.NewPublicKey(&p.X, &p.Y)
		copy(k.pub[:], k.point.SerializeCompressed())
		k.pubDone = true
	}
	return k.point
}

// pubBytes returns the compressed public key.
func (k *ExtendedKey) pubBytes() [33]byte {
	k.pubPoint()
	return k.pub
}

// ParseExtendedKey parses a base58check extended key: xpub, xprv, tpub,
// tprv, or one of the SLIP-132 forms (ypub, zpub, Ypub, Zpub, upub, vpub,
// Upub, Vpub and their private forms), which are converted.
//
// With net == nil the network is taken from the version: Mainnet for x…,
// Testnet for t…. With a network given, a key of the other family is an
// error wrapping [ErrNetworkMismatch]; a tpub given Regtest or Signet carries
// that network.
//
// The checks are strict; the error wraps one of ErrInvalidLength,
// ErrChecksum, ErrUnknownVersion, ErrPublicVersionPrivateKey,
// ErrPrivateVersionPublicKey, ErrInvalidKeyPrefix, ErrZeroDepthParent,
// ErrZeroDepthIndex, ErrInvalidPrivateKey, ErrInvalidPublicKey or
// ErrNetworkMismatch, and never quotes the key.
func ParseExtendedKey(s string, net *Network) (*ExtendedKey, error) {
	// 82 bytes take at most 112 base58 digits; refuse long input before
	// the quadratic base58 decoding.
	if len(s) > 120 {
		return nil, fmt.Errorf("extended key: %w: %d characters", ErrInvalidLength, len(s))
	}
	raw := base58.Decode(s)
	defer clear(raw)
	if len(raw) != 82 {
		if len(raw) == 0 && s != "" {
			return nil, fmt.Errorf("extended key: %w: not base58", ErrInvalidLength)
		}
		return nil, fmt.Errorf("extended key: %w: %d bytes, want 82", ErrInvalidLength, len(raw))
	}
	sum := doubleSHA256(raw[:78])
	if !bytes.Equal(sum[:4], raw[78:]) {
		return nil, fmt.Errorf("extended key: %w", ErrChecksum)
	}
	return ParseExtendedKeyBytes(raw[:78], net)
}

// ParseExtendedKeyBytes parses the raw 78-byte serialization of an extended
// key (as found in a PSBT's global xpubs) with the checks of
// ParseExtendedKey.
func ParseExtendedKeyBytes(b []byte, net *Network) (*ExtendedKey, error) {
	if len(b) != 78 {
		return nil, fmt.Errorf("extended key: %w: %d bytes, want 78", ErrInvalidLength, len(b))
	}
	ver, ok := keyVersions[[4]byte(b[0:4])]
	if !ok {
		return nil, fmt.Errorf("extended key: %w %x", ErrUnknownVersion, b[0:4])
	}
	if net == nil {
		net = ver.family
	} else if !SameFamily(net, ver.family) {
		return nil, fmt.Errorf("extended key: %w: %s is a %s key, not for %s",
			ErrNetworkMismatch, ver.name, ver.family, net)
	}
	k := &ExtendedKey{
		net:        net,
		depth:      b[4],
		parentFP:   Fingerprint(b[5:9]),
		childIndex: binary.BigEndian.Uint32(b[9:13]),
		private:    ver.private,
	}
	copy(k.chainCode[:], b[13:45])
	keyData := b[45:78]
	if k.depth == 0 && k.parentFP != (Fingerprint{}) {
		return nil, fmt.Errorf("extended key: %w", ErrZeroDepthParent)
	}
	if k.depth == 0 && k.childIndex != 0 {
		return nil, fmt.Errorf("extended key: %w", ErrZeroDepthIndex)
	}
	if ver.private {
		switch keyData[0] {
		case 0x00:
		case 0x02, 0x03:
			return nil, fmt.Errorf("extended key: %w (%s)", ErrPrivateVersionPublicKey, ver.name)
		default:
			return nil, fmt.Errorf("extended key: %w %02x for a private key", ErrInvalidKeyPrefix, keyData[0])
		}
		var s btcec.ModNScalar
		defer s.Zero()
		if overflow := s.SetByteSlice(keyData[1:]); overflow || s.IsZero() {
			return nil, fmt.Errorf("extended key: %w", ErrInvalidPrivateKey)
		}
		k.setPrivate(&s)
		return k, nil
	}
	switch keyData[0] {
	case 0x02, 0x03:
	case 0x00:
		return nil, fmt.Errorf("extended key: %w (%s)", ErrPublicVersionPrivateKey, ver.name)
	default:
		return nil, fmt.Errorf("extended key: %w %02x for a public key", ErrInvalidKeyPrefix, keyData[0])
	}
	pk, err := btcec.ParsePubKey(keyData)
	if err != nil {
		return nil, fmt.Errorf("extended key: %w %x (not on the curve)", ErrInvalidPublicKey, keyData)
	}
	k.point = pk
	copy(k.pub[:], keyData)
	k.pubDone = true
	return k, nil
}

// Serialize returns the raw 78-byte BIP-32 serialization: version, depth,
// parent fingerprint, child index, chain code and key data. The version is
// xpub/xprv or tpub/tprv by the key's network family.
func (k *ExtendedKey) Serialize() [78]byte {
	var b [78]byte
	fam := k.net.Family()
	if k.private {
		copy(b[0:4], fam.XPrv[:])
	} else {
		copy(b[0:4], fam.XPub[:])
	}
	b[4] = k.depth
	copy(b[5:9], k.parentFP[:])
	binary.BigEndian.PutUint32(b[9:13], k.childIndex)
	copy(b[13:45], k.chainCode[:])
	if k.private {
		copy(b[46:78], k.priv[:])
	} else {
		pub := k.pubBytes()
		copy(b[45:78], pub[:])
	}
	return b
}

// String returns the base58check form: xpub/xprv on mainnet, tpub/tprv on
// the test networks. SLIP-132 forms are never produced.
func (k *ExtendedKey) String() string {
	b := k.Serialize()
	defer clear(b[:])
	return base58.CheckEncode(b[1:], b[0])
}

// Network returns the network the key belongs to.
func (k *ExtendedKey) Network() *Network { return k.net }

// IsPrivate reports whether k holds a private key.
func (k *ExtendedKey) IsPrivate() bool { return k.private }

// Neuter returns the extended public key of k (a copy of k if it is public
// already).
func (k *ExtendedKey) Neuter() *ExtendedKey {
	k.pubPoint()
	n := *k
	n.private = false
	clear(n.priv[:])
	return &n
}

// Child derives child i of k (i >= Hardened for a hardened child). A hardened
// child of a public key is ErrDeriveHardenedFromPublic; in the rare case that
// index i yields no valid key the error wraps ErrInvalidChild and the caller
// may use the next index.
func (k *ExtendedKey) Child(i uint32) (*ExtendedKey, error) {
	if k.zeroed {
		return nil, ErrZeroed
	}
	if k.depth == 255 {
		return nil, ErrMaxDepth
	}
	var sum [64]byte
	defer clear(sum[:])
	if err := k.ckd(i, &sum); err != nil {
		return nil, err
	}
	var il btcec.ModNScalar
	defer il.Zero()
	if il.SetByteSlice(sum[:32]) {
		return nil, fmt.Errorf("child %d: %w", i&^Hardened, ErrInvalidChild)
	}
	c := &ExtendedKey{
		net:        k.net,
		depth:      k.depth + 1,
		parentFP:   k.Fingerprint(),
		childIndex: i,
		private:    k.private,
	}
	copy(c.chainCode[:], sum[32:])
	if k.private {
		var kp btcec.ModNScalar
		defer kp.Zero()
		kp.SetBytes(&k.priv)
		il.Add(&kp)
		if il.IsZero() {
			return nil, fmt.Errorf("child %d: %w", i&^Hardened, ErrInvalidChild)
		}
		c.setPrivate(&il)
		return c, nil
	}
	pt, ok := addTweak(k.pubPoint(), &il)
	if !ok {
		return nil, fmt.Errorf("child %d: %w", i&^Hardened, ErrInvalidChild)
	}
	c.point = pt
	copy(c.pub[:], pt.SerializeCompressed())
	c.pubDone = true
	return c, nil
}

// ckd computes I = HMAC-SHA512(chain code, data || ser32(i)) for child i,
// with data the private key (hardened) or the public key (normal).
func (k *ExtendedKey) ckd(i uint32, out *[64]byte) error {
	var data [37]byte
	defer clear(data[:])
	if i >= Hardened {
		if !k.private {
			return ErrDeriveHardenedFromPublic
		}
		copy(data[1:33], k.priv[:])
	} else {
		pub := k.pubBytes()
		copy(data[:33], pub[:])
	}
	binary.BigEndian.PutUint32(data[33:], i)
	mac := hmac.New(sha512.New, k.chainCode[:])
	mac.Write(data[:])
	mac.Sum(out[:0])
	return nil
}

// addTweak returns point(t) + p, or false for the point at infinity.
func addTweak(p *btcec.PublicKey, t *btcec.ModNScalar) (*btcec.PublicKey, bool) {
	var tG, pj, r btcec.JacobianPoint
	btcec.ScalarBaseMultNonConst(t, &tG)
	p.AsJacobian(&pj)
	btcec.AddNonConst(&tG, &pj, &r)
	if r.Z.IsZero() || (r.X.IsZero() && r.Y.IsZero()) {
		return nil, false
	}
	r.ToAffine()
	return btcec.NewPublicKey(&r.X, &r.Y), true
}

// childPoint computes the public key of non-hardened child i as a Jacobian
// point, leaving the conversion to affine coordinates (a field inversion)
// to the caller, who may batch it with batchCompress: the fast path of
// address derivation.
func (k *ExtendedKey) childPoint(i uint32, out *btcec.JacobianPoint) error {
	if k.zeroed {
		return ErrZeroed
	}
	if i >= Hardened {
		return ErrDeriveHardenedFromPublic
	}
	var il btcec.ModNScalar
	if err := k.childTweak(i, &il); err != nil {
		return err
	}
	var tG, pj btcec.JacobianPoint
	btcec.ScalarBaseMultNonConst(&il, &tG)
	k.pubPoint().AsJacobian(&pj)
	btcec.AddNonConst(&tG, &pj, out)
	if out.Z.IsZero() || (out.X.IsZero() && out.Y.IsZero()) {
		return fmt.Errorf("child %d: %w", i, ErrInvalidChild)
	}
	return nil
}

// childTweak sets il to IL of non-hardened child i, the scalar whose point
// is added to k's: child = IL·G + K.
func (k *ExtendedKey) childTweak(i uint32, il *btcec.ModNScalar) error {
	if k.zeroed {
		return ErrZeroed
	}
	if i >= Hardened {
		return ErrDeriveHardenedFromPublic
	}
	var sum [64]byte
	if err := k.ckd(i, &sum); err != nil {
		return err
	}
	if il.SetByteSlice(sum[:32]) {
		return fmt.Errorf("child %d: %w", i, ErrInvalidChild)
	}
	return nil
}

// tweaker returns childTweak of k's non-hardened children, for many
// children of one key: its HMAC is keyed once, not once per child.
func (k *ExtendedKey) tweaker() func(i uint32, il *btcec.ModNScalar) error {
	var data [37]byte
	pub := k.pubBytes()
	copy(data[:33], pub[:])
	mac := hmac.New(sha512.New, k.chainCode[:])
	var sum [64]byte
	return func(i uint32, il *btcec.ModNScalar) error {
		if k.zeroed {
			return ErrZeroed
		}
		if i >= Hardened {
			return ErrDeriveHardenedFromPublic
		}
		binary.BigEndian.PutUint32(data[33:], i)
		mac.Reset()
		mac.Write(data[:])
		mac.Sum(sum[:0])
		if il.SetByteSlice(sum[:32]) {
			return fmt.Errorf("child %d: %w", i, ErrInvalidChild)
		}
		return nil
	}
}

// batchCompress writes the compressed encodings of the (finite) Jacobian
// points pts to out, with a single field inversion for all of them
// (batchAffine). scratch must have len(pts) elements.
func batchCompress(pts []btcec.JacobianPoint, out [][33]byte, scratch []btcec.FieldVal) {
	batchAffine(pts, scratch, func(i int, x, y *btcec.FieldVal) {
		out[i][0] = 0x02
		if y.IsOdd() {
			out[i][0] = 0x03
		}
		x.PutBytesUnchecked(out[i][1:])
	})
}

// batchAffine converts the Jacobian points pts (none at infinity) to
// affine coordinates with a single field inversion for all of them
// (Montgomery's trick), and hands each to put with x and y normalized.
// scratch must have len(pts) elements.
func batchAffine(pts []btcec.JacobianPoint, scratch []btcec.FieldVal, put func(i int, x, y *btcec.FieldVal)) {
	// scratch[i] = Z_0 * … * Z_(i-1)
	var run btcec.FieldVal
	run.SetInt(1)
	for i := range pts {
		scratch[i].Set(&run)
		run.Mul(&pts[i].Z)
	}
	var inv btcec.FieldVal
	inv.Set(&run).Inverse() // 1 / (Z_0 * … * Z_(n-1))
	for i := len(pts) - 1; i >= 0; i-- {
		var zi, z2, z3, x, y btcec.FieldVal
		zi.Mul2(&inv, &scratch[i]) // 1/Z_i
		inv.Mul(&pts[i].Z)         // 1 / (Z_0 * … * Z_(i-1))
		z2.SquareVal(&zi)
		z3.Mul2(&z2, &zi)
		x.Mul2(&pts[i].X, &z2).Normalize()
		y.Mul2(&pts[i].Y, &z3).Normalize()
		put(i, &x, &y)
	}
}

// Derive derives the descendant of k along p.
func (k *ExtendedKey) Derive(p Path) (*ExtendedKey, error) {
	cur := k
	for n, i := range p {
		next, err := cur.Child(i)
		if cur != k {
			cur.Zero()
		}
		if err != nil {
			return nil, fmt.Errorf("derive %s, element %d: %w", p, n+1, err)
		}
		cur = next
	}
	if cur == k {
		c := *k
		return &c, nil
	}
	return cur, nil
}

// PublicKey returns the 33-byte compressed public key.
func (k *ExtendedKey) PublicKey() []byte {
	b := k.pubBytes()
	return b[:]
}

// PrivateKey returns the private key, or ErrNotPrivate. The caller should
// Zero it when done.
func (k *ExtendedKey) PrivateKey() (*btcec.PrivateKey, error) {
	if k.zeroed {
		return nil, ErrZeroed
	}
	if !k.private {
		return nil, ErrNotPrivate
	}
	// Only the scalar: a signature does not need the public key.
	var s btcec.ModNScalar
	s.SetBytes(&k.priv)
	return btcec.PrivKeyFromScalar(&s), nil
}

// Fingerprint returns the key's fingerprint: hash160(public key)[:4].
func (k *ExtendedKey) Fingerprint() Fingerprint {
	pub := k.pubBytes()
	return Fingerprint(Hash160(pub[:])[:4])
}

// ParentFingerprint returns the fingerprint of the parent key (zero for a
// master key).
func (k *ExtendedKey) ParentFingerprint() Fingerprint { return k.parentFP }

// Depth returns the number of derivations from the master key.
func (k *ExtendedKey) Depth() uint8 { return k.depth }

// ChildIndex returns the index this key has under its parent (zero for a
// master key).
func (k *ExtendedKey) ChildIndex() uint32 { return k.childIndex }

// ChainCode returns a copy of the chain code.
func (k *ExtendedKey) ChainCode() []byte {
	c := k.chainCode
	return c[:]
}

// Zero wipes the private key and the chain code. The key can no longer
// derive children nor give its private key; its public key remains.
func (k *ExtendedKey) Zero() {
	clear(k.priv[:])
	clear(k.chainCode[:])
	k.private = false
	k.zeroed = true
}

// doubleSHA256 returns sha256(sha256(b)).
func doubleSHA256(b []byte) [32]byte {
	h := sha256.Sum256(b)
	return sha256.Sum256(h[:])
}

// hexKey returns the hex of a public key, for error messages.
func hexKey(b []byte) string { return hex.EncodeToString(b) }
