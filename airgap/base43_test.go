package airgap

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// electrumTxHex and electrumTxBase43 are the vector of Electrum's own
// test of base43 (spesmilo/electrum, electrum/tests/test_bitcoin.py,
// TestBaseEncode.test_base43): a signed segwit transaction and the text
// Electrum's QR code shows for it.
const (
	electrumTxHex    = "020000000001021cd0e96f9ca202e017ca3465e3c13373c0df3a4cdd91c1fd02ea42a1a65d2a410000000000fdffffff757da7cf8322e5063785e2d8ada74702d2648fa2add2d533ba83c52eb110df690200000000fdffffff02d07e010000000000160014b544c86eaf95e3bb3b6d2cabb12ab40fc59cad9ca086010000000000232102ce0d066fbfcf150a5a1bbc4f312cd2eb080e8d8a47e5f2ce1a63b23215e54fb5ac02483045022100a9856bf10a950810abceeabc9a86e6ba533e130686e3d7863971b9377e7c658a0220288a69ef2b958a7c2ecfa376841d4a13817ed24fa9a0e0a6b9cb48e6439794c701210324e291735f83ff8de47301b12034950b80fa4724926a34d67e413d8ff8817c53024830450221008f885978f7af746679200ed55fe2e86c1303620824721f95cc41eb7965a3dfcf02207872082ac4a3c433d41a203e6d685a459e70e551904904711626ac899238c20a0121023d4c9deae1aacf3f822dd97a28deaec7d4e4ff97be746d124a63d20e582f5b290a971600"
	electrumTxBase43 = "3E2DH7.J3PKVZJ3RCOXQVS3Y./6-WE.75DDU0K58-0N1FRL565N8ZH-DG1Z.1IGWTE5HK8F7PWH5P8+V3XGZZ6GQBPHNDE+RD8CAQVV1/6PQEMJIZTGPMIJ93B8P$QX+Y2R:TGT9QW8S89U4N2.+FUT8VG+34USI/N/JJ3CE*KLSW:REE8T5Y*9:U6515JIUR$6TODLYHSDE3B5DAF:5TF7V*VAL3G40WBOM0DO2+CFKTTM$G-SO:8U0EW:M8V:4*R9ZDX$B1IRBP9PLMDK8H801PNTFB4$HL1+/U3F61P$4N:UAO88:N5D+J:HI4YR8IM:3A7K1YZ9VMRC/47$6GGW5JEL1N690TDQ4XW+TWHD:V.1.630QK*JN/.EITVU80YS3.8LWKO:2STLWZAVHUXFHQ..NZ0:.J/FTZM.KYDXIE1VBY7/:PHZMQ$.JZQ2.XT32440X/HM+UY/7QP4I+HTD9.DUSY-8R6HDR-B8/PF2NP7I2-MRW9VPW3U9.S0LQ.*221F8KVMD5ANJXZJ8WV4UFZ4R.$-NXVE+-FAL:WFERGU+WHJTHAP"
)

func TestBase43Vectors(t *testing.T) {
	tx, err := hex.DecodeString(electrumTxHex)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in  []byte
		out string
	}{
		{tx, electrumTxBase43},
		// Worked by hand: 43 is "10", 256 = 5*43+41 is "5/", 255 =
		// 5*43+40 is "5.", 1849 = 43^2 is "100"; each leading zero byte
		// is a leading '0'.
		{[]byte{43}, "10"},
		{[]byte{1, 0}, "5/"},
		{[]byte{0xff}, "5."},
		{[]byte{0x07, 0x39}, "100"},
		{[]byte{42}, ":"},
		{[]byte{0}, "0"},
		{[]byte{0, 0, 1}, "001"},
		{nil, ""},
	}
	for _, c := range cases {
		if got := EncodeBase43(c.in); got != c.out {
			t.Errorf("EncodeBase43(%x) = %q, want %q", c.in, got, c.out)
		}
		if c.out == "" {
			continue
		}
		got, err := DecodeBase43(c.out)
		if err != nil || !bytes.Equal(got, c.in) {
			t.Errorf("DecodeBase43(%q) = %x, %v; want %x", c.out, got, err, c.in)
		}
	}
}

func TestBase43RoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 43))
	for n := 0; n < 300; n++ {
		b := make([]byte, r.IntN(3000))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if len(b) > 0 && n%3 == 0 {
			clear(b[:min(len(b), 1+r.IntN(4))]) // leading zero bytes
		}
		s := EncodeBase43(b)
		if !isBase43([]byte(s)) && len(b) > 0 {
			t.Fatalf("%x encodes to %q, outside the alphabet", b, s)
		}
		got, err := DecodeBase43(s)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("round trip of %d bytes: %v", len(b), err)
		}
		if again := EncodeBase43(got); again != s {
			t.Fatalf("re-encoding differs")
		}
	}
}

func TestBase43Refused(t *testing.T) {
	for in, want := range map[string]string{
		"":         "empty",
		"3E2dH7":   `character 4 is "d"`,
		"12 3":     `character 3 is " "`,
		"ABC%":     `character 4 is "%"`,
		"\xff0000": `character 1 is "\xff"`,
	} {
		_, err := DecodeBase43(in)
		var fe *FormatError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), want) {
			t.Errorf("DecodeBase43(%q) = %v, want a format error saying %s", in, err, want)
		}
	}
	if _, err := DecodeBase43(strings.Repeat("Z", maxBase43Text+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the cap: %v", err)
	}
}

// TestDetectBase43: Electrum's QR text is read wherever a PSBT or a
// transaction is: as a blob, and as one scanned line.
func TestDetectBase43(t *testing.T) {
	tx, _ := hex.DecodeString(electrumTxHex)
	psbt := []byte("psbt\xff\x01\x00")
	for _, c := range []struct {
		text string
		kind string
		want []byte
	}{
		{electrumTxBase43, KindTransaction, tx},
		{EncodeBase43(psbt), KindPSBT, psbt},
		{"\n" + EncodeBase43(psbt) + "\r\n", KindPSBT, psbt},
	} {
		kind, got, err := DecodeBytes([]byte(c.text))
		if err != nil || kind != c.kind || !bytes.Equal(got, c.want) {
			t.Errorf("DecodeBytes(%.20q…) = %s %x, %v; want %s", c.text, kind, got, err, c.kind)
		}
		col := NewCollector()
		if err := col.Add(c.text); err != nil {
			t.Fatal(err)
		}
		kind, got, err = col.Result()
		if err != nil || kind != c.kind || !bytes.Equal(got, c.want) {
			t.Errorf("Collector: %s %x, %v; want %s", kind, got, err, c.kind)
		}
	}
	// Text of base43 characters that holds neither is no format at all,
	// so that callers take it as text: an upper-case hex transaction, a
	// word, base43 of other bytes.
	for _, s := range []string{strings.ToUpper(electrumTxHex), "HELLO", EncodeBase43([]byte("hello")), strings.Repeat("A", maxBase43Text+1)} {
		if _, _, err := DecodeBytes([]byte(s)); !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("DecodeBytes(%.20q…): %v, want ErrUnknownFormat", s, err)
		}
	}
}

// FuzzBase43: no text panics the decoder; what decodes re-encodes to the
// same text, and any bytes round-trip.
func FuzzBase43(f *testing.F) {
	f.Add(electrumTxBase43)
	f.Add("0010")
	f.Add("0")
	f.Add("$*+-./:")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := DecodeBase43(s)
		if err == nil {
			if again := EncodeBase43(b); again != s {
				t.Fatalf("%q decodes to %x, which encodes to %q", s, b, again)
			}
		}
		back, err := DecodeBase43(EncodeBase43([]byte(s)))
		if len(s) > 0 && (err != nil || !bytes.Equal(back, []byte(s))) {
			t.Fatalf("bytes %x do not round-trip: %v", s, err)
		}
		_, _, _ = decodeBase43Payload([]byte(s))
	})
}

func BenchmarkDecodeBase43(b *testing.B) {
	text := EncodeBase43(bytes.Repeat([]byte{0xa5}, 43<<10)) // near the cap
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeBase43(text); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(text)), "chars")
}
