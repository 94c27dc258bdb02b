package signer_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/signer"
	"github.com/kinko-project/kinko/wallet"
)

// TestPrederiveOnlySpeed checks that deriving every input's keys together
// (prederive, wallet.DeriveMany) changes nothing the signer decides. A
// PSBT of 150 inputs at scattered receive and change indexes (0, the
// largest unhardened ones, two coins at one address) signs to the same
// bytes with 1, 2 and 8 workers, and every prederived derivation is the
// wallet's own Derive. Then one input at a time, first, in the middle
// and last, is given a false claim of our key (another index's key, a
// path to another index or to the change branch or hardened, a decoy
// derivation claiming our fingerprint before the true one): the 150-input
// PSBT is refused for that input with exactly the reason a PSBT spending
// that coin alone (derived alone) is refused for. P2WSH and tr().
func TestPrederiveOnlySpeed(t *testing.T) {
	for _, st := range []wallet.ScriptType{wallet.P2WSH, wallet.P2TR} {
		t.Run(st.String(), func(t *testing.T) { testPrederiveOnlySpeed(t, st) })
	}
}

func testPrederiveOnlySpeed(t *testing.T, st wallet.ScriptType) {
	f := newFixture(t, st, 2, 3, 0)
	r := rand.New(rand.NewPCG(uint64(st), 1))
	type at struct {
		change bool
		index  uint32
	}
	spots := []at{{false, 0}, {true, 0}, {false, wallet.Hardened - 1}, {true, wallet.Hardened - 2}, {false, 1 << 20}}
	seen := make(map[at]bool)
	for _, s := range spots {
		seen[s] = true
	}
	for len(spots) < 148 {
		// Mostly receive: a branch of more than 96 indexes has its
		// taproot tweaks added in a batch too (with one worker).
		s := at{r.IntN(4) == 0, uint32(r.IntN(5000))}
		if !seen[s] {
			seen[s] = true
			spots = append(spots, s)
		}
	}
	for _, s := range spots {
		f.coins = append(f.coins, f.coin(f.desc, s.change, s.index, 100_000_000))
	}
	// Two coins at one address: one derivation for two inputs.
	f.coins = append(f.coins, f.coin(f.desc, false, 77_777, 100_000_000), f.coin(f.desc, false, 77_777, 90_000_000))
	if st == wallet.P2TR {
		for k := range f.coins {
			f.coins[k].Prev = nil
		}
	}
	p := f.build()
	n := len(p.Inputs)

	var want []byte
	for _, w := range []int{1, 2, 8} {
		hits, err := f.ks[0].CheckPrederived(p, w)
		if err != nil {
			t.Fatal(err)
		}
		if hits != n {
			t.Errorf("%d workers: %d of %d inputs prederived", w, hits, n)
		}
		out, _, err := f.sign(p.Copy(), signer.Options{Workers: w})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := out.Serialize()
		if err != nil {
			t.Fatal(err)
		}
		if want == nil {
			want = raw
		} else if !bytes.Equal(raw, want) {
			t.Errorf("%d workers signed other bytes", w)
		}
	}

	fp, err := f.ks[0].Fingerprint()
	if err != nil {
		t.Fatal(err)
	}
	// ours returns the index, in input i's derivations of the kind st
	// uses, of the first that claims our fingerprint.
	ours := func(in *psbt.Input) int {
		if st == wallet.P2TR {
			for k, d := range in.TaprootBip32Derivation {
				if wallet.Fingerprint(d.Fingerprint) == fp {
					return k
				}
			}
		} else {
			for k, d := range in.Bip32Derivation {
				if wallet.Fingerprint(d.Fingerprint) == fp {
					return k
				}
			}
		}
		t.Fatal("no derivation claims our fingerprint")
		return 0
	}
	// Each tamper alters input i of q, with other the same input of a
	// PSBT spending another coin (a true claim of another index).
	type tamper struct {
		name  string
		alter func(in, other *psbt.Input)
	}
	setPath := func(in *psbt.Input, fn func(path []uint32) []uint32) {
		k := ours(in)
		if st == wallet.P2TR {
			d := &in.TaprootBip32Derivation[k]
			d.Path = fn(append([]uint32(nil), d.Path...))
		} else {
			d := &in.Bip32Derivation[k]
			d.Path = fn(append([]uint32(nil), d.Path...))
		}
	}
	tampers := []tamper{
		{"another index's key", func(in, other *psbt.Input) {
			k, ko := ours(in), ours(other)
			if st == wallet.P2TR {
				in.TaprootBip32Derivation[k].XOnlyPubKey = other.TaprootBip32Derivation[ko].XOnlyPubKey
			} else {
				in.Bip32Derivation[k].PubKey = other.Bip32Derivation[ko].PubKey
			}
		}},
		{"path to another index", func(in, other *psbt.Input) {
			setPath(in, func(p []uint32) []uint32 { p[len(p)-1] ^= 1; return p })
		}},
		{"path to the other branch", func(in, other *psbt.Input) {
			setPath(in, func(p []uint32) []uint32 { p[len(p)-2] ^= 1; return p })
		}},
		{"hardened index", func(in, other *psbt.Input) {
			setPath(in, func(p []uint32) []uint32 { p[len(p)-1] |= wallet.Hardened; return p })
		}},
		{"decoy claim first", func(in, other *psbt.Input) {
			// Another coin's true claim of our key, before this one's.
			ko := ours(other)
			if st == wallet.P2TR {
				in.TaprootBip32Derivation = append([]psbt.TaprootBip32Derivation{other.TaprootBip32Derivation[ko]}, in.TaprootBip32Derivation...)
			} else {
				in.Bip32Derivation = append([]psbt.Bip32Derivation{other.Bip32Derivation[ko]}, in.Bip32Derivation...)
			}
		}},
	}
	alone := func(c coordinator.FundedCoin) *psbt.Packet {
		g := *f
		g.coins = []coordinator.FundedCoin{c}
		return g.build()
	}
	for _, i := range []int{0, n / 2, n - 1} {
		o := (i + 7) % n
		single, otherSingle := alone(f.coins[i]), alone(f.coins[o])
		for _, tc := range tampers {
			q := p.Copy()
			tc.alter(&q.Inputs[i], &otherSingle.Inputs[0])
			_, _, errMany := f.sign(q, signer.Options{Workers: 2})
			s := single.Copy()
			tc.alter(&s.Inputs[0], &otherSingle.Inputs[0])
			_, _, errOne := f.sign(s, signer.Options{Workers: 2})
			var rm, ro *signer.RefusalError
			if !errors.As(errMany, &rm) || !errors.As(errOne, &ro) {
				t.Fatalf("input %d, %s: want refusals, got %v and %v", i, tc.name, errMany, errOne)
			}
			if rm.Where != fmt.Sprintf("input %d", i) || ro.Where != "input 0" {
				t.Errorf("input %d, %s: refused at %q (alone: %q)", i, tc.name, rm.Where, ro.Where)
			}
			many := strings.TrimPrefix(errMany.Error(), "refused: "+rm.Where)
			one := strings.TrimPrefix(errOne.Error(), "refused: "+ro.Where)
			if many != one {
				t.Errorf("input %d, %s:\n among %d: %s\n alone: %s", i, tc.name, n, errMany, errOne)
			}
		}
	}
}
