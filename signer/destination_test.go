package signer_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/signer"
	"github.com/kinko-project/kinko/wallet"
)

// hotWallet is a 2-of-2 of two keys no signer of the fixture holds, at
// another account: the treasury's hot side, as the cold signers see it.
func hotWallet(f *fixture) *wallet.Descriptor {
	f.t.Helper()
	var recs []*wallet.KeyRecord
	for _, words := range testWords[3:5] {
		ks, err := signer.CreateKeystore(filepath.Join(f.t.TempDir(), "ks"), "pw", words, "", signer.MinWorkFactor)
		if err != nil {
			f.t.Fatal(err)
		}
		m, err := ks.Master(f.net)
		if err != nil {
			f.t.Fatal(err)
		}
		rec, err := wallet.NewKeyRecord(m, wallet.AccountPath(f.net, wallet.P2WSH, 1))
		if err != nil {
			f.t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	d, err := wallet.NewMultisig(f.net, wallet.P2WSH, 2, recs)
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

func (f *fixture) registerDestination(i int, name string, d *wallet.Descriptor) {
	f.t.Helper()
	reg, err := f.ks[i].PrepareDestination(name, d)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.ks[i].Register(reg); err != nil {
		f.t.Fatal(err)
	}
}

// payTo replaces output 0 by d's script at (change, index), with the
// scripts and derivations a coordinator would give for it.
func (f *fixture) payTo(p *psbt.Packet, d *wallet.Descriptor, change bool, index uint32) {
	f.t.Helper()
	der, err := d.Derive(change, index)
	if err != nil {
		f.t.Fatal(err)
	}
	p.UnsignedTx.Outputs[0].PkScript = der.ScriptPubKey
	po := &p.Outputs[0]
	po.WitnessScript, po.RedeemScript, po.Bip32Derivation = der.WitnessScript, der.RedeemScript, nil
	for _, k := range der.Keys {
		po.Bip32Derivation = append(po.Bip32Derivation, psbt.Bip32Derivation{PubKey: k.PubKey, Fingerprint: k.Origin.Fingerprint, Path: k.Origin.Path})
	}
}

func signed(t *testing.T, out *psbt.Packet) {
	t.Helper()
	if out == nil {
		t.Fatal("no PSBT came back")
	}
	for i := range out.Inputs {
		if len(out.Inputs[i].PartialSigs) != 1 {
			t.Errorf("input %d: %d signatures", i, len(out.Inputs[i].PartialSigs))
		}
	}
}

func TestDestinationVerified(t *testing.T) {
	for _, c := range []struct {
		change bool
		index  uint32
		want   string
	}{
		{false, 12, `to registered wallet "hot", receive index 12 (verified) bcrt1q`},
		{true, 3, `to registered wallet "hot", change index 3 (verified) bcrt1q`},
	} {
		f := newFixture(t, wallet.P2WSH, 2, 3, 2)
		hot := hotWallet(f)
		f.registerDestination(0, "hot", hot)
		p := f.build()
		f.payTo(p, hot, c.change, c.index)
		out, r, err := f.sign(p, signer.Options{})
		if err != nil {
			t.Fatal(err)
		}
		signed(t, out)
		o := r.Outputs[0]
		if o.Destination != "hot" || o.DestinationChange != c.change || o.Index != c.index || o.Change {
			t.Errorf("output 0: %+v", o)
		}
		if r.External != p.UnsignedTx.Outputs[0].Value {
			t.Errorf("external %d: a payment to a destination still leaves the wallet", r.External)
		}
		var buf bytes.Buffer
		r.Format(&buf)
		if !strings.Contains(buf.String(), c.want) || !strings.Contains(buf.String(), "change (verified, change branch, index 0)") {
			t.Errorf("review lacks %q:\n%s", c.want, buf.String())
		}
		h := f.ks[0].History()
		if len(h) != 1 || h[0].Outputs[0].Destination != "hot" || !h[0].Outputs[1].Change {
			t.Errorf("history: %+v", h)
		}
	}
}

// An output with no derivation claiming a registered destination stays
// external, even when it pays the destination's script: only a claim the
// signer can re-derive makes it "registered".
func TestDestinationUnclaimedIsExternal(t *testing.T) {
	f := newFixture(t, wallet.P2WSH, 2, 3, 2)
	hot := hotWallet(f)
	f.registerDestination(0, "hot", hot)
	p := f.build()
	f.payTo(p, hot, false, 1)
	p.Outputs[0] = psbt.Output{}
	_, r, err := f.sign(p, signer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	r.Format(&buf)
	if r.Outputs[0].Destination != "" || !strings.Contains(buf.String(), "external: bcrt1q") {
		t.Errorf("output 0: %+v\n%s", r.Outputs[0], buf.String())
	}
	// The same claims for a wallet that is not registered: external too.
	g := newFixture(t, wallet.P2WSH, 2, 3, 2)
	p = g.build()
	g.payTo(p, hotWallet(g), false, 1)
	if _, r, err = g.sign(p, signer.Options{}); err != nil || r.Outputs[0].Destination != "" {
		t.Fatalf("unregistered destination: %v %+v", err, r)
	}
}

func TestDestinationRefusals(t *testing.T) {
	// Each case changes one thing in a valid payment to "hot" at index 12.
	cases := []struct {
		name  string
		alter func(f *fixture, hot *wallet.Descriptor, p *psbt.Packet)
		want  string
	}{
		{"derivations of index 12, script of index 13", func(f *fixture, hot *wallet.Descriptor, p *psbt.Packet) {
			der, _ := hot.Derive(false, 13)
			p.UnsignedTx.Outputs[0].PkScript = der.ScriptPubKey
		}, `output 0: claims registered wallet "hot" at m/48h/1h/1h/2h/0/12 but is not its script there`},
		{"a doctored script with honest derivations", func(f *fixture, hot *wallet.Descriptor, p *psbt.Packet) {
			p.UnsignedTx.Outputs[0].PkScript = external(t)
		}, "output 0: claims registered wallet \"hot\""},
		{"key that is not the wallet's at the path", func(f *fixture, hot *wallet.Descriptor, p *psbt.Packet) {
			ds := p.Outputs[0].Bip32Derivation
			ds[0].PubKey, ds[1].PubKey = ds[1].PubKey, ds[0].PubKey
		}, "is not its key there"},
		{"hardened index", func(f *fixture, hot *wallet.Descriptor, p *psbt.Packet) {
			for k := range p.Outputs[0].Bip32Derivation {
				d := &p.Outputs[0].Bip32Derivation[k]
				d.Path[len(d.Path)-1] |= wallet.Hardened
			}
		}, "output 0: claims registered wallet \"hot\" at m/48h/1h/1h/2h/0/12h, a hardened path"},
		{"hardened branch", func(f *fixture, hot *wallet.Descriptor, p *psbt.Packet) {
			for k := range p.Outputs[0].Bip32Derivation {
				d := &p.Outputs[0].Bip32Derivation[k]
				d.Path[len(d.Path)-2] |= wallet.Hardened
			}
		}, "a hardened path"},
		{"path one step too long", func(f *fixture, hot *wallet.Descriptor, p *psbt.Packet) {
			for k := range p.Outputs[0].Bip32Derivation {
				d := &p.Outputs[0].Bip32Derivation[k]
				d.Path = append(d.Path, 0)
			}
		}, "not a receive or change path of it"},
		{"branch 2", func(f *fixture, hot *wallet.Descriptor, p *psbt.Packet) {
			for k := range p.Outputs[0].Bip32Derivation {
				d := &p.Outputs[0].Bip32Derivation[k]
				d.Path[len(d.Path)-2] = 2
			}
		}, "not a receive or change path of it"},
		{"index far out", func(f *fixture, hot *wallet.Descriptor, p *psbt.Packet) {
			f.payTo(p, hot, false, 100_001)
		}, "output 0: claims registered wallet \"hot\" at index 100001, beyond 100000"},
		{"witness script of another index", func(f *fixture, hot *wallet.Descriptor, p *psbt.Packet) {
			der, _ := hot.Derive(false, 13)
			p.Outputs[0].WitnessScript = der.WitnessScript
		}, "output 0: witness script is not the one registered wallet \"hot\" derives"},
		{"a foreign key among the derivations", func(f *fixture, hot *wallet.Descriptor, p *psbt.Packet) {
			rec := foreignRecord(f)
			p.Outputs[0].Bip32Derivation = append(p.Outputs[0].Bip32Derivation, psbt.Bip32Derivation{
				PubKey: rec.Key.PublicKey(), Fingerprint: rec.Origin.Fingerprint, Path: rec.Origin.Path})
		}, "not one of the registered wallet's keys"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, wallet.P2WSH, 2, 3, 2)
			hot := hotWallet(f)
			f.registerDestination(0, "hot", hot)
			p := f.build()
			f.payTo(p, hot, false, 12)
			// The control: unaltered, it signs.
			if _, err := f.ks[0].Review(p, signer.Options{}); err != nil {
				t.Fatalf("the valid payment: %v", err)
			}
			c.alter(f, hot, p)
			out, _, err := f.sign(p, signer.Options{})
			refused(t, out, err, c.want)
			if len(f.ks[0].History()) != 0 {
				t.Error("a refused PSBT was recorded")
			}
		})
	}
	// At the limit itself it is paid.
	f := newFixture(t, wallet.P2WSH, 2, 3, 2)
	hot := hotWallet(f)
	f.registerDestination(0, "hot", hot)
	p := f.build()
	f.payTo(p, hot, false, 100_000)
	if _, _, err := f.sign(p, signer.Options{}); err != nil {
		t.Fatalf("index 100000: %v", err)
	}
}

// A destination is never signed for, even one that holds the signer's
// key: registering the vault as a destination does not let the signer
// spend from it.
func TestDestinationNeverSigns(t *testing.T) {
	f := newFixture(t, wallet.P2WSH, 2, 3, 1)
	reg, err := f.ks[1].PrepareDestination("vault-as-destination", f.desc)
	if err != nil {
		t.Fatal(err)
	}
	if reg.OwnPosition == 0 {
		t.Error("the destination holds signer 1's key, the registration does not say so")
	}
	if err := f.ks[1].Register(reg); err != nil {
		t.Fatal(err)
	}
	out, _, err := f.ks[1].Sign(f.build(), signer.Options{}, nil)
	refused(t, out, err, "no wallet is registered")
	// Names are shared between wallets and destinations.
	if _, err := f.ks[0].PrepareDestination("vault", hotWallet(f)); err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Errorf("a destination with a wallet's name: %v", err)
	}
	// And a destination takes no policy.
	reg, _ = f.ks[0].PrepareDestination("hot", hotWallet(f))
	reg.Policy = &signer.Policy{MaxPerTx: 1}
	if err := f.ks[0].Register(reg); err == nil {
		t.Error("a destination was registered with a policy")
	}
}

func TestAllowWallet(t *testing.T) {
	setup := func(t *testing.T) (*fixture, *wallet.Descriptor, *wallet.Descriptor) {
		f := newFixture(t, wallet.P2WSH, 2, 3, 2)
		hot := hotWallet(f)
		other, err := wallet.NewMultisig(f.net, wallet.P2WSH, 1, []*wallet.KeyRecord{foreignRecord(f)})
		if err != nil {
			t.Fatal(err)
		}
		f.registerDestination(1, "hot", hot)
		f.registerDestination(1, "other", other)
		f.register(1, &signer.Policy{AllowWallets: []string{"hot"}})
		return f, hot, other
	}
	t.Run("refuses an external output", func(t *testing.T) {
		f, _, _ := setup(t)
		out, _, err := f.ks[1].Sign(f.build(), signer.Options{}, nil)
		refused(t, out, err, `policy: wallet allowlist: output 0 pays bcrt1q`)
		refused(t, out, err, `which is not a verified address of "hot"`)
	})
	t.Run("refuses a verified destination not on the list", func(t *testing.T) {
		f, _, other := setup(t)
		p := f.build()
		f.payTo(p, other, false, 0)
		out, _, err := f.ks[1].Sign(p, signer.Options{}, nil)
		refused(t, out, err, `output 0 pays registered wallet "other", which is not among "hot"`)
	})
	t.Run("accepts a verified destination on the list", func(t *testing.T) {
		f, hot, _ := setup(t)
		p := f.build()
		f.payTo(p, hot, false, 4)
		out, r, err := f.ks[1].Sign(p, signer.Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		signed(t, out)
		var buf bytes.Buffer
		r.Format(&buf)
		if !strings.Contains(buf.String(), `Policy:      only to registered wallets "hot"`) {
			t.Errorf("the review does not show the policy:\n%s", buf.String())
		}
	})
	t.Run("with --allow too, either list", func(t *testing.T) {
		f := newFixture(t, wallet.P2WSH, 2, 3, 2)
		f.registerDestination(1, "hot", hotWallet(f))
		addr, _ := wallet.AddressFromScript(external(t), f.net)
		f.register(1, &signer.Policy{Allow: []string{addr}, AllowWallets: []string{"hot"}})
		if _, _, err := f.ks[1].Sign(f.build(), signer.Options{}, nil); err != nil {
			t.Fatal(err)
		}
		p := f.build()
		p.UnsignedTx.Outputs[0].PkScript = append([]byte{0x00, 0x14}, bytes.Repeat([]byte{0x43}, 20)...)
		out, _, err := f.ks[1].Sign(p, signer.Options{}, nil)
		refused(t, out, err, `neither on the address list nor a verified address of "hot"`)
		rw, _, _ := f.ks[1].Wallet("vault")
		if got := rw.Policy.String(); got != `only to 1 allowed addresses or registered wallets "hot"` {
			t.Errorf("policy: %s", got)
		}
	})
	t.Run("names a registered destination", func(t *testing.T) {
		f := newFixture(t, wallet.P2WSH, 2, 3, 1)
		_, err := f.ks[1].PrepareRegistration("vault", f.desc, &signer.Policy{AllowWallets: []string{"hto"}})
		if !errors.Is(err, signer.ErrUnknownDestination) {
			t.Fatalf("err = %v, want ErrUnknownDestination", err)
		}
	})
}

// A destination whose keys take a fixed step before the branch
// (KEY/7/<0;1>/*) is verified on the whole path: the fixed step must be
// the descriptor's.
func TestDestinationFixedStep(t *testing.T) {
	f := newFixture(t, wallet.P2WSH, 2, 3, 2)
	rec := foreignRecord(f)
	hot, err := wallet.ParseDescriptor("wpkh("+rec.String()+"/7/<0;1>/*)", f.net)
	if err != nil {
		t.Fatal(err)
	}
	f.registerDestination(0, "hot", hot)
	p := f.build()
	f.payTo(p, hot, false, 5)
	if _, r, err := f.sign(p, signer.Options{}); err != nil || r.Outputs[0].Destination != "hot" || r.Outputs[0].Index != 5 {
		t.Fatalf("verified payment: %v", err)
	}
	p = f.build()
	f.payTo(p, hot, false, 5)
	d := &p.Outputs[0].Bip32Derivation[0]
	d.Path[len(d.Path)-3] = 8
	out, _, err := f.sign(p, signer.Options{})
	refused(t, out, err, "is not its key there")
}
