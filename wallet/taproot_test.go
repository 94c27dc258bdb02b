package wallet

// Taproot descriptors against BIP-386's key-only vector, BIP-388's NUMS
// extended key, and btcd's txscript taproot code (an independent
// implementation, tests only).

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/btcutil/v2/hdkeychain"
	"github.com/btcsuite/btcd/txscript/v2"
)

// TestTapTweakBIP386 checks the tweak of a key without script tree against
// BIP-386's first vector, tr(a34b…), whose script is 5120 77aab6e0….
func TestTapTweakBIP386(t *testing.T) {
	internal, _ := hex.DecodeString("a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd")
	out, _, err := TapTweak(internal, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(p2trScript(out[:])); got != "512077aab6e066f8a7419c5ab714c12c67d25007ed55a43cadcacb4d7a970a093f11" {
		t.Fatalf("got %s", got)
	}
	if _, _, err := TapTweak(internal[:31], nil); !errors.Is(err, ErrInvalidPublicKey) {
		t.Fatalf("short key: %v", err)
	}
}

// bip388NUMS is the extended key BIP-388 wallet policies (and Ledger's
// tests) use for an unspendable internal key: key H, chain code zero.
const bip388NUMS = "tpubD6NzVbkrYhZ4WLczPJWReQycCJdd6YVWXubbVUFnJ5KgU5MDQrD998ZJLSmaB7GVcCnJSDWprxmrGkJ6SvgQC6QAffVpqSvonXmeizXcrkN"

func TestNUMSForms(t *testing.T) {
	k, err := ParseExtendedKey(bip388NUMS, nil)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(k.PublicKey()) != "02"+NUMSKey || !bytes.Equal(k.ChainCode(), make([]byte, 32)) {
		t.Fatalf("BIP-388 NUMS key: %x chain code %x", k.PublicKey(), k.ChainCode())
	}
	// H is lift_x of SHA-256 of G's uncompressed encoding (BIP-341).
	g := btcec.Generator()
	h := sha256.Sum256(g.SerializeUncompressed())
	if hex.EncodeToString(h[:]) != NUMSKey {
		t.Fatalf("H = %x", h)
	}
	_, recs := testRecords(t, Testnet, P2TR, 3)
	d, err := NewMultisig(Testnet, P2TR, 2, recs)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(d.String(), "tr("+NUMSKey+",sortedmulti_a(2,[") || d.KeyPathSpendable() {
		t.Fatalf("%s: key path spendable %v", d, d.KeyPathSpendable())
	}
	if !strings.Contains(d.String(), "/48h/1h/0h/3h]tpub") || !strings.Contains(d.String(), "/<0;1>/*") {
		t.Fatalf("%s: want BIP-48 …/3h origins and <0;1>/*", d)
	}
	checkRoundTrip(t, d, Testnet)
	if d.ScriptType() != P2TR || d.Threshold() != 2 || !d.Sorted() || !d.HasChange() || !d.IsMultisig() || len(d.Keys()) != 3 {
		t.Fatalf("%s: type %s threshold %d sorted %v keys %d", d, d.ScriptType(), d.Threshold(), d.Sorted(), len(d.Keys()))
	}
	// The same wallet with BIP-388's NUMS extended key, and with a real key.
	leaf := d.String()[len("tr(")+64+1 : strings.IndexByte(d.String(), '#')-1]
	for _, c := range []struct {
		internal  string
		spendable bool
	}{
		{bip388NUMS + "/<0;1>/*", false},
		{recs[0].Key.String() + "/<2;3>/*", true},
	} {
		d2, err := ParseDescriptor("tr("+c.internal+","+leaf+")", nil)
		if err != nil {
			t.Fatal(err)
		}
		if d2.KeyPathSpendable() != c.spendable {
			t.Errorf("%s: key path spendable %v", d2, d2.KeyPathSpendable())
		}
		checkTaprootAgainstBtcd(t, d2)
	}
	un, err := NewUnsortedMultisig(Testnet, P2TR, 2, recs)
	if err != nil || !strings.Contains(un.String(), ",multi_a(2,") || un.Sorted() {
		t.Fatalf("unsorted: %v %v", un, err)
	}
	checkTaprootAgainstBtcd(t, d)
	checkTaprootAgainstBtcd(t, un)
}

// TestTaprootTreesAgainstBtcd checks trees of several leaves, 3-of-5 and a
// recovery leaf, against txscript.
func TestTaprootTreesAgainstBtcd(t *testing.T) {
	_, recs := testRecords(t, Regtest, P2TR, 5)
	k := func(i int) string {
		r := recs[i]
		return fmt.Sprintf("[%s]%s/<0;1>/*", r.Origin.String(), r.Key.String())
	}
	for _, desc := range []string{
		fmt.Sprintf("tr(%s,sortedmulti_a(3,%s,%s,%s,%s,%s))", NUMSKey, k(0), k(1), k(2), k(3), k(4)),
		fmt.Sprintf("tr(%s,{sortedmulti_a(2,%s,%s),multi_a(1,%s,%s)})", NUMSKey, k(0), k(1), k(2), k(3)),
		fmt.Sprintf("tr(%s,{{sortedmulti_a(2,%s,%s),sortedmulti_a(2,%s,%s)},pk(%s)})", k(4), k(0), k(1), k(0), k(2), k(3)),
	} {
		d, err := ParseDescriptor(desc, Regtest)
		if err != nil {
			t.Fatalf("%s: %v", desc, err)
		}
		checkRoundTrip(t, d, Regtest)
		checkTaprootAgainstBtcd(t, d)
	}
}

// checkTaprootAgainstBtcd derives indexes 0..2 of both branches of a tr()
// descriptor with kinko and with hdkeychain + txscript and compares
// scripts, output keys, control blocks and addresses.
func checkTaprootAgainstBtcd(t *testing.T, d *Descriptor) {
	t.Helper()
	params := chainParams[d.Network()]
	xonly := func(ks string, branch, index uint32) []byte {
		if len(ks) == 64 {
			b, _ := hex.DecodeString(ks)
			return b
		}
		steps := strings.Split(ks, "/")
		xk, err := hdkeychain.NewKeyFromString(steps[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range steps[1:] {
			var i uint32
			switch {
			case s == "*":
				i = index
			case strings.HasPrefix(s, "<"):
				alts := strings.Split(strings.Trim(s, "<>"), ";")
				fmt.Sscan(alts[branch], &i)
			default:
				fmt.Sscan(s, &i)
			}
			if xk, err = xk.Derive(i); err != nil {
				t.Fatal(err)
			}
		}
		pk, err := xk.ECPubKey()
		if err != nil {
			t.Fatal(err)
		}
		return schnorr.SerializePubKey(pk)
	}
	stripOrigin := func(s string) string {
		if i := strings.IndexByte(s, ']'); i >= 0 {
			return s[i+1:]
		}
		return s
	}
	for branch := uint32(0); branch < 2; branch++ {
		for index := uint32(0); index < 3; index++ {
			dv, err := d.Derive(branch == 1, index)
			if err != nil {
				t.Fatal(err)
			}
			// Rebuild each leaf script with txscript from the descriptor's text.
			var leaves []txscript.TapLeaf
			for li, l := range d.leaves {
				var keys [][]byte
				for _, ki := range l.keys {
					var b strings.Builder
					d.keys[ki].format(&b)
					keys = append(keys, xonly(stripOrigin(b.String()), branch, index))
				}
				if l.kind == "sortedmulti_a" {
					sortBytes(keys)
				}
				sb := txscript.NewScriptBuilder()
				for i, key := range keys {
					sb.AddData(key)
					if i == 0 {
						sb.AddOp(txscript.OP_CHECKSIG)
					} else {
						sb.AddOp(txscript.OP_CHECKSIGADD)
					}
				}
				if l.kind != "pk" {
					sb.AddInt64(int64(l.threshold)).AddOp(txscript.OP_NUMEQUAL)
				}
				script, err := sb.Script()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(script, dv.Taproot.Leaves[li].Script) {
					t.Fatalf("%s leaf %d:\n got %x\nwant %x", d, li, dv.Taproot.Leaves[li].Script, script)
				}
				leaves = append(leaves, txscript.NewBaseTapLeaf(script))
			}
			var ib strings.Builder
			d.keys[d.internal].format(&ib)
			ikey, err := schnorr.ParsePubKey(xonly(stripOrigin(ib.String()), branch, index))
			if err != nil {
				t.Fatal(err)
			}
			// txscript assembles trees of its own shape: compare merkle root
			// and control blocks only where the shapes agree (one leaf, or
			// two), and the leaf commitment of every control block always.
			if len(leaves) <= 2 {
				tree := txscript.AssembleTaprootScriptTree(leaves...)
				root := tree.RootNode.TapHash()
				if !bytes.Equal(root[:], dv.Taproot.MerkleRoot) {
					t.Fatalf("%s: merkle root %x, txscript %x", d, dv.Taproot.MerkleRoot, root)
				}
				for li := range leaves {
					cb := tree.LeafMerkleProofs[li].ToControlBlock(ikey)
					cbb, err := cb.ToBytes()
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(cbb, dv.Taproot.Leaves[li].ControlBlock) {
						t.Fatalf("%s leaf %d: control block\n got %x\nwant %x", d, li, dv.Taproot.Leaves[li].ControlBlock, cbb)
					}
				}
			}
			q := txscript.ComputeTaprootOutputKey(ikey, dv.Taproot.MerkleRoot)
			addr, err := address.NewAddressTaproot(schnorr.SerializePubKey(q), params)
			if err != nil {
				t.Fatal(err)
			}
			if addr.EncodeAddress() != dv.Address || !bytes.Equal(schnorr.SerializePubKey(q), dv.Taproot.OutputKey) {
				t.Fatalf("%s %d/%d: address %s, txscript %s", d, branch, index, dv.Address, addr.EncodeAddress())
			}
			want, _ := txscript.PayToTaprootScript(q)
			if !bytes.Equal(want, dv.ScriptPubKey) {
				t.Fatalf("scriptPubKey %x, want %x", dv.ScriptPubKey, want)
			}
			for li, l := range dv.Taproot.Leaves {
				cb, err := txscript.ParseControlBlock(l.ControlBlock)
				if err != nil {
					t.Fatal(err)
				}
				if err := txscript.VerifyTaprootLeafCommitment(cb, dv.Taproot.OutputKey, l.Script); err != nil {
					t.Fatalf("leaf %d: txscript refuses the control block: %v", li, err)
				}
				if _, _, err := VerifyControlBlock(dv.Taproot.OutputKey, l.Script, l.ControlBlock); err != nil {
					t.Fatalf("leaf %d: %v", li, err)
				}
				if m, keys, ok := ParseMultiA(l.Script); !ok || m != l.Threshold || len(keys) != len(l.Keys) {
					t.Fatalf("leaf %d: ParseMultiA %d %d %v", li, m, len(keys), ok)
				}
			}
			spks, err := d.DeriveScriptPubKeys(branch == 1, index, 1)
			if err != nil || !bytes.Equal(spks[0], dv.ScriptPubKey) {
				t.Fatalf("DeriveScriptPubKeys: %x %v", spks, err)
			}
			if d.MaxInputWeight() <= 0 {
				t.Fatal("no input weight")
			}
		}
	}
}

func sortBytes(b [][]byte) {
	for i := range b {
		for j := i + 1; j < len(b); j++ {
			if bytes.Compare(b[j], b[i]) < 0 {
				b[i], b[j] = b[j], b[i]
			}
		}
	}
}

func TestVerifyControlBlockRefusals(t *testing.T) {
	_, recs := testRecords(t, Regtest, P2TR, 3)
	d, err := NewMultisig(Regtest, P2TR, 2, recs)
	if err != nil {
		t.Fatal(err)
	}
	dv, err := d.Derive(false, 4)
	if err != nil {
		t.Fatal(err)
	}
	l := dv.Taproot.Leaves[0]
	other, _ := d.Derive(false, 5)
	flip := func(b []byte, i int) []byte { c := bytes.Clone(b); c[i] ^= 1; return c }
	for name, c := range map[string]struct {
		out, script, cb []byte
		want            error
	}{
		"foreign leaf":   {dv.Taproot.OutputKey, other.Taproot.Leaves[0].Script, l.ControlBlock, ErrTapCommitment},
		"other output":   {other.Taproot.OutputKey, l.Script, l.ControlBlock, ErrTapCommitment},
		"parity flipped": {dv.Taproot.OutputKey, l.Script, flip(l.ControlBlock, 0), ErrTapCommitment},
		"internal key":   {dv.Taproot.OutputKey, l.Script, flip(l.ControlBlock, 5), nil},
		"leaf version":   {dv.Taproot.OutputKey, l.Script, append([]byte{0xc2}, l.ControlBlock[1:]...), ErrInvalidControlBlock},
		"short":          {dv.Taproot.OutputKey, l.Script, l.ControlBlock[:32], ErrInvalidControlBlock},
		"bad path size":  {dv.Taproot.OutputKey, l.Script, append(bytes.Clone(l.ControlBlock), 1), ErrInvalidControlBlock},
		"extra path":     {dv.Taproot.OutputKey, l.Script, append(bytes.Clone(l.ControlBlock), make([]byte, 32)...), ErrTapCommitment},
	} {
		_, _, err := VerifyControlBlock(c.out, c.script, c.cb)
		if err == nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func TestTaprootDescriptorRefusals(t *testing.T) {
	_, recs := testRecords(t, Regtest, P2TR, 2)
	k0 := recs[0].Key.String() + "/<0;1>/*"
	k1 := recs[1].Key.String() + "/<0;1>/*"
	for desc, want := range map[string]error{
		"tr(" + NUMSKey + ")": ErrUnsupportedDescriptor,
		"tr(" + NUMSKey + ",sortedmulti_a(3," + k0 + "," + k1 + "))":                                                    ErrThreshold,
		"tr(" + NUMSKey + ",sortedmulti_a(1," + k0 + "," + k0 + "))":                                                    ErrDuplicateKey,
		"tr(" + NUMSKey + ",sortedmulti(1," + k0 + "," + k1 + "))":                                                      ErrInvalidDescriptor,
		"tr(" + NUMSKey + ",{sortedmulti_a(1," + k0 + "," + k1 + ")})":                                                  ErrInvalidDescriptor,
		"tr(" + NUMSKey + ",{sortedmulti_a(1," + k0 + "),pk(" + k1 + ")":                                                ErrInvalidDescriptor,
		"tr(" + NUMSKey + ",wsh(multi(1," + k0 + ")))":                                                                  ErrInvalidDescriptor,
		"tr(" + NUMSKey + ",sortedmulti_a(1," + k0 + "," + NUMSKey + "/0))":                                             ErrInvalidDescriptor,
		"tr(" + NUMSKey + "/0,sortedmulti_a(1," + k0 + "))":                                                             ErrInvalidDescriptor,
		"tr(" + NUMSKey + ",sortedmulti_a(1," + k0 + ",xpubBAD))":                                                       nil,
		"tr(" + NUMSKey + "," + strings.Repeat("{pk("+k0+"),", 130) + "pk(" + k1 + ")" + strings.Repeat("}", 130) + ")": ErrInvalidDescriptor,
		"tr(" + NUMSKey + "," + strings.Repeat("{", 130) + "pk(" + k1 + ")" + strings.Repeat("}", 130) + ")":            ErrInvalidDescriptor,
		"tr(" + NUMSKey + ",sortedmulti_a(1," + k0 + ",tpubD6NzVbkrYhZ4W/*))":                                           nil,
	} {
		_, err := ParseDescriptor(desc, nil)
		if err == nil || want != nil && !errors.Is(err, want) {
			t.Errorf("%.80s…: %v, want %v", desc, err, want)
		}
	}
	// A key in two leaves is listed once by Keys.
	d, err := ParseDescriptor("tr("+NUMSKey+",{sortedmulti_a(1,"+k0+","+k1+"),pk("+k0+")})", nil)
	if err != nil || len(d.Keys()) != 2 {
		t.Fatalf("%v %v", d, err)
	}
	checkTaprootAgainstBtcd(t, d)
}

// TestMaxInputWeightTaproot checks the weight of a 2-of-3 script-path
// spend: 41 bytes ×4 outside the witness; in it, 5 items, two 65-byte
// signatures, one empty push, the 104-byte script and the 33-byte control
// block.
func TestMaxInputWeightTaproot(t *testing.T) {
	_, recs := testRecords(t, Regtest, P2TR, 3)
	d, _ := NewMultisig(Regtest, P2TR, 2, recs)
	want := 4*41 + 1 + 2*66 + 1 + 1 + 104 + 1 + 33
	if got := d.MaxInputWeight(); got != want {
		t.Fatalf("got %d, want %d", got, want)
	}
	dv, _ := d.Derive(false, 0)
	if got := MaxSpendWeight(P2TR, 2, dv.Script); got != want {
		t.Fatalf("MaxSpendWeight %d, want %d", got, want)
	}
}
