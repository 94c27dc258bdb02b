package signer_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kinko-project/kinko/airgap"
	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/signer"
	"github.com/kinko-project/kinko/wallet"
)

// Fixed test seeds (BIP-39 vectors), so failures are reproducible.
var testWords = []string{
	"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
	"legal winner thank year wave sausage worth useful legal winner thank yellow",
	"letter advice cage absurd amount doctor acoustic avoid letter advice cage above",
	"zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong",
	"jelly better achieve collect unaware mountain thought cargo oxygen act hood bridge",
}

type fixture struct {
	t     testing.TB
	ks    []*signer.Keystore
	paths []string
	recs  []*wallet.KeyRecord
	desc  *wallet.Descriptor
	net   *wallet.Network
	coins []coordinator.FundedCoin
}

// newFixture makes n keystores, an m-of-n wallet registered on signer 0,
// and inputs coins at receive indexes 0..inputs-1 worth 1 BTC each. For
// the single-key types (wpkh, sh-wpkh) the wallet is signer 0's key alone
// (m and n are ignored beyond making n keystores).
func newFixture(t testing.TB, st wallet.ScriptType, m, n, inputs int) *fixture {
	t.Helper()
	f := &fixture{t: t, net: wallet.Regtest}
	for i := 0; i < n; i++ {
		path := filepath.Join(t.TempDir(), "ks")
		ks, err := signer.CreateKeystore(path, "pw", testWords[i], "", signer.MinWorkFactor)
		if err != nil {
			t.Fatal(err)
		}
		f.paths = append(f.paths, path)
		master, err := ks.Master(f.net)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := wallet.NewKeyRecord(master, wallet.AccountPath(f.net, st, 0))
		if err != nil {
			t.Fatal(err)
		}
		f.ks = append(f.ks, ks)
		f.recs = append(f.recs, rec)
	}
	var err error
	switch st {
	case wallet.P2WPKH:
		f.desc, err = wallet.ParseDescriptor("wpkh("+f.recs[0].String()+"/<0;1>/*)", f.net)
	case wallet.P2SHP2WPKH:
		f.desc, err = wallet.ParseDescriptor("sh(wpkh("+f.recs[0].String()+"/<0;1>/*))", f.net)
	default:
		f.desc, err = wallet.NewMultisig(f.net, st, m, f.recs)
	}
	if err != nil {
		t.Fatal(err)
	}
	f.register(0, nil)
	for i := 0; i < inputs; i++ {
		f.coins = append(f.coins, f.coin(f.desc, false, uint32(i), 100_000_000))
	}
	return f
}

func (f *fixture) register(i int, policy *signer.Policy) {
	reg, err := f.ks[i].PrepareRegistration("vault", f.desc, policy)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.ks[i].Register(reg); err != nil {
		f.t.Fatal(err)
	}
}

// coin makes a previous transaction paying value to d at (change, index).
func (f *fixture) coin(d *wallet.Descriptor, change bool, index uint32, value int64) coordinator.FundedCoin {
	der, err := d.Derive(change, index)
	if err != nil {
		f.t.Fatal(err)
	}
	var seed [8]byte
	binary.LittleEndian.PutUint32(seed[:], index)
	h := sha256.Sum256(append(seed[:], der.ScriptPubKey...))
	prev := &psbt.Tx{Version: 2,
		Inputs:  []*psbt.TxIn{{PrevOut: psbt.OutPoint{Hash: h, Index: 0}, Sequence: 0xffffffff}},
		Outputs: []*psbt.TxOut{{Value: value, PkScript: der.ScriptPubKey}},
	}
	return coordinator.FundedCoin{Coin: coordinator.Coin{OutPoint: psbt.OutPoint{Hash: prev.TxID(), Index: 0}, Value: value, Change: change, Index: index}, Prev: prev}
}

func external(t testing.TB) []byte {
	spk := append([]byte{0x00, 0x14}, bytes.Repeat([]byte{0x42}, 20)...)
	return spk
}

// build makes a PSBT spending every coin: 0.5 BTC out per input minus a
// 2 sat/vB fee, the rest to change index 0.
func (f *fixture) build() *psbt.Packet {
	f.t.Helper()
	var total int64
	for _, c := range f.coins {
		total += c.Value
	}
	change, err := f.desc.Derive(true, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	pay := total / 2
	fee := int64(len(f.coins))*300 + 200
	outs := []*psbt.TxOut{{Value: pay, PkScript: external(f.t)}, {Value: total - pay - fee, PkScript: change.ScriptPubKey}}
	p, err := coordinator.BuildPSBT(f.desc, f.coins, outs, 1, 0, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *fixture) sign(p *psbt.Packet, opts signer.Options) (*psbt.Packet, *signer.Review, error) {
	return f.ks[0].Sign(p, opts, nil)
}

func TestSignValid(t *testing.T) {
	for _, st := range []wallet.ScriptType{wallet.P2WSH, wallet.P2SHP2WSH, wallet.P2SH} {
		t.Run(st.String(), func(t *testing.T) {
			f := newFixture(t, st, 2, 3, 2)
			p := f.build()
			out, r, err := f.sign(p, signer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for i := range out.Inputs {
				if len(out.Inputs[i].PartialSigs) != 1 {
					t.Errorf("input %d: %d signatures", i, len(out.Inputs[i].PartialSigs))
				}
				if out.Inputs[i].NonWitnessUTXO != nil {
					t.Errorf("input %d: the answer carries the previous transaction; it should carry only signatures", i)
				}
			}
			if !r.Outputs[1].Change || r.Outputs[0].Change || r.Outputs[1].Index != 0 {
				t.Errorf("outputs: %+v", r.Outputs)
			}
			if r.TotalIn != 200_000_000 || r.Fee != 800 {
				t.Errorf("review: in %d, fee %d", r.TotalIn, r.Fee)
			}
			var buf bytes.Buffer
			r.Format(&buf)
			for _, want := range []string{"change (verified, change branch, index 0)", "external: bcrt1q", "sat/vB"} {
				if !strings.Contains(buf.String(), want) {
					t.Errorf("review lacks %q:\n%s", want, buf.String())
				}
			}
			// Two signers' answers combine and finalize to a transaction
			// btcd's script engine accepts (checked in coordinator tests);
			// here: the finalizer takes them.
			f.register(1, nil)
			out2, _, err := f.ks[1].Sign(p.Copy(), signer.Options{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			full := p.Copy()
			if err := psbt.Combine(full, out, out2); err != nil {
				t.Fatal(err)
			}
			if err := psbt.Finalize(full); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// refused asserts that err is a refusal mentioning want, and nothing was
// signed.
func refused(t *testing.T, out any, err error, want string) {
	t.Helper()
	if !errors.Is(err, signer.ErrRefused) {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("err = %q, want it to mention %q", err, want)
	}
	switch o := out.(type) {
	case *psbt.Packet:
		if o != nil {
			t.Errorf("a PSBT came back with the refusal")
		}
	case []byte:
		if o != nil {
			t.Errorf("bytes came back with the refusal")
		}
	}
}

func TestRefuseMalformed(t *testing.T) {
	f := newFixture(t, wallet.P2WSH, 2, 3, 2)
	good, err := f.build().Serialize()
	if err != nil {
		t.Fatal(err)
	}
	dupKey := func() []byte {
		// Repeat the first global pair (key 0x00, the unsigned tx).
		pair := good[5 : 7+compactLen(good[7:])]
		b := append([]byte(nil), good[:5]...)
		b = append(b, pair...)
		return append(b, good[5:]...)
	}
	unsigned := f.build().UnsignedTx.BytesNoWitness()
	// raw builds a PSBT by hand: the unsigned tx, extra global pairs, and
	// the given numbers of empty input and output maps.
	raw := func(extra []byte, inputs, outputs int) []byte {
		b := append([]byte("psbt\xff"), 0x01, 0x00)
		b = append(b, byte(len(unsigned))) // compact size of a length below 0xfd
		b = append(b, unsigned...)
		b = append(b, extra...)
		b = append(b, 0x00)
		for i := 0; i < inputs+outputs; i++ {
			b = append(b, 0x00)
		}
		return b
	}
	if len(unsigned) >= 0xfd {
		t.Fatal("test transaction too large for the hand-built PSBT")
	}
	xpubKey77 := append([]byte{78, 0x01}, make([]byte, 77)...) // key of 78 bytes: type + 77, one short
	xpubPair := append(xpubKey77, 4, 0, 0, 0, 0)
	cases := map[string]struct {
		in   []byte
		want error
	}{
		"wrong key length":    {raw(xpubPair, 2, 2), psbt.ErrInvalidKey},
		"input maps missing":  {raw(nil, 1, 2), psbt.ErrMissingMap},
		"output maps missing": {raw(nil, 2, 1), psbt.ErrMissingMap},
		"bad magic":           {append([]byte("psbt\xfe"), good[5:]...), airgap.ErrUnknownFormat},
		"truncated":           {good[:len(good)-3], psbt.ErrTruncated},
		"trailing bytes":      {append(append([]byte(nil), good...), 0x00), psbt.ErrTrailingBytes},
		"duplicate key":       {dupKey(), psbt.ErrDuplicateKey},
		"over the cap":        {append([]byte("psbt\xff"), make([]byte, psbt.MaxSize)...), nil},
		"garbage":             {[]byte("hello"), airgap.ErrUnknownFormat},
	}
	// The hand-built PSBT itself parses: it is refused only because it
	// carries no previous transactions.
	out, _, err := f.ks[0].SignBytes(raw(nil, 2, 2), signer.Options{}, nil)
	refused(t, out, err, "input 0: no previous transaction")
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			out, _, err := f.ks[0].SignBytes(c.in, signer.Options{}, nil)
			refused(t, out, err, "psbt")
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
		})
	}
	// Counts that do not match the transaction: drop the last output map.
	p := f.build()
	p.Outputs = p.Outputs[:1]
	if _, err := p.Serialize(); err == nil {
		t.Fatal("serialize accepted a PSBT with too few output maps")
	}
	signed, _, err := f.sign(p, signer.Options{})
	refused(t, signed, err, "counts")
}

// compactLen is the length of a compact-size-prefixed value at b.
func compactLen(b []byte) int {
	switch b[0] {
	case 0xfd:
		return 3 + int(binary.LittleEndian.Uint16(b[1:]))
	case 0xfe:
		return 5 + int(binary.LittleEndian.Uint32(b[1:]))
	}
	return 1 + int(b[0])
}

// refusalCase changes one thing in a valid 2-input 2-of-3 P2WSH PSBT
// that the signer must refuse.
type refusalCase struct {
	name  string
	alter func(f *fixture, p *psbt.Packet)
	opts  signer.Options
	want  string
}

var refusalCases = []refusalCase{
	{"non_witness_utxo is another transaction", func(f *fixture, p *psbt.Packet) {
		p.Inputs[1].NonWitnessUTXO = p.Inputs[0].NonWitnessUTXO
	}, signer.Options{}, "input 1: previous transaction"},
	{"witness_utxo disagrees (CVE-2020-14199)", func(f *fixture, p *psbt.Packet) {
		p.Inputs[0].WitnessUTXO.Value -= 50_000_000
	}, signer.Options{}, "input 0: witness_utxo"},
	{"segwit input without non_witness_utxo", func(f *fixture, p *psbt.Packet) {
		p.Inputs[1].NonWitnessUTXO = nil
	}, signer.Options{}, "input 1: no previous transaction"},
	{"outputs worth more than inputs", func(f *fixture, p *psbt.Packet) {
		p.UnsignedTx.Outputs[0].Value = 190_000_000
	}, signer.Options{}, "worth more than inputs"},
	{"negative output", func(f *fixture, p *psbt.Packet) {
		p.UnsignedTx.Outputs[0].Value = -1
	}, signer.Options{}, "output 0: amount"},
	{"output above 21 million BTC", func(f *fixture, p *psbt.Packet) {
		p.UnsignedTx.Outputs[0].Value = wallet.MaxMoney + 1
	}, signer.Options{}, "output 0: amount"},
	{"outputs overflow when summed", func(f *fixture, p *psbt.Packet) {
		p.UnsignedTx.Outputs[0].Value = wallet.MaxMoney
		p.UnsignedTx.Outputs[1].Value = wallet.MaxMoney
	}, signer.Options{}, "more than 21 million"},
	{"fee above the absolute cap", func(f *fixture, p *psbt.Packet) {
		p.UnsignedTx.Outputs[1].Value -= 20_000_000
	}, signer.Options{}, "above the cap"},
	{"fee rate above the cap", func(f *fixture, p *psbt.Packet) {
		p.UnsignedTx.Outputs[1].Value -= 100_000
	}, signer.Options{MaxFeeRate: 50}, "fee rate"},
	{"witness script is not the wallet's", func(f *fixture, p *psbt.Packet) {
		other, _ := f.desc.Derive(false, 7)
		p.Inputs[0].WitnessScript = other.WitnessScript
	}, signer.Options{}, "input 0: witness script"},
	{"utxo script is not what the wallet derives at the path", func(f *fixture, p *psbt.Packet) {
		p.Inputs[0].Bip32Derivation, p.Inputs[1].Bip32Derivation = p.Inputs[1].Bip32Derivation, p.Inputs[0].Bip32Derivation
	}, signer.Options{}, "does not derive"},
	{"key claiming our fingerprint does not re-derive", func(f *fixture, p *psbt.Packet) {
		for k := range p.Inputs[0].Bip32Derivation {
			d := &p.Inputs[0].Bip32Derivation[k]
			if wallet.Fingerprint(d.Fingerprint) == f.recs[0].Origin.Fingerprint {
				d.PubKey = p.Inputs[0].Bip32Derivation[(k+1)%3].PubKey
			}
		}
	}, signer.Options{}, "does not re-derive"},
	{"change key claiming our fingerprint does not re-derive", func(f *fixture, p *psbt.Packet) {
		ds := p.Outputs[1].Bip32Derivation
		for k := range ds {
			if wallet.Fingerprint(ds[k].Fingerprint) == f.recs[0].Origin.Fingerprint {
				ds[k].PubKey = ds[(k+1)%3].PubKey
			}
		}
	}, signer.Options{}, "output 1: change key"},
	{"global xpub conflicts with the registered wallet", func(f *fixture, p *psbt.Packet) {
		p.XPubs[0].ExtendedKey, p.XPubs[1].ExtendedKey = p.XPubs[1].ExtendedKey, p.XPubs[0].ExtendedKey
	}, signer.Options{}, "global xpub"},
	{"global xpub of another network", func(f *fixture, p *psbt.Packet) {
		x := append([]byte(nil), p.XPubs[0].ExtendedKey...)
		copy(x, wallet.Mainnet.XPub[:])
		p.XPubs[0].ExtendedKey = x
	}, signer.Options{}, "global xpub"},
	{"change on the receive branch", func(f *fixture, p *psbt.Packet) {
		f.changeTo(p, f.desc, false, 3)
	}, signer.Options{}, "receive branch"},
	{"change far beyond the inputs' indexes", func(f *fixture, p *psbt.Packet) {
		f.changeTo(p, f.desc, true, 5000)
	}, signer.Options{}, "far beyond"},
	{"change with another threshold", func(f *fixture, p *psbt.Packet) {
		d, _ := wallet.NewMultisig(f.net, wallet.P2WSH, 1, f.recs)
		f.changeTo(p, d, true, 0)
	}, signer.Options{}, "output 1: presented as change"},
	{"change with a foreign key", func(f *fixture, p *psbt.Packet) {
		recs := []*wallet.KeyRecord{f.recs[0], f.recs[1], foreignRecord(f)}
		d, _ := wallet.NewMultisig(f.net, wallet.P2WSH, 2, recs)
		f.changeTo(p, d, true, 0)
	}, signer.Options{}, "output 1: presented as change"},
	{"change to single-sig", func(f *fixture, p *psbt.Packet) {
		der, _ := f.desc.Derive(true, 0)
		k := der.Keys[0]
		for _, dk := range der.Keys {
			if dk.Origin.Fingerprint == f.recs[0].Origin.Fingerprint {
				k = dk
			}
		}
		p.UnsignedTx.Outputs[1].PkScript = append([]byte{0x00, 0x14}, wallet.Hash160(k.PubKey)...)
		p.Outputs[1].WitnessScript = nil
		p.Outputs[1].Bip32Derivation = []psbt.Bip32Derivation{{PubKey: k.PubKey, Fingerprint: k.Origin.Fingerprint, Path: k.Origin.Path}}
	}, signer.Options{}, "output 1: presented as change"},
	{"change path of the wrong length", func(f *fixture, p *psbt.Packet) {
		for k := range p.Outputs[1].Bip32Derivation {
			d := &p.Outputs[1].Bip32Derivation[k]
			d.Path = append(d.Path, 0)
			if wallet.Fingerprint(d.Fingerprint) == f.recs[0].Origin.Fingerprint {
				m, _ := f.ks[0].Master(f.net)
				x, _ := m.Derive(d.Path)
				d.PubKey = x.PublicKey()
			}
		}
	}, signer.Options{}, "not a path of wallet"},
	{"change path with a hardened index", func(f *fixture, p *psbt.Packet) {
		for k := range p.Outputs[1].Bip32Derivation {
			d := &p.Outputs[1].Bip32Derivation[k]
			d.Path[len(d.Path)-1] |= wallet.Hardened
			if wallet.Fingerprint(d.Fingerprint) == f.recs[0].Origin.Fingerprint {
				m, _ := f.ks[0].Master(f.net)
				x, _ := m.Derive(d.Path)
				d.PubKey = x.PublicKey()
			}
		}
	}, signer.Options{}, "not a path of wallet"},
	{"sighash NONE", func(f *fixture, p *psbt.Packet) {
		p.Inputs[0].SighashType = psbt.SigHashNone
	}, signer.Options{}, "sighash"},
	{"signature whose sighash byte differs", func(f *fixture, p *psbt.Packet) {
		k := p.Inputs[0].Bip32Derivation[1].PubKey
		p.Inputs[0].PartialSigs = []psbt.PartialSig{{PubKey: k, Sig: append(bytes.Repeat([]byte{0x30}, 70), byte(psbt.SigHashSingle))}}
	}, signer.Options{}, "sighash byte"},
	{"input already finalized", func(f *fixture, p *psbt.Packet) {
		p.Inputs[1].FinalScriptWitness = [][]byte{{1}}
	}, signer.Options{}, "input 1: is already finalized"},
	{"the same outpoint twice", func(f *fixture, p *psbt.Packet) {
		p.UnsignedTx.Inputs[1].PrevOut = p.UnsignedTx.Inputs[0].PrevOut
		p.Inputs[1] = p.Inputs[0]
	}, signer.Options{}, "input 0 spends too"},
}

func TestRefusals(t *testing.T) {
	for _, c := range refusalCases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, wallet.P2WSH, 2, 3, 2)
			p := f.build()
			c.alter(f, p)
			out, _, err := f.sign(p, c.opts)
			refused(t, out, err, c.want)
		})
	}
}

// changeTo replaces output 1 by d's script at (change, index), with the
// derivations a coordinator would claim for it.
func (f *fixture) changeTo(p *psbt.Packet, d *wallet.Descriptor, change bool, index uint32) {
	der, err := d.Derive(change, index)
	if err != nil {
		f.t.Fatal(err)
	}
	p.UnsignedTx.Outputs[1].PkScript = der.ScriptPubKey
	p.Outputs[1].WitnessScript = der.WitnessScript
	p.Outputs[1].RedeemScript = der.RedeemScript
	p.Outputs[1].Bip32Derivation = nil
	for _, k := range der.Keys {
		p.Outputs[1].Bip32Derivation = append(p.Outputs[1].Bip32Derivation, psbt.Bip32Derivation{PubKey: k.PubKey, Fingerprint: k.Origin.Fingerprint, Path: k.Origin.Path})
	}
}

func foreignRecord(f *fixture) *wallet.KeyRecord {
	ks, err := signer.CreateKeystore(filepath.Join(f.t.TempDir(), "ks"), "pw", testWords[4], "", signer.MinWorkFactor)
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
	return rec
}

func TestSighashOptIn(t *testing.T) {
	f := newFixture(t, wallet.P2WSH, 2, 3, 2)
	p := f.build()
	p.Inputs[0].SighashType = psbt.SigHashAll | psbt.SigHashAnyOneCanPay
	out, _, err := f.sign(p, signer.Options{AllowSighash: true})
	if err != nil {
		t.Fatal(err)
	}
	sig := out.Inputs[0].PartialSigs[0].Sig
	if psbt.SigHashType(sig[len(sig)-1]) != psbt.SigHashAll|psbt.SigHashAnyOneCanPay {
		t.Errorf("signature sighash byte %#x", sig[len(sig)-1])
	}
}

func TestChangeGapWarns(t *testing.T) {
	f := newFixture(t, wallet.P2WSH, 2, 3, 2)
	p := f.build()
	f.changeTo(p, f.desc, true, 50)
	_, r, err := f.sign(p, signer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) == 0 || !strings.Contains(strings.Join(r.Warnings, "\n"), "change index 50") {
		t.Errorf("warnings: %q", r.Warnings)
	}
}

func TestUnregisteredWalletRefused(t *testing.T) {
	f := newFixture(t, wallet.P2WSH, 2, 3, 1)
	p := f.build()
	// Signer 2 holds a key of the wallet but never registered it.
	out, _, err := f.ks[2].Sign(p, signer.Options{}, nil)
	refused(t, out, err, "no wallet is registered")
}

func TestRegisterRefusesForeignWallet(t *testing.T) {
	f := newFixture(t, wallet.P2WSH, 2, 3, 1)
	stranger, err := signer.CreateKeystore(filepath.Join(t.TempDir(), "ks"), "pw", testWords[4], "", signer.MinWorkFactor)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stranger.PrepareRegistration("vault", f.desc, nil); !errors.Is(err, signer.ErrNotOurWallet) {
		t.Fatalf("err = %v, want ErrNotOurWallet", err)
	}
}

func TestRegistrationSurvivesReopenAndTamperingIsDetected(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ks")
	ks, err := signer.CreateKeystore(path, "pw", testWords[0], "", signer.MinWorkFactor)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := ks.Master(wallet.Regtest)
	rec, _ := wallet.NewKeyRecord(m, wallet.AccountPath(wallet.Regtest, wallet.P2WSH, 0))
	other := foreignRecord(&fixture{t: t, net: wallet.Regtest})
	d, err := wallet.NewMultisig(wallet.Regtest, wallet.P2WSH, 1, []*wallet.KeyRecord{rec, other})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := ks.PrepareRegistration("vault", d, &signer.Policy{MaxPerTx: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.Register(reg); err != nil {
		t.Fatal(err)
	}
	again, err := signer.OpenKeystore(path, "pw")
	if err != nil {
		t.Fatal(err)
	}
	rw, d2, err := again.Wallet("vault")
	if err != nil {
		t.Fatal(err)
	}
	if d2.String() != d.String() || d2.Network() != wallet.Regtest || rw.Policy == nil || rw.Policy.MaxPerTx != 1000 {
		t.Fatalf("registration after reopening: %+v %s", rw, d2)
	}
	if _, err := signer.OpenKeystore(path, "wrong"); !errors.Is(err, signer.ErrWrongPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	// Flip one byte of the ciphertext: the keystore no longer opens.
	b := readFile(t, path)
	b[len(b)-20] ^= 1
	writeFile(t, path, b)
	if _, err := signer.OpenKeystore(path, "pw"); err == nil {
		t.Fatal("an edited keystore opened")
	}
	// An existing keystore is never overwritten.
	if _, err := signer.CreateKeystore(path, "pw", testWords[1], "", signer.MinWorkFactor); !errors.Is(err, signer.ErrKeystoreExists) {
		t.Fatalf("create over an existing file: %v", err)
	}
}

func TestPolicy(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	t.Run("per transaction", func(t *testing.T) {
		f := newFixture(t, wallet.P2WSH, 2, 3, 2)
		f.register(1, &signer.Policy{MaxPerTx: 50_000_000})
		out, _, err := f.ks[1].Sign(f.build(), signer.Options{}, nil)
		refused(t, out, err, "per-transaction limit")
	})
	t.Run("allowlist", func(t *testing.T) {
		f := newFixture(t, wallet.P2WSH, 2, 3, 2)
		f.register(1, &signer.Policy{Allow: []string{"bcrt1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq0xcmzj"}})
		out, _, err := f.ks[1].Sign(f.build(), signer.Options{}, nil)
		refused(t, out, err, "allowlist")
	})
	t.Run("daily", func(t *testing.T) {
		f := newFixture(t, wallet.P2WSH, 2, 3, 1)
		f.register(1, &signer.Policy{Daily: 120_000_000})
		p := f.build() // sends 0.5 BTC + fee
		for i := 0; i < 2; i++ {
			if _, _, err := f.ks[1].Sign(p.Copy(), signer.Options{Now: now.Add(time.Duration(i) * time.Hour)}, nil); err != nil {
				t.Fatalf("signing %d: %v", i, err)
			}
		}
		out, _, err := f.ks[1].Sign(p.Copy(), signer.Options{Now: now.Add(3 * time.Hour)}, nil)
		refused(t, out, err, "daily limit")
		// A day later the limit has room again.
		if _, _, err := f.ks[1].Sign(p.Copy(), signer.Options{Now: now.Add(25 * time.Hour)}, nil); err != nil {
			t.Fatalf("a day later: %v", err)
		}
	})
}

func TestDeclined(t *testing.T) {
	f := newFixture(t, wallet.P2WSH, 2, 3, 1)
	out, r, err := f.ks[0].Sign(f.build(), signer.Options{}, func(r *signer.Review) error {
		r.Format(io.Discard)
		return signer.ErrDeclined
	})
	if !errors.Is(err, signer.ErrDeclined) || out != nil || r == nil {
		t.Fatalf("declined: out %v err %v", out, err)
	}
	if len(f.ks[0].History()) != 0 {
		t.Error("a declined signing was recorded")
	}
}

// BenchmarkSignLarge signs a 2-of-3 P2WSH PSBT with 950 inputs, the most a
// standard transaction holds, as kinko-signer sign does (parse, review,
// sign, serialize), with GOMAXPROCS 1 and 2. It reports the wall time
// (ms/psbt; goal at 2: 60 ms) and the CPU time the process spent
// (cpu-ms/psbt), which shows the parallel speed-up even on a machine
// shared with other work. The inputs' keys are derived together, with a
// table that a kinko-signer process builds once, on its other cores while
// it parses its first PSBT (some 4.5 ms of CPU, wallet's
// BenchmarkCombTable/8-bit): iterations after the first find it built. A
// process's first PSBT, table and cold heap included, is measured with
//
//	go test -c ./signer && ./signer.test -test.run XXX -test.bench SignLarge -test.benchtime 1x
func BenchmarkSignLarge(b *testing.B) {
	f := newFixture(b, wallet.P2WSH, 2, 3, 950)
	raw, err := f.build().Serialize()
	if err != nil {
		b.Fatal(err)
	}
	for _, procs := range []int{1, 2} {
		b.Run(fmt.Sprintf("GOMAXPROCS=%d", procs), func(b *testing.B) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, _, err := f.ks[0].SignBytes(raw, signer.Options{MaxFee: wallet.MaxMoney, MaxFeeRate: signer.MaxFeeRateCap}, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			ms := float64(b.Elapsed().Microseconds()) / 1000 / float64(b.N)
			b.ReportMetric(ms, "ms/psbt")
			b.ReportMetric(ms*1000/950, "µs/input")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/psbt")
		})
	}
}

// BenchmarkReviewLarge is the verification part alone, so its cost
// beside signing is visible.
func BenchmarkReviewLarge(b *testing.B) {
	f := newFixture(b, wallet.P2WSH, 2, 3, 950)
	p := f.build()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.ks[0].Review(p, signer.Options{MaxFee: wallet.MaxMoney, MaxFeeRate: signer.MaxFeeRateCap}); err != nil {
			b.Fatal(err)
		}
	}
	ms := float64(b.Elapsed().Milliseconds()) / float64(b.N)
	b.ReportMetric(ms, "ms/psbt")
	b.ReportMetric(ms*1000/950, "µs/input")
}

// FuzzSignBytes runs the path kinko-signer sign runs on untrusted bytes:
// it must never panic, and never return a signature with an error.
func FuzzSignBytes(f *testing.F) {
	fx := newFixture(f, wallet.P2WSH, 2, 3, 2)
	good, err := fx.build().Serialize()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	// A payment to a registered destination, so that the fuzzer reaches
	// the destination claims too.
	hot := hotWallet(fx)
	fx.registerDestination(0, "hot", hot)
	top := fx.build()
	fx.payTo(top, hot, false, 12)
	topUp, err := top.Serialize()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(topUp)
	f.Add([]byte("cHNidP8BAAoCAAAAAAAAAAAAAA=="))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, _, err := fx.ks[0].SignBytes(b, signer.Options{}, nil)
		if err != nil && out != nil {
			t.Fatal("signature returned with an error")
		}
		if err == nil && out == nil {
			t.Fatal("no error and no output")
		}
	})
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Refusal 10: QR transfers of an unexpected type, or that fail their
// checks, are refused and nothing is signed.
func TestRefuseQRInput(t *testing.T) {
	f := newFixture(t, wallet.P2WSH, 2, 3, 2)
	good, err := f.build().Serialize()
	if err != nil {
		t.Fatal(err)
	}
	enc, err := airgap.NewUREncoder("crypto-psbt", airgap.CBORByteString(good), 100, 10)
	if err != nil {
		t.Fatal(err)
	}
	parts := enc.Parts(enc.SeqLen())
	// The intact parts sign: the control.
	if _, _, err := f.ks[0].SignBytes([]byte(strings.Join(parts, "\n")), signer.Options{}, nil); err != nil {
		t.Fatalf("UR parts of a good PSBT: %v", err)
	}
	corrupt := append([]string(nil), parts...)
	last := corrupt[1]
	corrupt[1] = last[:len(last)-6] + "zzzzzz" // damages the part's bytewords checksum
	other, err := airgap.NewUREncoder("crypto-output", airgap.CBORByteString([]byte("wsh(...)")), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	text, err := airgap.EncodeBBQr([]byte("pay me"), 'U', airgap.BBQrOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"UR of another type":   other.Parts(1)[0],
		"BBQr text":            strings.Join(text, "\n"),
		"UR failing its check": strings.Join(corrupt, "\n"),
		"UR incomplete":        strings.Join(parts[:len(parts)-1], "\n"),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			out, _, err := f.ks[0].SignBytes([]byte(in), signer.Options{}, nil)
			refused(t, out, err, "psbt")
		})
	}
}
