package wallet

import (
	"testing"
)

// FuzzParseDescriptor checks that ParseDescriptor never panics and that a
// descriptor it accepts (multisig or single key) prints a canonical form
// that parses back to itself and derives.
func FuzzParseDescriptor(f *testing.F) {
	v := loadDescVectors(f)
	for _, c := range v.Descriptors {
		f.Add(wrapDesc(c.Desc, c.Wrap))
		f.Add(wrapDesc(neuter(f, c.Desc), c.Wrap))
	}
	for _, c := range v.Keys {
		f.Add("wsh(sortedmulti(1," + c.Key + "))")
	}
	for _, c := range v.Checksums {
		f.Add(c.Desc)
	}
	_, recs := testRecords(f, Testnet, P2WSH, 3)
	d, err := NewMultisig(Testnet, P2WSH, 2, recs)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(d.String())
	_, trRecs := testRecords(f, Testnet, P2TR, 3)
	if d, err = NewMultisig(Testnet, P2TR, 2, trRecs); err != nil {
		f.Fatal(err)
	}
	f.Add(d.String())
	f.Add("tr(" + NUMSKey + ",{sortedmulti_a(1," + trRecs[0].Key.String() + "/<0;1>/*," + trRecs[1].Key.String() + "/<0;1>/*),pk(" + trRecs[2].Key.String() + "/<0;1>/*)})")
	for _, st := range []ScriptType{P2WPKH, P2SHP2WPKH} {
		_, recs := testRecords(f, Testnet, st, 1)
		f.Add(singleKeyDesc(st, recs[0]))
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDescriptor(s, nil)
		if err != nil {
			if d != nil {
				t.Fatal("descriptor returned with an error")
			}
			return
		}
		canon := d.String()
		d2, err := ParseDescriptor(canon, nil)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", canon, s, err)
		}
		if d2.String() != canon {
			t.Fatalf("canonical form unstable: %q → %q", canon, d2.String())
		}
		dv, err := d.Derive(false, 0)
		if err == nil && !d.IsMultisig() && (d.Threshold() != 1 || len(dv.Keys) != 1 || len(dv.Script) != 22) {
			t.Fatalf("single-key descriptor %q: threshold %d, %d keys, script %x", canon, d.Threshold(), len(dv.Keys), dv.Script)
		}
		if err == nil && d.MaxInputWeight() <= 0 {
			t.Fatalf("%q: no input weight", canon)
		}
		if err == nil {
			dv2, err2 := d2.Derive(false, 0)
			if err2 != nil || dv2.Address != dv.Address {
				t.Fatalf("reparsed descriptor derives differently: %v", err2)
			}
			if _, err := ScriptFromAddress(dv.Address, d.Network()); err != nil {
				t.Fatalf("derived address %s does not parse: %v", dv.Address, err)
			}
		}
		if d.HasChange() {
			if _, err := d.Derive(true, 1); err != nil && d.IsRange() {
				t.Logf("change derivation: %v", err)
			}
		}
	})
}

// FuzzParseExtendedKey checks that ParseExtendedKey never panics and that a
// key it accepts prints a form that parses back to itself, also from its
// raw 78 bytes.
func FuzzParseExtendedKey(f *testing.F) {
	v := loadBIP32(f)
	for _, vec := range v.Valid {
		for _, c := range vec.Chains {
			f.Add(c.XPub)
			f.Add(c.XPrv)
		}
	}
	for _, c := range v.Invalid {
		f.Add(c.Key)
	}
	f.Add("Vpub5ktmZqbNdkkBU62ovrgbnL5oEaVx17jFaxUkVQhjkmCmfD4a3vQes6Rmp85YkWzNvhZ7iwEypv75wX5rWiMsFUeSxqD3nS2gS8ciJEEU6M9")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseExtendedKey(s, nil)
		if err != nil {
			if k != nil {
				t.Fatal("key returned with an error")
			}
			return
		}
		canon := k.String()
		k2, err := ParseExtendedKey(canon, k.Network())
		if err != nil || k2.String() != canon {
			t.Fatalf("%q → %q does not parse back: %v", s, canon, err)
		}
		raw := k.Serialize()
		k3, err := ParseExtendedKeyBytes(raw[:], nil)
		if err != nil || k3.String() != canon {
			t.Fatalf("raw form of %q does not parse back: %v", canon, err)
		}
		if k.IsPrivate() {
			n := k.Neuter()
			if n2, err := ParseExtendedKey(n.String(), nil); err != nil || n2.String() != n.String() {
				t.Fatalf("neutered %q: %v", canon, err)
			}
		}
		if c, err := k.Child(0); err == nil && c.Depth() != k.Depth()+1 {
			t.Fatal("child depth")
		}
	})
}
