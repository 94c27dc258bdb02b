package airgap

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestDecodeBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	psbt := fakePSBT(r, 2, 2)
	small := psbt[:150]
	enc, _ := EncodePSBTUR(small)
	bb, _ := EncodeBBQr(psbt, BBQrPSBT, BBQrOptions{MaxVersion: 20})
	multi, _ := NewUREncoder(URTypeCryptoPSBT, CBORByteString(psbt), 100, 10)
	b64 := base64.StdEncoding.EncodeToString(psbt)
	wrapped := ""
	for i := 0; i < len(b64); i += 64 {
		wrapped += b64[i:min(i+64, len(b64))] + "\r\n"
	}
	txt, _ := EncodeBBQr([]byte(`{"a":1}`), BBQrJSON, BBQrOptions{})
	out, _ := NewUREncoder(URTypeCryptoOutput, []byte{0xd9, 0x01, 0x93, 0x01}, 0, 0)
	for name, c := range map[string]struct {
		in   string
		kind string
		want []byte
	}{
		"binary":       {string(psbt), KindPSBT, psbt},
		"hex":          {hex.EncodeToString(psbt) + "\n", KindPSBT, psbt},
		"HEX":          {strings.ToUpper(hex.EncodeToString(psbt)), KindPSBT, psbt},
		"base64":       {b64, KindPSBT, psbt},
		"base64 lines": {"\ufeff" + wrapped, KindPSBT, psbt},
		"ur single":    {enc.NextPart(), KindPSBT, small},
		"UR single":    {strings.ToUpper(enc.NextPart()), KindPSBT, small},
		"ur lines":     {strings.Join(multi.Parts(3*multi.SeqLen()), "\n"), KindPSBT, psbt},
		"bbqr":         {strings.Join(bb, "\r\n"), KindPSBT, psbt},
		"bbqr json":    {txt[0], KindJSON, []byte(`{"a":1}`)},
		"ur other":     {out.NextPart(), "ur:crypto-output", []byte{0xd9, 0x01, 0x93, 0x01}},
	} {
		kind, got, err := DecodeBytes([]byte(c.in))
		if err != nil || kind != c.kind || !bytes.Equal(got, c.want) {
			t.Errorf("%s: kind %q, %d bytes, err %v", name, kind, len(got), err)
		}
	}
	for name, c := range map[string]struct {
		in   string
		want error
	}{
		"empty":      {"  \n", ErrUnknownFormat},
		"random":     {string(randomBytes(r, 100)), ErrUnknownFormat},
		"hex tx":     {"0200000001", ErrUnknownFormat},
		"incomplete": {multi.Parts(1)[0], ErrIncomplete},
		"bad hex":    {"70736274ffzz", nil},
		"mixed":      {bb[0] + "\n" + enc.NextPart(), ErrMismatch},
	} {
		if _, _, err := DecodeBytes([]byte(c.in)); err == nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", name, err, c.want)
		}
	}
}

func TestCollector(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	psbt := fakePSBT(r, 5, 3)
	enc, _ := NewUREncoder(URTypePSBT, CBORByteString(psbt), 60, 10)
	bb, _ := EncodeBBQr(psbt, BBQrPSBT, BBQrOptions{MaxVersion: 7})

	c := NewCollector()
	if c.Status() != "waiting for parts" {
		t.Errorf("status %q", c.Status())
	}
	if err := c.Add(bb[0]); !errors.Is(err, nil) {
		t.Fatal(err)
	}
	if c.Status() != "bbqr 1 of "+strconv.Itoa(len(bb)) {
		t.Errorf("status %q", c.Status())
	}
	if err := c.Add(enc.NextPart()); !errors.Is(err, ErrMismatch) {
		t.Errorf("ur into bbqr: %v", err)
	}
	for _, p := range bb[1:] {
		if err := c.Add("  " + p + "\r"); err != nil {
			t.Fatal(err)
		}
	}
	if kind, got, err := c.Result(); err != nil || kind != KindPSBT || !bytes.Equal(got, psbt) {
		t.Fatalf("bbqr result %q %v", kind, err)
	}

	// ReadFrom with noise: a stray QR, garbage and a duplicate.
	var in strings.Builder
	in.WriteString("hello world\n\n")
	for i := range 4 * enc.SeqLen() {
		p := enc.NextPart()
		if i%3 == 1 {
			continue // dropped frame
		}
		in.WriteString(p + "\n" + p + "\n")
	}
	c = NewCollector()
	if _, err := c.ReadFrom(strings.NewReader(in.String())); err != nil {
		t.Fatal(err)
	}
	if kind, got, err := c.Result(); err != nil || kind != KindPSBT || !bytes.Equal(got, psbt) {
		t.Fatalf("ur result %q %v", kind, err)
	}
	if c.Progress() != 1 || c.Status() != "complete" {
		t.Errorf("progress %v %q", c.Progress(), c.Status())
	}

	c = NewCollector()
	_, err := c.ReadFrom(strings.NewReader(enc.NextPart() + "\n"))
	if !errors.Is(err, ErrIncomplete) || c.Progress() <= 0 || c.Progress() >= 1 {
		t.Errorf("partial: %v, progress %v", err, c.Progress())
	}
	if !strings.HasPrefix(c.Status(), "ur:psbt ") {
		t.Errorf("status %q", c.Status())
	}
	_, err = NewCollector().ReadFrom(strings.NewReader(strings.Repeat("x", maxCollectorLine+1)))
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("long line: %v", err)
	}
}

// TestDecodeBase64PSBTv2 reads a base64 version 2 PSBT whose first key is
// a global xpub: its base64 starts "cHNidP9", not the "cHNidP8" of every
// version 0 PSBT, and is a PSBT all the same, not text.
func TestDecodeBase64PSBTv2(t *testing.T) {
	// "psbt\xff", then a key of 79 bytes (a global xpub) and the rest.
	raw := append([]byte("psbt\xff\x4f\x01"), bytes.Repeat([]byte{7}, 90)...)
	enc := base64.StdEncoding.EncodeToString(raw)
	if !strings.HasPrefix(enc, "cHNidP9") {
		t.Fatalf("test PSBT encodes as %.8s", enc)
	}
	kind, payload, err := DecodeBytes([]byte(enc + "\n"))
	if err != nil || kind != KindPSBT || !bytes.Equal(payload, raw) {
		t.Fatalf("kind %q, err %v", kind, err)
	}
	if _, _, err := DecodeBytes([]byte("cHNidPA text that only starts alike")); !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("text: %v", err)
	}
}
