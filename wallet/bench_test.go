package wallet

import (
	"fmt"
	"testing"
)

func benchWallet(b *testing.B) *Descriptor {
	_, recs := testRecords(b, Mainnet, P2WSH, 3)
	d, err := NewMultisig(Mainnet, P2WSH, 2, recs)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkDeriveAddress derives receive addresses of a 2-of-3
// wsh(sortedmulti) wallet: script, keys with origins and address.
func BenchmarkDeriveAddress(b *testing.B) {
	d := benchWallet(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.Derive(false, uint32(i)&0x7fffffff); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "addresses/s")
}

// benchScriptPubKeys derives d's receive scripts in batches of 100, as a
// gap scan does, and reports how many a second.
func benchScriptPubKeys(b *testing.B, d *Descriptor) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.DeriveScriptPubKeys(false, uint32(i*100)&0x3fffffff, 100); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*100/b.Elapsed().Seconds(), "addresses/s")
}

// BenchmarkDeriveScriptPubKeys derives output scripts of the same wallet in
// batches of 100, as a gap scan does.
func BenchmarkDeriveScriptPubKeys(b *testing.B) {
	d := benchWallet(b)
	benchScriptPubKeys(b, d)
}

// BenchmarkDeriveScriptPubKeysWPKH derives output scripts of a single-key
// wpkh wallet in batches of 100, as a gap scan of a hot wallet does.
func BenchmarkDeriveScriptPubKeysWPKH(b *testing.B) {
	_, recs := testRecords(b, Mainnet, P2WPKH, 1)
	d, err := ParseDescriptor(singleKeyDesc(P2WPKH, recs[0]), nil)
	if err != nil {
		b.Fatal(err)
	}
	benchScriptPubKeys(b, d)
}

// BenchmarkDeriveScriptPubKeysTR derives output scripts of a 2-of-3
// tr(NUMS,sortedmulti_a) wallet in batches of 100: each costs a child
// derivation per key and the taproot tweak.
func BenchmarkDeriveScriptPubKeysTR(b *testing.B) {
	_, recs := testRecords(b, Mainnet, P2TR, 3)
	d, err := NewMultisig(Mainnet, P2TR, 2, recs)
	if err != nil {
		b.Fatal(err)
	}
	benchScriptPubKeys(b, d)
}

// BenchmarkCombTable builds the fixed-base tables of DeriveMany and
// DeriveScriptPubKeys, on all cores, as a process does once: the small
// one is what a kinko-signer run pays before deriving its inputs' keys
// together.
func BenchmarkCombTable(b *testing.B) {
	for _, w := range []uint{8, 11} {
		b.Run(fmt.Sprintf("%d-bit", w), func(b *testing.B) {
			for range b.N {
				newCombTable(w)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/table")
		})
	}
}
