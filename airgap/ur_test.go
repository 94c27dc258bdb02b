package airgap

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// decodeURParts feeds parts until done and returns the PSBT or CBOR.
func decodeURParts(t testing.TB, next func() string, limit int) (string, []byte, int) {
	t.Helper()
	d := NewURDecoder()
	n := 0
	for !d.Done() {
		if n >= limit {
			t.Fatalf("not done after %d parts (progress %.2f)", n, d.Progress())
		}
		if err := d.Receive(next()); err != nil {
			t.Fatal(err)
		}
		n++
	}
	typ, cbor, err := d.Result()
	if err != nil {
		t.Fatal(err)
	}
	return typ, cbor, n
}

func TestURRoundTripRandomPayloads(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, size := range []int{1, 100, 1000, 100_000} {
		psbt := append([]byte(psbtMagic), randomBytes(r, size)...)
		enc, err := EncodePSBTUR(psbt)
		if err != nil {
			t.Fatal(err)
		}
		enc.SetUppercase(size%2 == 0)
		typ, cbor, n := decodeURParts(t, enc.NextPart, enc.SeqLen())
		got, err := DecodePSBTUR(typ, cbor)
		if err != nil || !bytes.Equal(got, psbt) {
			t.Fatalf("size %d: %v", size, err)
		}
		if n != enc.SeqLen() {
			t.Errorf("size %d: %d parts for %d fragments", size, n, enc.SeqLen())
		}
		t.Logf("%6d-byte psbt: %d parts", len(psbt), n)
	}
	// psbt (v2 registry name) and parts in reverse order.
	psbt := append([]byte(psbtMagic), randomBytes(r, 1000)...)
	enc, _ := NewUREncoder(URTypePSBT, CBORByteString(psbt), 0, 0)
	parts := enc.Parts(enc.SeqLen())
	d := NewURDecoder()
	for i := len(parts) - 1; i >= 0; i-- {
		if err := d.Receive(parts[i]); err != nil {
			t.Fatal(err)
		}
	}
	typ, cbor, err := d.Result()
	if got, err2 := DecodePSBTUR(typ, cbor); err != nil || err2 != nil || typ != URTypePSBT || !bytes.Equal(got, psbt) {
		t.Fatalf("reverse order: %v %v", err, err2)
	}
}

// lossTrial shows parts of a seqLen-fragment UR, dropping each with
// probability drop, until the decoder finishes; it returns frames shown
// and frames received.
// lossFragment is the fragment size of the loss trials: 100 fragments of
// it make a 20000-byte message.
const lossFragment = 200

func lossTrial(t testing.TB, cbor []byte, drop float64, r *rand.Rand) (shown, received int) {
	enc, err := NewUREncoder(URTypeBytes, cbor, lossFragment, DefaultURMinFragment)
	if err != nil {
		t.Fatal(err)
	}
	d := NewURDecoder()
	for !d.Done() {
		p := enc.NextPart()
		shown++
		if shown > 20*enc.SeqLen() {
			t.Fatalf("drop %.0f%%: no result after %d frames", drop*100, shown)
		}
		if r.Float64() < drop {
			continue
		}
		received++
		if err := d.Receive(p); err != nil {
			t.Fatal(err)
		}
	}
	if _, got, err := d.Result(); err != nil || !bytes.Equal(got, cbor) {
		t.Fatalf("drop %.0f%%: wrong result: %v", drop*100, err)
	}
	return shown, received
}

// hundredFragmentMessage is a CBOR byte string of exactly 20000 bytes:
// 100 fragments of lossFragment bytes.
func hundredFragmentMessage(r *rand.Rand) []byte {
	cbor := CBORByteString(randomBytes(r, 20000-3))
	if len(cbor) != 100*lossFragment {
		panic("size")
	}
	return cbor
}

func TestURLoss(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	cbor := hundredFragmentMessage(r)
	const trials = 20
	for _, drop := range []float64{0.10, 0.30} {
		var shown, received, worst int
		for range trials {
			s, rc := lossTrial(t, cbor, drop, r)
			shown += s
			received += rc
			worst = max(worst, s)
		}
		t.Logf("100 fragments, %2.0f%% of frames dropped: %.2f frames shown and %.2f received per fragment on average over %d trials (worst: %d frames shown)",
			drop*100, float64(shown)/trials/100, float64(received)/trials/100, trials, worst)
	}
}

func TestURRejects(t *testing.T) {
	r := rand.New(rand.NewPCG(45, 46))
	msgA := CBORByteString(randomBytes(r, 1000))
	msgB := CBORByteString(randomBytes(r, 1000))
	encA, _ := NewUREncoder(URTypeBytes, msgA, 100, 10)
	encB, _ := NewUREncoder(URTypeBytes, msgB, 100, 10)
	encC, _ := NewUREncoder(URTypeCryptoPSBT, msgA, 100, 10)
	single, _ := NewUREncoder(URTypeBytes, CBORByteString([]byte{1, 2, 3}), 0, 0)
	a := encA.Parts(encA.SeqLen())
	d := NewURDecoder()
	if err := d.Receive(a[0]); err != nil {
		t.Fatal(err)
	}
	// Swap two bytewords of the body: still valid words, wrong CRC.
	corrupt := []byte(a[1])
	i := strings.LastIndexByte(a[1], '/') + 1 + 10
	corrupt[i], corrupt[i+1], corrupt[i+2], corrupt[i+3] = corrupt[i+2], corrupt[i+3], corrupt[i], corrupt[i+1]
	// Build a fountain part declaring a huge message.
	huge := (&fountainPart{seqNum: 1, seqLen: 2, messageLen: MaxPayloadSize + 1, checksum: 1, data: []byte{1}}).cbor()
	manyFrags := (&fountainPart{seqNum: 1, seqLen: MaxURSeqLen + 1, messageLen: MaxURSeqLen + 1, checksum: 1, data: []byte{1}}).cbor()
	inconsistent := (&fountainPart{seqNum: 1, seqLen: 3, messageLen: 100, checksum: 1, data: make([]byte, 10)}).cbor()
	for name, c := range map[string]struct {
		part string
		want error
	}{
		"other message":   {encB.NextPart(), ErrMismatch},
		"other type":      {encC.NextPart(), ErrMismatch},
		"single-part":     {single.NextPart(), ErrMismatch},
		"bytewords crc":   {string(corrupt), ErrChecksum},
		"seqLen cap":      {"ur:bytes/1-65537/" + encodeBytewords(bytewordsMinimal, manyFrags), ErrTooLarge},
		"seqLen cap cbor": {"ur:bytes/1-65537/aeaeaeaeae", ErrTooLarge},
		"messageLen cap":  {"ur:bytes/1-2/" + encodeBytewords(bytewordsMinimal, huge), ErrTooLarge},
		"inconsistent":    {"ur:bytes/1-3/" + encodeBytewords(bytewordsMinimal, inconsistent), nil},
		"seq disagrees":   {strings.Replace(a[2], "/3-", "/4-", 1), nil},
		"no scheme":       {"bytes/1-2/aeae", nil},
		"bad type":        {"ur:by_tes/aeae", nil},
		"too many comps":  {"ur:bytes/1-2/3/aeae", nil},
		"bad seq":         {"ur:bytes/0-2/aeae", nil},
		"not bytewords":   {"ur:bytes/1-11/zzzz", nil},
	} {
		err := d.Receive(c.part)
		var fe *FormatError
		switch {
		case err == nil:
			t.Errorf("%s: accepted", name)
		case c.want != nil && !errors.Is(err, c.want):
			t.Errorf("%s: %v, want %v", name, err, c.want)
		case c.want == nil && !errors.As(err, &fe):
			t.Errorf("%s: %v is not a FormatError", name, err)
		}
	}
	for _, p := range a[1:] {
		if err := d.Receive(p); err != nil {
			t.Fatal(err)
		}
	}
	if _, got, err := d.Result(); err != nil || !bytes.Equal(got, msgA) {
		t.Fatalf("after rejects: %v", err)
	}
	if err := d.Receive("garbage after done"); err != nil {
		t.Errorf("after done: %v", err)
	}

	// Pure parts whose header checksum lies: reassembly fails the CRC.
	d = NewURDecoder()
	var err error
	for i := range encA.SeqLen() {
		p := encA.fountain.fragments[i]
		fp := &fountainPart{seqNum: uint32(i + 1), seqLen: encA.SeqLen(), messageLen: len(msgA), checksum: 12345, data: p}
		err = d.Receive(fmt.Sprintf("ur:bytes/%d-%d/%s", i+1, encA.SeqLen(), encodeBytewords(bytewordsMinimal, fp.cbor())))
	}
	if !errors.Is(err, ErrChecksum) || !d.Done() {
		t.Fatalf("lying checksum: %v", err)
	}
	if _, _, err := d.Result(); !errors.Is(err, ErrChecksum) {
		t.Fatalf("result: %v", err)
	}
	if _, _, err := NewURDecoder().Result(); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("empty result: %v", err)
	}
}

func TestUREncoderArgs(t *testing.T) {
	for name, f := range map[string]func() error{
		"bad type":   func() error { _, err := NewUREncoder("Bad Type", []byte{0x40}, 0, 0); return err },
		"empty":      func() error { _, err := NewUREncoder("bytes", nil, 0, 0); return err },
		"not cbor":   func() error { _, err := NewUREncoder("bytes", []byte{0x5f}, 0, 0); return err },
		"min > max":  func() error { _, err := NewUREncoder("bytes", []byte{0x40}, 10, 20); return err },
		"not psbt":   func() error { _, err := EncodePSBTUR([]byte("nope")); return err },
		"psbt type":  func() error { _, err := DecodePSBTUR("bytes", []byte{0x40}); return err },
		"psbt magic": func() error { _, err := DecodePSBTUR(URTypePSBT, CBORByteString([]byte("nope"))); return err },
		"bad tag":    func() error { _, err := DecodePSBTUR(URTypePSBT, []byte{0xc1, 0x40}); return err },
	} {
		if f() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	tagged := append([]byte{0xd9, 0x01, 0x36}, CBORByteString([]byte(psbtMagic+"x"))...) // tag 310
	if got, err := DecodePSBTUR(URTypeCryptoPSBT, tagged); err != nil || string(got) != psbtMagic+"x" {
		t.Errorf("tagged: %v", err)
	}
	enc, _ := NewUREncoder("bytes", CBORByteString(make([]byte, 50)), 0, 0)
	if !enc.SinglePart() || enc.SeqLen() != 1 || enc.NextPart() != enc.NextPart() {
		t.Error("single part encoder")
	}
	enc.SetUppercase(true)
	if p := enc.NextPart(); p != strings.ToUpper(p) || !strings.HasPrefix(p, "UR:BYTES/") {
		t.Errorf("uppercase: %s", p)
	}
}

// TestURDecoderMemoryBound feeds only high-degree mixes, as a hostile
// sender could, and checks the stored mixes stay within their bounds and
// that the message still decodes afterwards.
func TestURDecoderMemoryBound(t *testing.T) {
	r := rand.New(rand.NewPCG(47, 48))
	cbor := CBORByteString(randomBytes(r, 2048*10-3))
	enc, err := NewUREncoder(URTypeBytes, cbor, 10, 10)
	if err != nil || enc.SeqLen() != 2048 {
		t.Fatalf("seqLen %d, %v", enc.SeqLen(), err)
	}
	pure := enc.Parts(enc.SeqLen())
	d := NewURDecoder()
	fed := 0
	for fed < 60 {
		p := enc.NextPart()
		_, seq, _, _ := parseUR(p)
		n, _, _ := parseURSeq(seq)
		if len(chooseFragments(n, enc.SeqLen(), enc.fountain.checksum, enc.fountain.sampler)) < 1024 {
			continue
		}
		if err := d.Receive(p); err != nil {
			t.Fatal(err)
		}
		fed++
	}
	f := &d.fountain
	if f.mixedIdx > f.maxMixedIdx() || len(f.mixed) > f.maxMixed() || f.mixedIdx == 0 {
		t.Fatalf("%d mixes with %d indexes stored (bounds %d, %d)", len(f.mixed), f.mixedIdx, f.maxMixed(), f.maxMixedIdx())
	}
	for _, p := range pure {
		if err := d.Receive(p); err != nil {
			t.Fatal(err)
		}
	}
	if _, got, err := d.Result(); err != nil || !bytes.Equal(got, cbor) {
		t.Fatalf("result: %v", err)
	}
}

// TestRoundTripRandomPayloads sends 1 KB and 100 KB random payloads
// through UR and BBQr part strings (shuffled, with a duplicate) and back.
func TestRoundTripRandomPayloads(t *testing.T) {
	r := rand.New(rand.NewPCG(49, 50))
	for _, size := range []int{1000, 100_000} {
		data := randomBytes(r, size)
		enc, err := NewUREncoder(URTypeBytes, CBORByteString(data), 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		bb, err := EncodeBBQr(data, BBQrBinary, BBQrOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for name, parts := range map[string][]string{"ur": enc.Parts(enc.SeqLen()), "bbqr": bb} {
			parts = append(parts, parts[0])
			r.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
			c := NewCollector()
			for _, p := range parts {
				if err := c.Add(p); err != nil {
					t.Fatalf("%s %d: %v", name, size, err)
				}
			}
			kind, got, err := c.Result()
			if err != nil {
				t.Fatalf("%s %d: %v", name, size, err)
			}
			if name == "ur" {
				if kind != "ur:bytes" {
					t.Fatalf("kind %q", kind)
				}
				got, _, err = readCBORBytes(got)
			}
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%s %d: payload differs (%v)", name, size, err)
			}
			t.Logf("%-4s %6d bytes: %d parts", name, size, len(parts)-1)
		}
	}
}

func ExampleUREncoder() {
	enc, err := NewUREncoder(URTypeBytes, CBORByteString([]byte("hello, air gap")), 0, 0)
	if err != nil {
		panic(err)
	}
	part := enc.NextPart()
	fmt.Println(part)
	d := NewURDecoder()
	if err := d.Receive(strings.ToUpper(part)); err != nil {
		panic(err)
	}
	typ, cbor, _ := d.Result()
	fmt.Printf("%s %x\n", typ, cbor)
	// Output:
	// ur:bytes/glisihjzjzjldwcxhsinjpcxiohsjotbpyaozs
	// bytes 4e68656c6c6f2c2061697220676170
}
