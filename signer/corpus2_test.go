package signer_test

// The second outside attack corpus (issue 11): each case changes one
// thing in a valid PSBT and checks what the signer shows, and that no
// signature comes back where it refuses.

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/signer"
	"github.com/kinko-project/kinko/wallet"
)

// stranger is a 1-of-2 P2WSH wallet of two keys this fixture's signers
// do not hold, with the keystore of its first key.
type stranger struct {
	ks   *signer.Keystore
	desc *wallet.Descriptor
}

func newStranger(f *fixture) *stranger {
	f.t.Helper()
	var recs []*wallet.KeyRecord
	var first *signer.Keystore
	for _, words := range testWords[3:5] {
		ks, err := signer.CreateKeystore(filepath.Join(f.t.TempDir(), "ks"), "pw", words, "", signer.MinWorkFactor)
		if err != nil {
			f.t.Fatal(err)
		}
		m, err := ks.Master(f.net)
		if err != nil {
			f.t.Fatal(err)
		}
		rec, err := wallet.NewKeyRecord(m, wallet.AccountPath(f.net, wallet.P2WSH, 0))
		if err != nil {
			f.t.Fatal(err)
		}
		recs = append(recs, rec)
		if first == nil {
			first = ks
		}
	}
	d, err := wallet.NewMultisig(f.net, wallet.P2WSH, 1, recs)
	if err != nil {
		f.t.Fatal(err)
	}
	reg, err := first.PrepareRegistration("theirs", d, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := first.Register(reg); err != nil {
		f.t.Fatal(err)
	}
	return &stranger{ks: first, desc: d}
}

// addForeignInput appends an input spending value from s's wallet at
// receive index 5, with its previous transaction, and the witness script
// and derivations its coordinator would give when full is set.
func (f *fixture) addForeignInput(p *psbt.Packet, s *stranger, value int64, full bool) {
	f.t.Helper()
	c := f.coin(s.desc, false, 5, value)
	p.UnsignedTx.Inputs = append(p.UnsignedTx.Inputs, &psbt.TxIn{PrevOut: c.OutPoint, Sequence: 0xfffffffd})
	in := psbt.Input{NonWitnessUTXO: c.Prev, WitnessUTXO: c.Prev.Outputs[0]}
	if full {
		der, err := s.desc.Derive(false, 5)
		if err != nil {
			f.t.Fatal(err)
		}
		in.WitnessScript = der.WitnessScript
		for _, k := range der.Keys {
			in.Bip32Derivation = append(in.Bip32Derivation, psbt.Bip32Derivation{PubKey: k.PubKey, Fingerprint: k.Origin.Fingerprint, Path: k.Origin.Path})
		}
	}
	p.Inputs = append(p.Inputs, in)
}

func formatted(r *signer.Review) string {
	var b bytes.Buffer
	r.Format(&b)
	return b.String()
}

// Fix 1: an input that is not ours reads as not ours, with its proven
// amount, and is not signed.
func TestForeignInputShownNotOurs(t *testing.T) {
	f := newFixture(t, wallet.P2WSH, 2, 3, 2)
	s := newStranger(f)
	p := f.build()
	f.addForeignInput(p, s, 30_000, true)
	out, r, err := f.sign(p, signer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(out.Inputs[2].PartialSigs); n != 0 {
		t.Errorf("the foreign input came back with %d signatures", n)
	}
	for i := 0; i < 2; i++ {
		if len(out.Inputs[i].PartialSigs) != 1 {
			t.Errorf("input %d: not signed", i)
		}
	}
	in := r.Inputs[2]
	if in.Sign || in.Amount != 30_000 {
		t.Errorf("foreign input in the review: %+v", in)
	}
	text := formatted(r)
	line := ""
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "2  ") {
			line = l
		}
	}
	if !strings.Contains(line, "NOT OURS: not signed") || !strings.Contains(line, wallet.FormatAmount(30_000)) || strings.Contains(line, "index") {
		t.Errorf("the foreign input reads %q, want it not ours with its amount:\n%s", line, text)
	}
	// Its amount is proven: a witness_utxo that disagrees with the
	// previous transaction is refused, foreign or not.
	p2 := f.build()
	f.addForeignInput(p2, s, 30_000, true)
	p2.Inputs[2].WitnessUTXO = &psbt.TxOut{Value: 3_000, PkScript: p2.Inputs[2].WitnessUTXO.PkScript}
	out, _, err = f.sign(p2, signer.Options{})
	refused(t, out, err, "input 2: witness_utxo")
}

// Fix 2: a global xpub carrying one of the wallet's keys under another
// origin is a conflicting global xpub.
func TestGlobalXPubUnderAnotherOrigin(t *testing.T) {
	own := func(f *fixture, p *psbt.Packet) *psbt.XPub {
		for k := range p.XPubs {
			if wallet.Fingerprint(p.XPubs[k].Fingerprint) == f.recs[0].Origin.Fingerprint {
				return &p.XPubs[k]
			}
		}
		f.t.Fatal("no global xpub of ours")
		return nil
	}
	cases := []struct {
		name  string
		alter func(f *fixture, p *psbt.Packet)
		want  string
	}{
		{"our key under another fingerprint", func(f *fixture, p *psbt.Packet) {
			x := own(f, p)
			x.Fingerprint[0] ^= 0xff
		}, "this signer's own key"},
		{"our key under another path", func(f *fixture, p *psbt.Packet) {
			x := own(f, p)
			x.Path = append([]uint32(nil), x.Path...)
			x.Path[len(x.Path)-1] = 3 | wallet.Hardened
		}, "global xpub"},
		{"a key outside the wallet claiming our fingerprint", func(f *fixture, p *psbt.Packet) {
			other := p.XPubs[0]
			for _, o := range p.XPubs {
				if wallet.Fingerprint(o.Fingerprint) != f.recs[0].Origin.Fingerprint {
					other = o
				}
			}
			p.XPubs = append(p.XPubs, psbt.XPub{ExtendedKey: other.ExtendedKey, Fingerprint: f.recs[0].Origin.Fingerprint, Path: []uint32{84 | wallet.Hardened, 1 | wallet.Hardened, 0 | wallet.Hardened}})
		}, "claims this signer's fingerprint at m/84h/1h/0h but is not its key"},
		{"our key outside the wallet under another fingerprint", func(f *fixture, p *psbt.Packet) {
			path := wallet.Path{84 | wallet.Hardened, 1 | wallet.Hardened, 0 | wallet.Hardened}
			m, _ := f.ks[0].Master(f.net)
			k, _ := m.Derive(path)
			raw := k.Neuter().Serialize()
			p.XPubs = append(p.XPubs, psbt.XPub{ExtendedKey: raw[:], Fingerprint: [4]byte{1, 2, 3, 4}, Path: path})
		}, "announces this signer's own key at m/84h/1h/0h"},
		{"a cosigner's key under our origin", func(f *fixture, p *psbt.Packet) {
			x := own(f, p)
			for _, o := range p.XPubs {
				if wallet.Fingerprint(o.Fingerprint) != f.recs[0].Origin.Fingerprint {
					x.ExtendedKey = o.ExtendedKey
					break
				}
			}
		}, "global xpub"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, wallet.P2WSH, 2, 3, 2)
			p := f.build()
			if _, _, err := f.sign(p.Copy(), signer.Options{}); err != nil {
				t.Fatalf("control: %v", err)
			}
			c.alter(f, p)
			out, _, err := f.sign(p, signer.Options{})
			refused(t, out, err, c.want)
		})
	}
}

// Fix 4: the review shows every input's sighash type and warns of what a
// type other than ALL leaves uncommitted.
func TestSighashShownAndWarned(t *testing.T) {
	cases := []struct {
		ht   psbt.SigHashType
		name string
		want []string
	}{
		{psbt.SigHashNone, "NONE", []string{"sighash NONE", "commits to no output"}},
		{psbt.SigHashSingle, "SINGLE", []string{"sighash SINGLE", "commits only to output 0", "every other output"}},
		{psbt.SigHashAll | psbt.SigHashAnyOneCanPay, "ALL|ANYONECANPAY", []string{"commits to every output", "inputs can be added or removed"}},
		{psbt.SigHashSingle | psbt.SigHashAnyOneCanPay, "SINGLE|ANYONECANPAY", []string{"commits only to output 0", "inputs can be added or removed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, wallet.P2WSH, 2, 3, 2)
			p := f.build()
			p.Inputs[0].SighashType = c.ht
			out, r, err := f.sign(p, signer.Options{AllowSighash: true})
			if err != nil {
				t.Fatal(err)
			}
			if sig := out.Inputs[0].PartialSigs[0].Sig; psbt.SigHashType(sig[len(sig)-1]) != c.ht {
				t.Errorf("signature sighash byte %#x", sig[len(sig)-1])
			}
			text := formatted(r)
			if !strings.Contains(text, "sighash "+c.name+")") || !strings.Contains(text, "sighash ALL)") {
				t.Errorf("review does not show each input's sighash:\n%s", text)
			}
			warn := ""
			for _, l := range strings.Split(text, "\n") {
				if strings.HasPrefix(l, "WARNING: input 0 is signed with sighash") {
					warn = l
				}
			}
			for _, w := range c.want {
				if !strings.Contains(warn, w) {
					t.Errorf("warning %q lacks %q", warn, w)
				}
			}
		})
	}
	// Never signed, even when allowed: a type that is none of the six,
	// and SINGLE on an input with no output of its index.
	refusals := []struct {
		name  string
		alter func(f *fixture, p *psbt.Packet)
		want  string
	}{
		{"non-standard type", func(f *fixture, p *psbt.Packet) { p.Inputs[0].SighashType = 0x04 }, "not a standard type"},
		{"ANYONECANPAY alone", func(f *fixture, p *psbt.Packet) { p.Inputs[0].SighashType = 0x80 }, "not a standard type"},
		{"SINGLE without its output", func(f *fixture, p *psbt.Packet) { p.Inputs[2].SighashType = psbt.SigHashSingle }, "no output 2"},
	}
	for _, c := range refusals {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, wallet.P2WSH, 2, 3, 3)
			p := f.build()
			c.alter(f, p)
			out, _, err := f.sign(p, signer.Options{AllowSighash: true})
			refused(t, out, err, c.want)
		})
	}
}

// Fix 5: two registered wallets share the signer's key origin; each
// signs its own inputs, whichever was registered first.
func TestWalletsSharingOrigin(t *testing.T) {
	f := newFixture(t, wallet.P2WSH, 2, 3, 2)
	vault := f.desc
	pair, err := wallet.NewMultisig(f.net, wallet.P2WSH, 2, f.recs[:2])
	if err != nil {
		t.Fatal(err)
	}
	reg, err := f.ks[0].PrepareRegistration("pair", pair, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.ks[0].Register(reg); err != nil {
		t.Fatal(err)
	}
	// The wallet registered second.
	f.desc = pair
	f.coins = nil
	for i := 0; i < 2; i++ {
		f.coins = append(f.coins, f.coin(pair, false, uint32(i), 100_000_000))
	}
	p := f.build()
	out, r, err := f.sign(p.Copy(), signer.Options{})
	if err != nil {
		t.Fatalf("the second wallet sharing the origin: %v", err)
	}
	if r.Wallet != "pair" || len(out.Inputs[1].PartialSigs) != 1 || !r.Outputs[1].Change {
		t.Errorf("signed for %q: %+v", r.Wallet, r.Outputs)
	}
	// The first still signs.
	f.desc = vault
	f.coins = []coordinator.FundedCoin{f.coin(vault, false, 0, 100_000_000)}
	if _, r, err := f.sign(f.build(), signer.Options{}); err != nil || r.Wallet != "vault" {
		t.Fatalf("the first wallet: %v", err)
	}
	// A fault in the wallet that does derive the script is the reason
	// given, not a mismatch with the other wallet.
	bad := p.Copy()
	other, _ := pair.Derive(false, 7)
	bad.Inputs[0].WitnessScript = other.WitnessScript
	out, _, err = f.sign(bad, signer.Options{})
	refused(t, out, err, `witness script is not the one wallet "pair" derives`)
	// A script neither wallet derives is refused, naming both.
	neither := p.Copy()
	neither.Inputs[0].Bip32Derivation, neither.Inputs[1].Bip32Derivation = neither.Inputs[1].Bip32Derivation, neither.Inputs[0].Bip32Derivation
	out, _, err = f.sign(neither, signer.Options{})
	refused(t, out, err, "none of the 2 registered wallets")
}

// Fix 6: the size bound counts foreign inputs' signatures at their worst
// case, or says which it leaves out; the bound holds for the finalized
// transaction.
func TestVSizeCountsForeignInputs(t *testing.T) {
	f := newFixture(t, wallet.P2WSH, 2, 3, 2)
	s := newStranger(f)
	f.register(1, nil)

	p := f.build()
	f.addForeignInput(p, s, 30_000, true)
	out0, r, err := f.sign(p.Copy(), signer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Uncounted) != 0 || strings.Contains(formatted(r), "not counting") {
		t.Errorf("a foreign 1-of-2 with its witness script was not counted: %v", r.Uncounted)
	}
	out1, _, err := f.ks[1].Sign(p.Copy(), signer.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out2, _, err := s.ks.Sign(p.Copy(), signer.Options{}, nil)
	if err != nil {
		t.Fatalf("the stranger signs its input: %v", err)
	}
	full := p.Copy()
	if err := psbt.Combine(full, out0, out1, out2); err != nil {
		t.Fatal(err)
	}
	if err := psbt.Finalize(full); err != nil {
		t.Fatal(err)
	}
	tx, err := psbt.Extract(full)
	if err != nil {
		t.Fatal(err)
	}
	vsize := (tx.Weight() + 3) / 4
	if vsize > r.VSize || r.VSize > vsize+10 {
		t.Errorf("signed vsize %d, review's bound %d", vsize, r.VSize)
	}

	// Without its witness script the foreign input cannot be bounded: the
	// label says so.
	q := f.build()
	f.addForeignInput(q, s, 30_000, false)
	_, r, err = f.sign(q, signer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Uncounted) != 1 || r.Uncounted[0] != 2 || !strings.Contains(formatted(r), "not counting the signatures of input 2") {
		t.Errorf("uncounted %v:\n%s", r.Uncounted, formatted(r))
	}
}

// Fix 3: text from the input reaches the operator only escaped, whatever
// path it takes to the refusal.
func TestRefusalTextEscaped(t *testing.T) {
	f := newFixture(t, wallet.P2WSH, 2, 3, 1)
	const esc = "\x1b[2J\x1b]0;signed\a\u202e"
	for name, in := range map[string]string{
		"ur type":      "ur:" + esc + "/lpadaxcf",
		"ur sequence":  "ur:crypto-psbt/" + esc + "/lpadaxcf",
		"ur body":      "ur:crypto-psbt/" + esc,
		"bbqr header":  "B$" + esc + "0100AAAA",
		"bbqr count":   "B$ZP" + esc,
		"two formats":  "B$ZP0200AAAAAAAA\nur:" + esc + "/1-2/lpadaxcf",
		"garbage text": esc,
	} {
		t.Run(name, func(t *testing.T) {
			out, _, err := f.ks[0].SignBytes([]byte(in), signer.Options{}, nil)
			refused(t, out, err, "psbt")
			for _, c := range err.Error() {
				if c < ' ' || c > '~' {
					t.Fatalf("refusal carries %q raw: %q", c, err.Error())
				}
			}
		})
	}
}

// The review escapes a registered name too: nothing in it drives a
// terminal.
func TestReviewEscapesNames(t *testing.T) {
	f := newFixture(t, wallet.P2WSH, 2, 3, 1)
	reg, err := f.ks[1].PrepareRegistration("v\x1b[31m\u202e", f.desc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.ks[1].Register(reg); err != nil {
		t.Fatal(err)
	}
	_, r, err := f.ks[1].Sign(f.build(), signer.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range formatted(r) {
		if c != '\n' && (c < ' ' || c > '~') {
			t.Fatalf("review carries %q raw:\n%s", c, formatted(r))
		}
	}
}

// offCurve returns a 33-byte key with a valid prefix whose x has no
// point on the curve.
func offCurve(t *testing.T) []byte {
	for x := byte(1); ; x++ {
		k := make([]byte, 33)
		k[0], k[32] = 2, x
		if _, err := btcec.ParsePubKey(k); err != nil {
			return k
		}
	}
}

// The signer parses derivation keys as bytes (the keys it uses are
// compared with its own); a key it does not use is still checked, so a
// key that is no point is refused as before, in an input or an output.
func TestOffCurveDerivationKeyRefused(t *testing.T) {
	f := newFixture(t, wallet.P2WSH, 2, 3, 2)
	s := newStranger(f)
	bad := offCurve(t)
	cases := map[string]struct {
		alter func(p *psbt.Packet) []byte // returns the valid key to replace
		want  string
	}{
		"foreign input": {func(p *psbt.Packet) []byte {
			f.addForeignInput(p, s, 30_000, true)
			return p.Inputs[2].Bip32Derivation[0].PubKey
		}, "input 2: key"},
		"external output": {func(p *psbt.Packet) []byte {
			d, _ := s.desc.Derive(false, 1)
			k := d.Keys[0]
			p.Outputs[0].Bip32Derivation = []psbt.Bip32Derivation{{PubKey: k.PubKey, Fingerprint: k.Origin.Fingerprint, Path: k.Origin.Path}}
			return k.PubKey
		}, "output 0: key"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p := f.build()
			good := c.alter(p)
			raw, err := p.Serialize()
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := f.ks[0].SignBytes(raw, signer.Options{}, nil); err != nil {
				t.Fatalf("control: %v", err)
			}
			// The key of a BIP-32 derivation pair: key length 34, type 6
			// (input) or 2 (output), then the public key.
			typ := byte(6)
			if strings.HasPrefix(c.want, "output") {
				typ = 2
			}
			pair := append([]byte{34, typ}, good...)
			if bytes.Count(raw, pair) != 1 {
				t.Fatal("the derivation is not in the PSBT exactly once")
			}
			raw = bytes.Replace(raw, pair, append([]byte{34, typ}, bad...), 1)
			if _, err := psbt.Parse(raw); err == nil {
				t.Fatal("a strict parse takes the key")
			}
			for _, w := range []int{1, 8} {
				out, _, err := f.ks[0].SignBytes(raw, signer.Options{Workers: w}, nil)
				refused(t, out, err, c.want)
			}
		})
	}
}
