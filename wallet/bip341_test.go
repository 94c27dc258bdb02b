package wallet

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// TestBIP341ScriptPubKeyVectors builds every script tree of BIP-341's
// wallet vectors ("scriptPubKey") with the tree code tr() descriptors use
// and checks the leaf hashes, merkle root, output key, address and control
// blocks the BIP gives (leaves of any leaf version are hashed here; kinko
// writes 0xc0 only).
func TestBIP341ScriptPubKeyVectors(t *testing.T) {
	b, err := os.ReadFile("testdata/bip341_wallet_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		ScriptPubKey []struct {
			Given struct {
				InternalPubkey string          `json:"internalPubkey"`
				ScriptTree     json.RawMessage `json:"scriptTree"`
			} `json:"given"`
			Intermediary struct {
				LeafHashes    []string `json:"leafHashes"`
				MerkleRoot    *string  `json:"merkleRoot"`
				TweakedPubkey string   `json:"tweakedPubkey"`
			} `json:"intermediary"`
			Expected struct {
				ScriptPubKey  string   `json:"scriptPubKey"`
				Address       string   `json:"bip350Address"`
				ControlBlocks []string `json:"scriptPathControlBlocks"`
			} `json:"expected"`
		} `json:"scriptPubKey"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.ScriptPubKey) != 7 {
		t.Fatalf("%d vectors, want 7", len(v.ScriptPubKey))
	}
	for n, c := range v.ScriptPubKey {
		internal, _ := hex.DecodeString(c.Given.InternalPubkey)
		var hashes [][32]byte
		var versions []byte
		var tree *tapNode
		var build func(raw json.RawMessage) *tapNode
		build = func(raw json.RawMessage) *tapNode {
			var pair []json.RawMessage
			if json.Unmarshal(raw, &pair) == nil {
				return &tapNode{leaf: -1, left: build(pair[0]), right: build(pair[1])}
			}
			var leaf struct {
				Script      string `json:"script"`
				LeafVersion byte   `json:"leafVersion"`
			}
			if err := json.Unmarshal(raw, &leaf); err != nil {
				t.Fatal(err)
			}
			s, _ := hex.DecodeString(leaf.Script)
			var pre [10]byte
			pre[0] = leaf.LeafVersion
			k := putVarInt(pre[1:], len(s))
			hashes = append(hashes, taggedHash("TapLeaf", pre[:1+k], s))
			versions = append(versions, leaf.LeafVersion)
			return &tapNode{leaf: len(hashes) - 1}
		}
		var root []byte
		var paths [][][32]byte
		if string(c.Given.ScriptTree) != "null" {
			tree = build(c.Given.ScriptTree)
			paths = make([][][32]byte, len(hashes))
			r := tree.merkle(hashes, paths)
			root = r[:]
			for i, h := range hashes {
				if hex.EncodeToString(h[:]) != c.Intermediary.LeafHashes[i] {
					t.Fatalf("vector %d leaf %d: hash %x", n, i, h)
				}
			}
			if hex.EncodeToString(root) != *c.Intermediary.MerkleRoot {
				t.Fatalf("vector %d: merkle root %x", n, root)
			}
		}
		out, parity, err := TapTweak(internal, root)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(out[:]) != c.Intermediary.TweakedPubkey || hex.EncodeToString(p2trScript(out[:])) != c.Expected.ScriptPubKey {
			t.Fatalf("vector %d: output key %x", n, out)
		}
		addr, err := AddressFromScript(p2trScript(out[:]), Mainnet)
		if err != nil || addr != c.Expected.Address {
			t.Fatalf("vector %d: address %s %v", n, addr, err)
		}
		for i := range hashes {
			cb := append([]byte{versions[i] | parity}, internal...)
			for _, h := range paths[i] {
				cb = append(cb, h[:]...)
			}
			if hex.EncodeToString(cb) != c.Expected.ControlBlocks[i] {
				t.Fatalf("vector %d leaf %d: control block %x, want %s", n, i, cb, c.Expected.ControlBlocks[i])
			}
		}
	}
}
