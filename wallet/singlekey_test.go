package wallet

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// singleKeyDesc writes the descriptor of a single-key wallet over r, with
// receive and change branches: wpkh([fp/84h/1h/0h]tpub…/<0;1>/*) or the
// sh(wpkh()) form.
func singleKeyDesc(st ScriptType, r *KeyRecord) string {
	k := "[" + r.Origin.String() + "]" + r.Key.String() + "/<0;1>/*"
	if st == P2SHP2WPKH {
		return "sh(wpkh(" + k + "))"
	}
	return "wpkh(" + k + ")"
}

func TestSingleKeyDescriptors(t *testing.T) {
	for _, net := range []*Network{Mainnet, Testnet, Regtest} {
		for _, st := range []ScriptType{P2WPKH, P2SHP2WPKH} {
			masters, recs := testRecords(t, net, st, 1)
			body := singleKeyDesc(st, recs[0])
			d, err := ParseDescriptor(body, net)
			if err != nil {
				t.Fatalf("%s: %v", body, err)
			}
			if d.Network() != net || d.ScriptType() != st || d.IsMultisig() || d.Threshold() != 1 || d.Sorted() || !d.IsRange() || !d.HasChange() {
				t.Fatalf("%s: wrong properties", d)
			}
			// The canonical form is the text given, with its checksum.
			sum, err := DescriptorChecksum(body)
			if err != nil || d.String() != body+"#"+sum || d.Checksum() != sum {
				t.Errorf("canonical\n got %s\nwant %s#%s", d, body, sum)
			}
			checkRoundTrip(t, d, net)
			keys := d.Keys()
			if len(keys) != 1 || keys[0].String() != recs[0].String() || keys[0].Validate() != nil {
				t.Errorf("keys %v", keys)
			}
			// Written with ' markers and without checksum, it is the same
			// descriptor.
			o := recs[0].Origin.String()
			alt, err := ParseDescriptor(strings.Replace(body, o, strings.ReplaceAll(o, "h", "'"), 1), net)
			if err != nil || alt.String() != d.String() {
				t.Errorf("' markers: %v", err)
			}
			for _, change := range []bool{false, true} {
				for i := uint32(0); i < 4; i++ {
					dv, err := d.Derive(change, i)
					if err != nil {
						t.Fatal(err)
					}
					checkDerived(t, d, dv, masters, change, i)
				}
			}
		}
	}
	// Multisig descriptors say they are.
	_, recs := testRecords(t, Testnet, P2WSH, 2)
	m, _ := NewMultisig(Testnet, P2WSH, 1, recs)
	if !m.IsMultisig() {
		t.Error("multisig descriptor says it is not")
	}
}

// TestSingleKeyHexKey checks a non-ranged wpkh of a hex key: index 0
// only, no change branch.
func TestSingleKeyHexKey(t *testing.T) {
	const pk = "03a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd"
	d, err := ParseDescriptor("wpkh([deadbeef/84h/0h/0h/0/7]"+pk+")", nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.IsRange() || d.HasChange() || len(d.Keys()) != 0 || d.Network() != Mainnet {
		t.Error("properties")
	}
	dv, err := d.Derive(false, 0)
	if err != nil {
		t.Fatal(err)
	}
	// BIP-382's script for this key; the key keeps its origin.
	if hex.EncodeToString(dv.ScriptPubKey) != "00149a1c78a507689f6f54b847ad1cef1e614ee23f1e" || dv.Keys[0].Origin.String() != "deadbeef/84h/0h/0h/0/7" {
		t.Errorf("script %x, origin %s", dv.ScriptPubKey, dv.Keys[0].Origin)
	}
	if _, err := d.Derive(false, 1); !errors.Is(err, ErrNotRanged) {
		t.Errorf("index 1: %v", err)
	}
	if _, err := d.Derive(true, 0); !errors.Is(err, ErrNoChange) {
		t.Errorf("change: %v", err)
	}
	spks, err := d.DeriveScriptPubKeys(false, 0, 1)
	if err != nil || len(spks) != 1 || !bytes.Equal(spks[0], dv.ScriptPubKey) {
		t.Errorf("DeriveScriptPubKeys: %v", err)
	}
}

func TestSingleKeyDeriveScriptPubKeys(t *testing.T) {
	for _, st := range []ScriptType{P2WPKH, P2SHP2WPKH} {
		_, recs := testRecords(t, Testnet, st, 1)
		d, err := ParseDescriptor(singleKeyDesc(st, recs[0]), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, change := range []bool{false, true} {
			// 150 scripts cross the 64-script chunks of the fast path.
			spks, err := d.DeriveScriptPubKeys(change, 5, 150)
			if err != nil || len(spks) != 150 {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for i, s := range spks {
				dv, err := d.Derive(change, uint32(5+i))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(s, dv.ScriptPubKey) {
					t.Errorf("%s change %v index %d differs", st, change, 5+i)
				}
				if seen[string(s)] {
					t.Errorf("%s: script repeated", st)
				}
				seen[string(s)] = true
			}
		}
	}
}
