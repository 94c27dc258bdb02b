package wallet

import (
	"strings"
	"testing"
)

// FuzzParseKeyRecord: never panics; a record that parses prints back to a
// canonical string that parses to the same string.
func FuzzParseKeyRecord(f *testing.F) {
	f.Add("[73c5da0a/48h/1h/0h/2h]tpubDFH9dgzveyD8zTbPUFuLrGmCydNvxehyNdUXKJAQN8x4aZ4j6UZqGfnqFrD4NqyaTVGKbvEW54tsvPTK2UoSbCC1PJY8iCNiwTL3RWZEheQ")
	f.Add("[73c5da0a/48'/1'/0'/2']tpubDFH9dgzveyD8zTbPUFuLrGmCydNvxehyNdUXKJAQN8x4aZ4j6UZqGfnqFrD4NqyaTVGKbvEW54tsvPTK2UoSbCC1PJY8iCNiwTL3RWZEheQ")
	f.Add("[00000000]xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8")
	f.Add("[zz/1]")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseKeyRecord(s, nil)
		if err != nil {
			return
		}
		again, err := ParseKeyRecord(r.String(), r.Key.Network())
		if err != nil {
			t.Fatalf("%q parsed, its canonical form %q does not: %v", s, r.String(), err)
		}
		if again.String() != r.String() {
			t.Fatalf("canonical form not stable: %q then %q", r.String(), again.String())
		}
	})
}

// FuzzScriptFromAddress: never panics; an address that parses is the
// address of the script it gives (up to bech32 case).
func FuzzScriptFromAddress(f *testing.F) {
	for _, a := range []string{
		"bc1qrgc6p3kylfztu06ysl752gwwuekhvtfh9vr7zg43jvu60mutamcsv948ej",
		"3GzMtFXahiu4TpGNGFc4bHMvAcvz5vVQrT",
		"bcrt1qgfpyysjzgfpyysjzgfpyysjzgfpyysjzuyhhvw",
		"tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
		"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
		"BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
	} {
		f.Add(a)
	}
	f.Fuzz(func(t *testing.T, a string) {
		for _, net := range Networks {
			spk, err := ScriptFromAddress(a, net)
			if err != nil {
				continue
			}
			back, err := AddressFromScript(spk, net)
			if err != nil {
				t.Fatalf("%q on %s gave script %x with no address: %v", a, net, spk, err)
			}
			if back != a && back != strings.ToLower(a) {
				t.Fatalf("%q on %s gave script %x, whose address is %q", a, net, spk, back)
			}
		}
	})
}

// FuzzParseAmount: never panics; an accepted amount is in range and
// prints back to the same number of satoshis.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"0.5", "50000sat", "21000000", "0.00000001", "1.123456789", "-1", "1e3", ".5", "5."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseAmount(s)
		if err != nil {
			return
		}
		if v <= 0 || v > MaxMoney {
			t.Fatalf("%q gave %d sat", s, v)
		}
		text := strings.TrimSuffix(FormatAmount(v), " BTC")
		if back, err := ParseAmount(text); err != nil || back != v {
			t.Fatalf("%q gave %d sat, printed %q, read back %d (%v)", s, v, text, back, err)
		}
	})
}
