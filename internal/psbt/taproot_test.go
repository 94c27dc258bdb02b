package psbt

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand"
	"os"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	btcpsbt "github.com/btcsuite/btcd/psbt/v2"
)

type bip371Vectors struct {
	Source  string       `json:"source"`
	Invalid []vectorCase `json:"invalid"`
	Valid   []vectorCase `json:"valid"`
}

func loadBIP371(t testing.TB) *bip371Vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/bip371_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v bip371Vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

// TestBIP371Vectors: BIP-371's invalid PSBTs are refused, each for a key
// or value of the taproot type it names; its valid ones parse into the
// taproot fields, write back to the same bytes, in version 2 as well, and
// btcd's psbt/v2 reads the same fields.
func TestBIP371Vectors(t *testing.T) {
	v := loadBIP371(t)
	if len(v.Invalid) != 11 || len(v.Valid) != 6 {
		t.Fatalf("%d invalid and %d valid vectors, want 11 and 6", len(v.Invalid), len(v.Valid))
	}
	for _, c := range v.Invalid {
		_, err := Parse(b64(t, c.Base64))
		var fe *FieldError
		if !errors.As(err, &fe) || !fe.HasKey || (fe.KeyType < inTapKeySig && fe.KeyType != outTapInternalKey && fe.KeyType != outTapBip32) {
			t.Errorf("%s: got %v, want a taproot field error", c.Description, err)
		}
		if _, err := ParseWith(b64(t, c.Base64), ParseOptions{DerivationKeysAsBytes: true}); err == nil {
			t.Errorf("%s: the lax parse takes it", c.Description)
		}
	}
	for _, c := range v.Valid {
		raw := b64(t, c.Base64)
		p, err := Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", c.Description, err)
		}
		if got := mustSerialize(t, p); !bytes.Equal(got, raw) {
			t.Fatalf("%s: does not write back to the same bytes\n got %x\nwant %x", c.Description, got, raw)
		}
		for i := range p.Inputs {
			for _, u := range p.Inputs[i].Unknowns {
				t.Fatalf("%s: input %d: taproot data left as unknown %x", c.Description, i, u.Key)
			}
		}
		bp, err := btcpsbt.NewFromRawBytes(bytes.NewReader(raw), false)
		if err != nil {
			t.Fatalf("%s: btcd: %v", c.Description, err)
		}
		compareTaprootWithBtcd(t, c.Description, p, bp)
		// Version 2 keeps every taproot field.
		p2 := p.Copy()
		p2.Version = 2
		b2 := mustSerialize(t, p2)
		q, err := Parse(b2)
		if err != nil {
			t.Fatalf("%s: v2: %v", c.Description, err)
		}
		q.Version = 0
		if !bytes.Equal(mustSerialize(t, q), raw) {
			t.Fatalf("%s: v2 round trip loses taproot fields", c.Description)
		}
	}
	// Field values of the script-path vector with signatures.
	p, _ := Parse(b64(t, v.Valid[5].Base64))
	in := p.Inputs[0]
	if len(in.TaprootLeafScript) == 0 || len(in.TaprootScriptSpendSig) == 0 || len(in.TaprootInternalKey) != 32 || len(in.TaprootMerkleRoot) != 32 {
		t.Fatalf("script-path vector: %d leaves, %d sigs, internal %x, root %x", len(in.TaprootLeafScript), len(in.TaprootScriptSpendSig), in.TaprootInternalKey, in.TaprootMerkleRoot)
	}
	p, _ = Parse(b64(t, v.Valid[4].Base64))
	if o := p.Outputs[0]; len(o.TaprootTapTree) == 0 || len(o.TaprootInternalKey) != 32 || len(o.TaprootBip32Derivation) == 0 {
		t.Fatalf("tree output vector: %+v", o)
	}
}

// compareTaprootWithBtcd checks that btcd read the same taproot fields.
func compareTaprootWithBtcd(t *testing.T, name string, p *Packet, bp *btcpsbt.Packet) {
	t.Helper()
	for i, in := range p.Inputs {
		b := bp.Inputs[i]
		if !bytes.Equal(in.TaprootKeySpendSig, b.TaprootKeySpendSig) || !bytes.Equal(in.TaprootInternalKey, b.TaprootInternalKey) || !bytes.Equal(in.TaprootMerkleRoot, b.TaprootMerkleRoot) {
			t.Fatalf("%s input %d: key sig, internal key or merkle root differ from btcd's", name, i)
		}
		if len(in.TaprootScriptSpendSig) != len(b.TaprootScriptSpendSig) || len(in.TaprootLeafScript) != len(b.TaprootLeafScript) || len(in.TaprootBip32Derivation) != len(b.TaprootBip32Derivation) {
			t.Fatalf("%s input %d: taproot field counts differ from btcd's", name, i)
		}
		for j, s := range in.TaprootScriptSpendSig {
			bs := b.TaprootScriptSpendSig[j]
			if !bytes.Equal(s.XOnlyPubKey, bs.XOnlyPubKey) || !bytes.Equal(s.LeafHash, bs.LeafHash) || !bytes.Equal(s.Signature[:64], bs.Signature) {
				t.Fatalf("%s input %d: script sig %d differs", name, i, j)
			}
		}
		for j, l := range in.TaprootLeafScript {
			bl := b.TaprootLeafScript[j]
			if !bytes.Equal(l.ControlBlock, bl.ControlBlock) || !bytes.Equal(l.Script, bl.Script) || l.LeafVersion != byte(bl.LeafVersion) {
				t.Fatalf("%s input %d: leaf script %d differs", name, i, j)
			}
		}
		for j, d := range in.TaprootBip32Derivation {
			compareTapBip32(t, name, d, b.TaprootBip32Derivation[j])
		}
	}
	for i, o := range p.Outputs {
		b := bp.Outputs[i]
		if !bytes.Equal(o.TaprootInternalKey, b.TaprootInternalKey) || len(o.TaprootBip32Derivation) != len(b.TaprootBip32Derivation) {
			t.Fatalf("%s output %d: internal key or derivations differ", name, i)
		}
		var tree []byte
		for _, l := range o.TaprootTapTree {
			tree = append(tree, l.Depth, l.LeafVersion)
			tree = appendVarBytes(tree, l.Script)
		}
		if !bytes.Equal(tree, b.TaprootTapTree) {
			t.Fatalf("%s output %d: tap tree differs", name, i)
		}
		for j, d := range o.TaprootBip32Derivation {
			compareTapBip32(t, name, d, b.TaprootBip32Derivation[j])
		}
	}
}

func compareTapBip32(t *testing.T, name string, d TaprootBip32Derivation, b *btcpsbt.TaprootBip32Derivation) {
	t.Helper()
	fp := uint32(d.Fingerprint[0]) | uint32(d.Fingerprint[1])<<8 | uint32(d.Fingerprint[2])<<16 | uint32(d.Fingerprint[3])<<24
	if !bytes.Equal(d.XOnlyPubKey, b.XOnlyPubKey) || fp != b.MasterKeyFingerprint || len(d.LeafHashes) != len(b.LeafHashes) || len(d.Path) != len(b.Bip32Path) {
		t.Fatalf("%s: taproot derivation of %x differs from btcd's", name, d.XOnlyPubKey)
	}
	for k := range d.LeafHashes {
		if !bytes.Equal(d.LeafHashes[k], b.LeafHashes[k]) {
			t.Fatalf("%s: leaf hash %d differs", name, k)
		}
	}
	for k := range d.Path {
		if d.Path[k] != b.Bip32Path[k] {
			t.Fatalf("%s: path differs", name)
		}
	}
}

func randXOnly(r *rand.Rand) []byte {
	return schnorr.SerializePubKey(testKey(r.Uint64()).PubKey())
}

func randSchnorrSig(r *rand.Rand) []byte {
	s := randBytes(r, 64)
	if r.Intn(2) == 0 {
		s = append(s, byte(1+r.Intn(3)))
	}
	return s
}

func randTapBip32(r *rand.Rand) []TaprootBip32Derivation {
	var ds []TaprootBip32Derivation
	for n := r.Intn(3); n > 0; n-- {
		d := TaprootBip32Derivation{XOnlyPubKey: randXOnly(r), Path: randPath(r)}
		r.Read(d.Fingerprint[:])
		for k := r.Intn(3); k > 0; k-- {
			d.LeafHashes = append(d.LeafHashes, randBytes(r, 32))
		}
		ds = append(ds, d)
	}
	return ds
}

// addRandTaproot fills the taproot fields of p's unfinalized inputs and of
// its outputs at random.
func addRandTaproot(r *rand.Rand, p *Packet) {
	for i := range p.Inputs {
		in := &p.Inputs[i]
		if in.IsFinalized() {
			continue
		}
		if r.Intn(2) == 0 {
			in.TaprootKeySpendSig = randSchnorrSig(r)
		}
		for n := r.Intn(3); n > 0; n-- {
			in.TaprootScriptSpendSig = append(in.TaprootScriptSpendSig, TaprootScriptSig{XOnlyPubKey: randXOnly(r), LeafHash: randBytes(r, 32), Signature: randSchnorrSig(r)})
		}
		for n := r.Intn(3); n > 0; n-- {
			cb := append([]byte{0xc0 | byte(r.Intn(2))}, randXOnly(r)...)
			cb = append(cb, randBytes(r, 32*r.Intn(3))...)
			in.TaprootLeafScript = append(in.TaprootLeafScript, TaprootLeafScript{ControlBlock: cb, Script: randBytes(r, 1+r.Intn(40)), LeafVersion: 0xc0})
		}
		in.TaprootBip32Derivation = randTapBip32(r)
		if r.Intn(2) == 0 {
			in.TaprootInternalKey = randXOnly(r)
			in.TaprootMerkleRoot = randBytes(r, 32)
		}
	}
	for i := range p.Outputs {
		o := &p.Outputs[i]
		if r.Intn(2) == 0 {
			o.TaprootInternalKey = randXOnly(r)
			o.TaprootTapTree = []TaprootTapLeaf{{1, 0xc0, randBytes(r, 34)}, {2, 0xc0, randBytes(r, 5)}, {2, 0xc0, randBytes(r, 70)}}
		}
		o.TaprootBip32Derivation = randTapBip32(r)
	}
}

// TestTaprootCrossCheckBtcd: random packets with taproot fields written
// here are read by btcd to the same fields and written back by it to the
// same bytes; Copy is deep for the new fields; Combine merges them.
func TestTaprootCrossCheckBtcd(t *testing.T) {
	r := rand.New(rand.NewSource(371))
	for iter := 0; iter < 300; iter++ {
		p := randPacket(r)
		addRandTaproot(r, p)
		ours, err := p.Serialize()
		if err != nil {
			t.Fatalf("iter %d: %v", iter, err)
		}
		bp, err := btcpsbt.NewFromRawBytes(bytes.NewReader(ours), false)
		if err != nil {
			t.Fatalf("iter %d: btcd rejects our PSBT: %v", iter, err)
		}
		var theirs bytes.Buffer
		if err := bp.Serialize(&theirs); err != nil {
			t.Fatal(err)
		}
		q, err := Parse(theirs.Bytes())
		if err != nil {
			t.Fatalf("iter %d: Parse(btcd): %v", iter, err)
		}
		if !bytes.Equal(mustSerialize(t, q), ours) {
			t.Fatalf("iter %d: btcd's output reads back differently", iter)
		}
		compareTaprootWithBtcd(t, "random", q, bp)
		c := q.Copy()
		for i := range c.Inputs {
			for j := range c.Inputs[i].TaprootScriptSpendSig {
				c.Inputs[i].TaprootScriptSpendSig[j].Signature[0] ^= 1
			}
			for j := range c.Inputs[i].TaprootBip32Derivation {
				c.Inputs[i].TaprootBip32Derivation[j].Path = append(c.Inputs[i].TaprootBip32Derivation[j].Path, 1)
			}
		}
		if !bytes.Equal(mustSerialize(t, q), ours) {
			t.Fatalf("iter %d: Copy is shallow", iter)
		}
	}
}

// TestTaprootFieldRefusals: each taproot field refuses a malformed key or
// value, naming its type.
func TestTaprootFieldRefusals(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	base := randPacket(r)
	for len(base.Inputs) == 0 || len(base.Outputs) == 0 {
		base = randPacket(r)
	}
	base.Inputs[0] = Input{WitnessUTXO: &TxOut{Value: 1, PkScript: []byte{0x51, 0x20}}}
	x := randXOnly(r)
	offCurve := bytes.Repeat([]byte{0xff}, 32)
	cb := append([]byte{0xc0}, x...)
	for name, c := range map[string]struct {
		in  func(*Input)
		out func(*Output)
		t   uint64
	}{
		"key sig of 63 bytes":      {in: func(in *Input) { in.TaprootKeySpendSig = make([]byte, 63) }, t: inTapKeySig},
		"key sig with type 0 byte": {in: func(in *Input) { in.TaprootKeySpendSig = make([]byte, 65) }, t: inTapKeySig},
		"script sig key off curve": {in: func(in *Input) {
			in.TaprootScriptSpendSig = []TaprootScriptSig{{offCurve, make([]byte, 32), make([]byte, 64)}}
		}, t: inTapScriptSig},
		"script sig leaf hash short": {in: func(in *Input) {
			in.TaprootScriptSpendSig = []TaprootScriptSig{{x, make([]byte, 31), make([]byte, 64)}}
		}, t: inTapScriptSig},
		"control block of 34 bytes": {in: func(in *Input) { in.TaprootLeafScript = []TaprootLeafScript{{append(cb, 1), []byte{0x51}, 0xc0}} }, t: inTapLeafScript},
		"leaf version differs":      {in: func(in *Input) { in.TaprootLeafScript = []TaprootLeafScript{{cb, []byte{0x51}, 0xc2}} }, t: inTapLeafScript},
		"control block key off curve": {in: func(in *Input) {
			in.TaprootLeafScript = []TaprootLeafScript{{append([]byte{0xc0}, offCurve...), []byte{0x51}, 0xc0}}
		}, t: inTapLeafScript},
		"internal key of 33 bytes": {in: func(in *Input) { in.TaprootInternalKey = append([]byte{2}, x...) }, t: inTapInternalKey},
		"merkle root of 31 bytes":  {in: func(in *Input) { in.TaprootMerkleRoot = make([]byte, 31) }, t: inTapMerkleRoot},
		"derivation key off curve": {in: func(in *Input) { in.TaprootBip32Derivation = []TaprootBip32Derivation{{XOnlyPubKey: offCurve}} }, t: inTapBip32},
		"leaf hash of 31 bytes": {in: func(in *Input) {
			in.TaprootBip32Derivation = []TaprootBip32Derivation{{XOnlyPubKey: x, LeafHashes: [][]byte{make([]byte, 31)}}}
		}, t: inTapBip32},
		"output internal key short": {out: func(o *Output) { o.TaprootInternalKey = x[:31] }, t: outTapInternalKey},
		"incomplete tree":           {out: func(o *Output) { o.TaprootTapTree = []TaprootTapLeaf{{1, 0xc0, []byte{0x51}}} }, t: outTapTree},
		"empty tree":                {out: func(o *Output) { o.TaprootTapTree = []TaprootTapLeaf{} }, t: outTapTree},
		"odd leaf version":          {out: func(o *Output) { o.TaprootTapTree = []TaprootTapLeaf{{0, 0xc1, []byte{0x51}}} }, t: outTapTree},
	} {
		p := base.Copy()
		if c.in != nil {
			c.in(&p.Inputs[0])
		} else {
			c.out(&p.Outputs[0])
		}
		_, err := p.Serialize()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.KeyType != c.t {
			t.Errorf("%s: %v, want an error at key type %#x", name, err, c.t)
		}
	}
}

// TestFinalizeClearsTaproot: a finalized input keeps no taproot signing data.
func TestFinalizeClearsTaproot(t *testing.T) {
	in := Input{TaprootKeySpendSig: make([]byte, 64), TaprootInternalKey: make([]byte, 32), TaprootLeafScript: []TaprootLeafScript{{}}}
	in.clearTaproot()
	if in.TaprootKeySpendSig != nil || in.TaprootInternalKey != nil || in.TaprootLeafScript != nil {
		t.Fatal("not cleared")
	}
}
