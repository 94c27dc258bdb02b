package signer_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/kinko-project/kinko/airgap"
	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/internal/regtest"
	"github.com/kinko-project/kinko/signer"
	"github.com/kinko-project/kinko/wallet"
)

// Electrum-shaped PSBTs, written byte by byte from Electrum's documented
// behaviour (not from its code):
//
//   - a key Electrum holds only as an xpub (a cosigner entered as a
//     Vpub/Zpub, which carries no origin) is given in each BIP-32
//     derivation by that xpub's own fingerprint and the path below it,
//     branch/index ("the derivation paths ... are relative to the xpub,
//     not relative to the master key", spesmilo/electrum#5955; "when
//     Electrum doesn't know the masterFingerprint it uses the fingerprint
//     of the xpub, and the path is from the xpub (as m)",
//     bitcoinjs/bitcoinjs-lib#1664);
//   - its own key (the seed it holds) by the root fingerprint and the
//     full path;
//   - with "Export for hardware device; include xpubs" the global xpubs
//     of those keys come out at depth 0 with a zero parent fingerprint,
//     at m (spesmilo/electrum#6780);
//   - a QR code carries witness UTXOs in place of the previous
//     transactions (spesmilo/electrum#5721: "when showing a QR code, all
//     NON_WITNESS_UTXOs are converted to WITNESS_UTXOs").
//
// The wallet: the fixture's 2-of-3 wsh; keystore 0 is the kinko signer
// under test, keystore 1 another kinko signer, keystore 2 the seed
// Electrum holds. Electrum knows keys 0 and 1 as Vpubs.

const electrumSeed = 2

type eDer struct {
	pub  []byte
	fp   [4]byte
	path []uint32
}

type eIn struct {
	op   psbt.OutPoint
	prev *psbt.Tx // nil: left out, as in Electrum's QR codes
	utxo *psbt.TxOut
	ws   []byte
	ders []eDer
}

type eOut struct {
	out  *psbt.TxOut
	ws   []byte
	ders []eDer
}

type eXPub struct {
	key  []byte // 78 bytes
	fp   [4]byte
	path []uint32
}

type ePSBT struct {
	xpubs []eXPub
	ins   []eIn
	outs  []eOut
}

func compact(b []byte, n int) []byte {
	switch {
	case n < 0xfd:
		return append(b, byte(n))
	case n <= 0xffff:
		return binary.LittleEndian.AppendUint16(append(b, 0xfd), uint16(n))
	}
	return binary.LittleEndian.AppendUint32(append(b, 0xfe), uint32(n))
}

func pair(b, key, val []byte) []byte {
	b = compact(b, len(key))
	b = append(b, key...)
	b = compact(b, len(val))
	return append(b, val...)
}

func derValue(fp [4]byte, path []uint32) []byte {
	v := append([]byte(nil), fp[:]...)
	for _, s := range path {
		v = binary.LittleEndian.AppendUint32(v, s)
	}
	return v
}

func txOutBytes(b []byte, o *psbt.TxOut) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(o.Value))
	b = compact(b, len(o.PkScript))
	return append(b, o.PkScript...)
}

// handTx serializes a transaction without witnesses, field by field.
func handTx(version int32, ins []*psbt.TxIn, outs []*psbt.TxOut, lock uint32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(version))
	b = compact(b, len(ins))
	for _, in := range ins {
		b = append(b, in.PrevOut.Hash[:]...)
		b = binary.LittleEndian.AppendUint32(b, in.PrevOut.Index)
		b = compact(b, len(in.ScriptSig))
		b = append(b, in.ScriptSig...)
		b = binary.LittleEndian.AppendUint32(b, in.Sequence)
	}
	b = compact(b, len(outs))
	for _, o := range outs {
		b = txOutBytes(b, o)
	}
	return binary.LittleEndian.AppendUint32(b, lock)
}

// bytes writes the PSBT: global unsigned tx (0x00) and xpubs (0x01);
// per input non_witness_utxo (0x00), witness_utxo (0x01), witness script
// (0x05), derivations (0x06); per output witness script (0x01) and
// derivations (0x02).
func (e *ePSBT) bytes() []byte {
	var ins []*psbt.TxIn
	for _, in := range e.ins {
		ins = append(ins, &psbt.TxIn{PrevOut: in.op, Sequence: 0xfffffffd})
	}
	var outs []*psbt.TxOut
	for _, o := range e.outs {
		outs = append(outs, o.out)
	}
	b := []byte("psbt\xff")
	b = pair(b, []byte{0x00}, handTx(2, ins, outs, 0))
	for _, x := range e.xpubs {
		b = pair(b, append([]byte{0x01}, x.key...), derValue(x.fp, x.path))
	}
	b = append(b, 0x00)
	for _, in := range e.ins {
		if in.prev != nil {
			b = pair(b, []byte{0x00}, handTx(in.prev.Version, in.prev.Inputs, in.prev.Outputs, in.prev.LockTime))
		}
		b = pair(b, []byte{0x01}, txOutBytes(nil, in.utxo))
		if in.ws != nil {
			b = pair(b, []byte{0x05}, in.ws)
		}
		for _, d := range in.ders {
			b = pair(b, append([]byte{0x06}, d.pub...), derValue(d.fp, d.path))
		}
		b = append(b, 0x00)
	}
	for _, o := range e.outs {
		if o.ws != nil {
			b = pair(b, []byte{0x01}, o.ws)
		}
		for _, d := range o.ders {
			b = pair(b, append([]byte{0x02}, d.pub...), derValue(d.fp, d.path))
		}
		b = append(b, 0x00)
	}
	return b
}

// electrumDers gives d's keys at (change, index) as Electrum writes them:
// the key of Electrum's seed (a key of recs whose position is own) with
// its full origin, the others by their xpub's fingerprint and
// branch/index.
func electrumDers(t testing.TB, d *wallet.Descriptor, recs []*wallet.KeyRecord, own int, change bool, index uint32) (*wallet.Derived, []eDer) {
	t.Helper()
	der, err := d.Derive(change, index)
	if err != nil {
		t.Fatal(err)
	}
	branch := uint32(0)
	if change {
		branch = 1
	}
	var out []eDer
	for _, k := range der.Keys {
		pos := slices.IndexFunc(recs, func(r *wallet.KeyRecord) bool {
			return r.Origin.Fingerprint == k.Origin.Fingerprint && r.Origin.Path.Equal(k.Origin.Path[:len(r.Origin.Path)])
		})
		if pos < 0 {
			t.Fatalf("key %s is none of the records", k.Origin)
		}
		if pos == own {
			out = append(out, eDer{k.PubKey, k.Origin.Fingerprint, k.Origin.Path})
			continue
		}
		out = append(out, eDer{k.PubKey, recs[pos].Key.Fingerprint(), []uint32{branch, index}})
	}
	return der, out
}

// depth0 re-serializes an account xpub as Electrum's hardware-device
// export does: depth 0, no parent fingerprint, child number 0, with
// version as given (tpub or SLIP-132 Vpub).
func depth0(k *wallet.ExtendedKey, version []byte) []byte {
	ser := k.Serialize()
	b := append([]byte(nil), ser[:]...)
	copy(b[0:4], version)
	b[4] = 0
	clear(b[5:13])
	return b
}

var (
	tpubVersion = []byte{0x04, 0x35, 0x87, 0xcf}
	vpubVersion = []byte{0x02, 0x57, 0x54, 0x83}
)

// electrumSpend is the fixture's coins (receive 0, change 25) spent by
// Electrum: 0.5 BTC out, change to 1/7, every derivation in Electrum's
// form, the global xpubs as "Export for hardware device" writes them.
func electrumSpend(t *testing.T) (*fixture, *ePSBT) {
	f := newFixture(t, wallet.P2WSH, 2, 3, 0)
	f.coins = append(f.coins, f.coin(f.desc, false, 0, 100_000_000), f.coin(f.desc, true, 25, 60_000_000))
	return f, electrumBuild(t, f)
}

// electrumBuild writes Electrum's PSBT spending f's coins (worth 1.6 BTC
// together): 0.5 BTC out, 1000 sat fee, the rest to change 1/7.
func electrumBuild(t *testing.T, f *fixture) *ePSBT {
	e := &ePSBT{}
	for i, r := range f.recs {
		if i == electrumSeed {
			ser := r.Key.Serialize()
			e.xpubs = append(e.xpubs, eXPub{ser[:], r.Origin.Fingerprint, r.Origin.Path})
			continue
		}
		version := tpubVersion
		if i == 1 {
			version = vpubVersion
		}
		e.xpubs = append(e.xpubs, eXPub{depth0(r.Key, version), r.Key.Fingerprint(), nil})
	}
	for _, c := range f.coins {
		der, ders := electrumDers(t, f.desc, f.recs, electrumSeed, c.Change, c.Index)
		e.ins = append(e.ins, eIn{op: c.OutPoint, prev: c.Prev, utxo: c.Prev.Outputs[0], ws: der.WitnessScript, ders: ders})
	}
	der, ders := electrumDers(t, f.desc, f.recs, electrumSeed, true, 7)
	e.outs = []eOut{
		{out: &psbt.TxOut{Value: 50_000_000, PkScript: external(t)}},
		{out: &psbt.TxOut{Value: 160_000_000 - 50_000_000 - 1_000, PkScript: der.ScriptPubKey}, ws: der.WitnessScript, ders: ders},
	}
	return e
}

func TestElectrumFormSigns(t *testing.T) {
	f, e := electrumSpend(t)
	raw := e.bytes()
	p, err := psbt.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	// The hand-written PSBT is in Electrum's form: no derivation names
	// the master fingerprint of signers 0 and 1.
	for _, d := range p.Inputs[0].Bip32Derivation {
		if d.Fingerprint == f.recs[0].Origin.Fingerprint {
			t.Fatal("the test PSBT gives signer 0's master fingerprint")
		}
	}
	before := p.Copy()
	out, r, err := f.ks[0].Sign(p, signer.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	signed(t, out)
	if !r.Inputs[1].Change || r.Inputs[1].Index != 25 || !r.Outputs[1].Change || r.Outputs[1].Index != 7 || r.Outputs[0].Change {
		t.Errorf("review: inputs %+v outputs %+v", r.Inputs, r.Outputs)
	}
	// Each signature is for signer 0's own key at the path Electrum's
	// form stands for.
	for i, c := range f.coins {
		der, err := f.desc.Derive(c.Change, c.Index)
		if err != nil {
			t.Fatal(err)
		}
		if got := out.Inputs[i].PartialSigs[0].PubKey; !bytes.Equal(got, der.Keys[slices.IndexFunc(der.Keys, func(k wallet.DerivedKey) bool {
			return k.Origin.Fingerprint == f.recs[0].Origin.Fingerprint
		})].PubKey) {
			t.Errorf("input %d signed with key %x", i, got)
		}
	}
	// The caller's PSBT is left as it came.
	if !bytes.Equal(mustSerialize(t, before), mustSerialize(t, p)) {
		t.Error("Sign rewrote the caller's PSBT")
	}
	// With the other kinko signer's signatures it finalizes.
	f.register(1, nil)
	out1, _, err := f.ks[1].SignBytes(raw, signer.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p1, err := psbt.Parse(out1)
	if err != nil {
		t.Fatal(err)
	}
	full := p.Copy()
	if err := psbt.Combine(full, out, p1); err != nil {
		t.Fatal(err)
	}
	if err := psbt.Finalize(full); err != nil {
		t.Fatal(err)
	}
}

func mustSerialize(t *testing.T, p *psbt.Packet) []byte {
	t.Helper()
	b, err := p.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// otherKey is the public key of signer i's account at (change, index):
// a key that is registered, but not the one a lie claims.
func otherKey(t *testing.T, f *fixture, i int, change bool, index uint32) []byte {
	t.Helper()
	der, err := f.desc.Derive(change, index)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range der.Keys {
		if k.Origin.Fingerprint == f.recs[i].Origin.Fingerprint {
			return k.PubKey
		}
	}
	t.Fatal("no such key")
	return nil
}

// derOf finds the derivation with fingerprint fp in ds.
func derOf(t *testing.T, ds []eDer, fp wallet.Fingerprint) *eDer {
	t.Helper()
	for i := range ds {
		if ds[i].fp == fp {
			return &ds[i]
		}
	}
	t.Fatalf("no derivation with fingerprint %s", fp)
	return nil
}

// TestElectrumFormLies: a fingerprint in Electrum's form that names a
// registered key, given with another key, is refused in every kind of
// field, and nothing is signed.
func TestElectrumFormLies(t *testing.T) {
	own := func(f *fixture, i int) wallet.Fingerprint { return f.recs[i].Key.Fingerprint() }
	cases := []struct {
		name  string
		alter func(t *testing.T, f *fixture, e *ePSBT)
		want  string
	}{
		{"input: our key's fingerprint, another key", func(t *testing.T, f *fixture, e *ePSBT) {
			derOf(t, e.ins[0].ders, own(f, 0)).pub = otherKey(t, f, 0, false, 1)
		}, "input 0: key"},
		{"input: our key's fingerprint, a cosigner's key", func(t *testing.T, f *fixture, e *ePSBT) {
			derOf(t, e.ins[0].ders, own(f, 0)).pub = otherKey(t, f, 1, false, 5)
		}, "does not re-derive from our seed"},
		{"input: a cosigner's fingerprint, another key", func(t *testing.T, f *fixture, e *ePSBT) {
			derOf(t, e.ins[1].ders, own(f, 1)).pub = otherKey(t, f, 1, true, 24)
		}, "input 1: key"},
		{"input: a cosigner's fingerprint at another index", func(t *testing.T, f *fixture, e *ePSBT) {
			derOf(t, e.ins[1].ders, own(f, 1)).path = []uint32{1, 24}
		}, "input 1: key"},
		{"change: our key's fingerprint, another key", func(t *testing.T, f *fixture, e *ePSBT) {
			derOf(t, e.outs[1].ders, own(f, 0)).pub = otherKey(t, f, 0, true, 8)
		}, "output 1: change key"},
		{"change: a cosigner's fingerprint, another key", func(t *testing.T, f *fixture, e *ePSBT) {
			derOf(t, e.outs[1].ders, own(f, 1)).pub = otherKey(t, f, 1, true, 8)
		}, "output 1: key"},
		{"change on the receive branch", func(t *testing.T, f *fixture, e *ePSBT) {
			derOf(t, e.outs[1].ders, own(f, 0)).path = []uint32{0, 7}
		}, "output 1: presented as change but on the receive branch"},
		{"global xpub at m: our key's fingerprint, another key", func(t *testing.T, f *fixture, e *ePSBT) {
			e.xpubs[0].key = depth0(f.recs[1].Key, tpubVersion)
		}, "global xpub: at m with fingerprint"},
		{"global xpub at m: a cosigner's fingerprint, another key", func(t *testing.T, f *fixture, e *ePSBT) {
			e.xpubs[1].key = depth0(f.recs[2].Key, vpubVersion)
		}, "global xpub: at m with fingerprint"},
		{"global xpub at m of a mainnet family", func(t *testing.T, f *fixture, e *ePSBT) {
			e.xpubs[1].key = depth0(f.recs[1].Key, []byte{0x04, 0x88, 0xb2, 0x1e})
		}, "global xpub"},
		{"global xpub: our key at its own fingerprint but not depth 0", func(t *testing.T, f *fixture, e *ePSBT) {
			ser := f.recs[0].Key.Serialize()
			e.xpubs[0] = eXPub{ser[:], f.recs[0].Key.Fingerprint(), []uint32{1, 2, 3, 4}}
		}, "global xpub: announces this signer's own key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, e := electrumSpend(t)
			c.alter(t, f, e)
			out, _, err := f.ks[0].SignBytes(e.bytes(), signer.Options{}, nil)
			refused(t, out, err, c.want)
		})
	}
}

// TestElectrumFormOnlyBranchIndex: nothing but a branch/index pair under
// a registered key's own fingerprint is read as Electrum's form. A
// hardened or longer path there is not: the input claims no key of the
// signer, and an input the signer signs with such a derivation for a
// cosigner is refused as any foreign origin is.
func TestElectrumFormOnlyBranchIndex(t *testing.T) {
	for _, c := range []struct {
		name string
		path []uint32
		want string
	}{
		{"hardened index", []uint32{0, wallet.Hardened}, "no input belongs"},
		{"three steps", []uint32{0, 0, 0}, "no input belongs"},
		{"one step", []uint32{0}, "no input belongs"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, e := electrumSpend(t)
			for k := range e.ins {
				derOf(t, e.ins[k].ders, f.recs[0].Key.Fingerprint()).path = c.path
			}
			out, _, err := f.ks[0].SignBytes(e.bytes(), signer.Options{}, nil)
			refused(t, out, err, c.want)
		})
	}
	f, e := electrumSpend(t)
	d := derOf(t, e.ins[0].ders, f.recs[1].Key.Fingerprint())
	d.path = []uint32{0, 0, 0}
	out, _, err := f.ks[0].SignBytes(e.bytes(), signer.Options{}, nil)
	refused(t, out, err, "input 0: key")
}

// TestElectrumFormDestination: an output to a registered destination
// whose keys are given in Electrum's form is shown as paying it, once
// re-derived; with a key that is not the destination's it is refused.
func TestElectrumFormDestination(t *testing.T) {
	f, e := electrumSpend(t)
	hot := hotWallet(f)
	f.registerDestination(0, "hot", hot)
	var recs []*wallet.KeyRecord
	recs = append(recs, hot.Keys()...)
	der, ders := electrumDers(t, hot, recs, -1, false, 3)
	e.outs[0] = eOut{out: &psbt.TxOut{Value: 50_000_000, PkScript: der.ScriptPubKey}, ws: der.WitnessScript, ders: ders}
	_, r, err := f.ks[0].SignBytes(e.bytes(), signer.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Outputs[0].Destination != "hot" || r.Outputs[0].Index != 3 {
		t.Errorf("output 0: %+v", r.Outputs[0])
	}
	var buf strings.Builder
	r.Format(&buf)
	if !strings.Contains(buf.String(), `registered wallet "hot"`) && !strings.Contains(buf.String(), "hot") {
		t.Errorf("review does not name the destination:\n%s", buf.String())
	}
	// A lie: the first key's fingerprint with the second key's key.
	e.outs[0].ders[0].pub = e.outs[0].ders[1].pub
	out, _, err := f.ks[0].SignBytes(e.bytes(), signer.Options{}, nil)
	refused(t, out, err, "output 0")
}

// TestElectrumQRNoPreviousTx: Electrum's QR codes carry witness UTXOs
// only; the refusal wraps ErrNoPreviousTx, on which the command line's
// hint says how to export the PSBT with them.
func TestElectrumQRNoPreviousTx(t *testing.T) {
	f, e := electrumSpend(t)
	for k := range e.ins {
		e.ins[k].prev = nil
	}
	out, _, err := f.ks[0].SignBytes(e.bytes(), signer.Options{}, nil)
	refused(t, out, err, "input 0: no previous transaction")
	if !errors.Is(err, signer.ErrNoPreviousTx) {
		t.Errorf("err = %v, want ErrNoPreviousTx", err)
	}
}

// TestElectrumOnRegtest: coins of the vault on a real btcd regtest node
// (receive 0, change 25), spent by a PSBT in Electrum's form read as its
// base43 QR text would be if it carried the previous transactions; the
// two kinko signers' signatures finalize to a transaction the node
// accepts and mines.
func TestElectrumOnRegtest(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real btcd regtest node")
	}
	node, err := regtest.Start(context.Background(), regtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Stop()
	f := newFixture(t, wallet.P2WSH, 2, 3, 0)
	f.register(1, nil)
	for _, c := range []struct {
		change bool
		index  uint32
		value  int64
	}{{false, 0, 100_000_000}, {true, 25, 60_000_000}} {
		der, err := f.desc.Derive(c.change, c.index)
		if err != nil {
			t.Fatal(err)
		}
		id, err := node.Fund(der.ScriptPubKey, c.value)
		if err != nil {
			t.Fatal(err)
		}
		mine(t, node)
		prev := rawTx(t, node, id)
		vout := slices.IndexFunc(prev.Outputs, func(o *psbt.TxOut) bool { return bytes.Equal(o.PkScript, der.ScriptPubKey) })
		f.coins = append(f.coins, coordinator.FundedCoin{Coin: coordinator.Coin{OutPoint: psbt.OutPoint{Hash: prev.TxID(), Index: uint32(vout)}, Value: c.value, Change: c.change, Index: c.index}, Prev: prev})
	}
	e := electrumBuild(t, f)
	text := []byte(airgap.EncodeBase43(e.bytes()))
	p, err := psbt.Parse(e.bytes())
	if err != nil {
		t.Fatal(err)
	}
	full := p.Copy()
	for i := 0; i < 2; i++ {
		out, _, err := f.ks[i].SignBytes(text, signer.Options{}, nil)
		if err != nil {
			t.Fatalf("signer %d: %v", i, err)
		}
		part, err := psbt.Parse(out)
		if err != nil {
			t.Fatal(err)
		}
		if err := psbt.Combine(full, part); err != nil {
			t.Fatal(err)
		}
	}
	if err := psbt.Finalize(full); err != nil {
		t.Fatal(err)
	}
	broadcast(t, node, full)
	mine(t, node)
}

// TestElectrumFormSingleKey: a single-key wallet whose key Electrum holds
// as a zpub/vpub alone (watching only) names it the same way; the input
// and the change are read through the registered key.
func TestElectrumFormSingleKey(t *testing.T) {
	f := newFixture(t, wallet.P2WPKH, 1, 1, 0)
	f.coins = append(f.coins, f.coin(f.desc, false, 3, 100_000_000))
	c := f.coins[0]
	_, ders := electrumDers(t, f.desc, f.recs, -1, false, 3)
	if ders[0].fp != f.recs[0].Key.Fingerprint() || len(ders[0].path) != 2 {
		t.Fatalf("not in Electrum's form: %+v", ders[0])
	}
	chg, chgDers := electrumDers(t, f.desc, f.recs, -1, true, 4)
	e := &ePSBT{
		ins: []eIn{{op: c.OutPoint, prev: c.Prev, utxo: c.Prev.Outputs[0], ders: ders}},
		outs: []eOut{
			{out: &psbt.TxOut{Value: 30_000_000, PkScript: external(t)}},
			{out: &psbt.TxOut{Value: 70_000_000 - 500, PkScript: chg.ScriptPubKey}, ders: chgDers},
		},
	}
	out, r, err := f.ks[0].SignBytes(e.bytes(), signer.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out == nil || r.Inputs[0].Index != 3 || !r.Outputs[1].Change || r.Outputs[1].Index != 4 {
		t.Errorf("review: %+v %+v", r.Inputs, r.Outputs)
	}
	// A lie: the key's fingerprint with another index's key.
	e.ins[0].ders[0].pub = chg.Keys[0].PubKey
	out, _, err = f.ks[0].SignBytes(e.bytes(), signer.Options{}, nil)
	refused(t, out, err, "does not re-derive from our seed")
}

// TestElectrumFormAmbiguous: when two registered wallets give one key two
// origins, a derivation naming that key by its own fingerprint cannot be
// read, and is refused rather than guessed.
func TestElectrumFormAmbiguous(t *testing.T) {
	f, e := electrumSpend(t)
	other := *f.recs[1]
	other.Origin.Fingerprint = wallet.Fingerprint{0xde, 0xad, 0xbe, 0xef}
	d, err := wallet.NewMultisig(f.net, wallet.P2WSH, 2, []*wallet.KeyRecord{f.recs[0], &other})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := f.ks[0].PrepareRegistration("pair", d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.ks[0].Register(reg); err != nil {
		t.Fatal(err)
	}
	out, _, err := f.ks[0].SignBytes(e.bytes(), signer.Options{}, nil)
	refused(t, out, err, "global xpub: at m with fingerprint "+f.recs[1].Key.Fingerprint().String()+", which more than one registered key has")
	e.xpubs = nil
	out, _, err = f.ks[0].SignBytes(e.bytes(), signer.Options{}, nil)
	refused(t, out, err, "as Electrum writes an xpub's own, and more than one registered key has it")
}
