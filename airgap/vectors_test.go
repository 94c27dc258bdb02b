package airgap

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"slices"
	"strings"
	"testing"
)

// bcurVectors mirrors testdata/bc-ur-vectors.json (see testdata/README.md).
type bcurVectors struct {
	CRC32      []struct{ Input, Hex string }
	Bytewords1 struct {
		Input                  []byte
		Standard, URI, Minimal string
		BadChecksum            struct{ Standard, URI, Minimal string }
		TooShortStandard       []string
	}
	Bytewords2 struct {
		Input             []byte
		Standard, Minimal string
	}
	RNG1 struct {
		Seed   string
		Mod100 []uint64
	}
	RNG2 struct {
		SeedCRC32Of string
		Mod100      []uint64
	}
	RNG3 struct {
		Seed      string
		Low, High uint64
		NextInt   []uint64
	}
	FindFragmentLength []struct{ MessageLen, MinFragmentLen, MaxFragmentLen, FragmentLen int }
	RandomSampler      struct {
		Probs   []float64
		Seed    string
		Samples []int
	}
	Shuffle struct {
		Seed    string
		Values  []int
		Results [][]int
	}
	Partition    messageSpec `json:"partition"`
	ChooseDegree struct {
		messageSpec
		NonceSeedPrefix string
		Degrees         []int
	}
	ChooseFragments struct {
		messageSpec
		Indexes [][]int
	}
	Xor             struct{ Seed, Data1, Data2, Xor string }
	FountainEncoder struct {
		messageSpec
		Descriptions []string
		CBOR         []string
	}
	FountainDecoder messageSpec
	FountainCBOR    struct {
		SeqNum, SeqLen, MessageLen int
		Checksum                   uint32
		Data                       []byte
	}
	SinglePartUR struct {
		messageSpec
		UR string
	}
	UREncoder struct {
		messageSpec
		Parts []string
	}
	MultipartUR struct {
		messageSpec
		FirstSeqNum int
	}
	CryptoPSBT struct{ PSBTHex, CBORHex, UR string }
}

type messageSpec struct {
	MessageLen     int
	Seed           string
	MinFragmentLen int
	MaxFragmentLen int
	Fragments      []string
}

func loadVectors(t testing.TB) *bcurVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/bc-ur-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v bcurVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

// makeMessage is the reference test-utils make_message.
func makeMessage(n int, seed string) []byte { return newXoshiro([]byte(seed)).nextData(n) }

func TestVectorCRC32(t *testing.T) {
	for _, c := range loadVectors(t).CRC32 {
		got := crc32Bytes([]byte(c.Input))
		if hex.EncodeToString(got[:]) != c.Hex {
			t.Errorf("crc32(%q) = %x, want %s", c.Input, got, c.Hex)
		}
	}
}

func TestVectorBytewords(t *testing.T) {
	v := loadVectors(t)
	b1 := v.Bytewords1
	for _, c := range []struct {
		style bytewordsStyle
		enc   string
		bad   string
	}{
		{bytewordsStandard, b1.Standard, b1.BadChecksum.Standard},
		{bytewordsURI, b1.URI, b1.BadChecksum.URI},
		{bytewordsMinimal, b1.Minimal, b1.BadChecksum.Minimal},
	} {
		if got := encodeBytewords(c.style, b1.Input); got != c.enc {
			t.Errorf("style %d: encode = %q, want %q", c.style, got, c.enc)
		}
		got, err := decodeBytewords(c.style, c.enc)
		if err != nil || !bytes.Equal(got, b1.Input) {
			t.Errorf("style %d: decode = %v, %v", c.style, got, err)
		}
		if _, err := decodeBytewords(c.style, strings.ToUpper(c.enc)); err != nil {
			t.Errorf("style %d: uppercase decode: %v", c.style, err)
		}
		if _, err := decodeBytewords(c.style, c.bad); !errors.Is(err, ErrChecksum) {
			t.Errorf("style %d: bad checksum: err = %v", c.style, err)
		}
	}
	for _, s := range b1.TooShortStandard {
		if _, err := decodeBytewords(bytewordsStandard, s); err == nil {
			t.Errorf("decode(%q) succeeded", s)
		}
	}
	b2 := v.Bytewords2
	if got := encodeBytewords(bytewordsStandard, b2.Input); got != b2.Standard {
		t.Errorf("standard encode = %q", got)
	}
	if got := encodeBytewords(bytewordsMinimal, b2.Input); got != b2.Minimal {
		t.Errorf("minimal encode = %q", got)
	}
	for style, s := range map[bytewordsStyle]string{bytewordsStandard: b2.Standard, bytewordsMinimal: b2.Minimal} {
		if got, err := decodeBytewords(style, s); err != nil || !bytes.Equal(got, b2.Input) {
			t.Errorf("style %d decode: %x, %v", style, got, err)
		}
	}
}

func TestVectorXoshiro(t *testing.T) {
	v := loadVectors(t)
	check := func(name string, rng *xoshiro256, f func(*xoshiro256) uint64, want []uint64) {
		t.Helper()
		got := make([]uint64, len(want))
		for i := range got {
			got[i] = f(rng)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n got %v\nwant %v", name, got, want)
		}
	}
	mod100 := func(x *xoshiro256) uint64 { return x.next() % 100 }
	check("rng1", newXoshiro([]byte(v.RNG1.Seed)), mod100, v.RNG1.Mod100)
	var seed [4]byte
	binary.BigEndian.PutUint32(seed[:], crc32.ChecksumIEEE([]byte(v.RNG2.SeedCRC32Of)))
	check("rng2", newXoshiro(seed[:]), mod100, v.RNG2.Mod100)
	check("rng3", newXoshiro([]byte(v.RNG3.Seed)), func(x *xoshiro256) uint64 {
		return x.nextInt(v.RNG3.Low, v.RNG3.High)
	}, v.RNG3.NextInt)
}

func TestVectorRandomSampler(t *testing.T) {
	v := loadVectors(t).RandomSampler
	s := newRandomSampler(v.Probs)
	rng := newXoshiro([]byte(v.Seed))
	got := make([]int, len(v.Samples))
	for i := range got {
		got[i] = s.next(rng)
	}
	if !slices.Equal(got, v.Samples) {
		t.Errorf("samples:\n got %v\nwant %v", got, v.Samples)
	}
}

func TestVectorShuffle(t *testing.T) {
	v := loadVectors(t).Shuffle
	rng := newXoshiro([]byte(v.Seed))
	for i, want := range v.Results {
		perm := shufflePrefix(len(v.Values), len(v.Values), rng)
		got := make([]int, len(perm))
		for j, p := range perm {
			got[j] = v.Values[p]
		}
		if !slices.Equal(got, want) {
			t.Errorf("shuffle %d: got %v, want %v", i, got, want)
		}
	}
}

// TestShuffleFenwickMatchesSlice checks the O(log n) removal path against
// the plain slice path of the reference.
func TestShuffleFenwickMatchesSlice(t *testing.T) {
	for _, n := range []int{65, 100, 1000} {
		for seed := range 20 {
			s := fmt.Sprint("seed-", seed)
			got := shufflePrefix(n, n, newXoshiro([]byte(s)))
			rng := newXoshiro([]byte(s))
			remaining := make([]int, n)
			for i := range remaining {
				remaining[i] = i
			}
			var want []int
			for len(remaining) > 0 {
				j := int(rng.nextInt(0, uint64(len(remaining)-1)))
				want = append(want, remaining[j])
				remaining = slices.Delete(remaining, j, j+1)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("n=%d seed=%d: mismatch", n, seed)
			}
		}
	}
}

func TestVectorFindFragmentLength(t *testing.T) {
	for _, c := range loadVectors(t).FindFragmentLength {
		if got := findNominalFragmentLength(c.MessageLen, c.MinFragmentLen, c.MaxFragmentLen); got != c.FragmentLen {
			t.Errorf("%+v: got %d", c, got)
		}
	}
}

func TestVectorPartitionAndJoin(t *testing.T) {
	v := loadVectors(t).Partition
	msg := makeMessage(v.MessageLen, v.Seed)
	fl := findNominalFragmentLength(len(msg), v.MinFragmentLen, v.MaxFragmentLen)
	frags := partitionMessage(msg, fl)
	var got []string
	var joined []byte
	for _, f := range frags {
		got = append(got, hex.EncodeToString(f))
		joined = append(joined, f...)
	}
	if !slices.Equal(got, v.Fragments) {
		t.Errorf("fragments:\n got %v\nwant %v", got, v.Fragments)
	}
	if !bytes.Equal(joined[:len(msg)], msg) {
		t.Error("join mismatch")
	}
}

func TestVectorChooseDegree(t *testing.T) {
	v := loadVectors(t).ChooseDegree
	msg := makeMessage(v.MessageLen, v.Seed)
	n := len(partitionMessage(msg, findNominalFragmentLength(len(msg), v.MinFragmentLen, v.MaxFragmentLen)))
	s := degreeSampler(n)
	var got []int
	for nonce := 1; nonce <= len(v.Degrees); nonce++ {
		got = append(got, s.next(newXoshiro([]byte(fmt.Sprint(v.NonceSeedPrefix, nonce))))+1)
	}
	if !slices.Equal(got, v.Degrees) {
		t.Errorf("degrees:\n got %v\nwant %v", got, v.Degrees)
	}
}

func TestVectorChooseFragments(t *testing.T) {
	v := loadVectors(t).ChooseFragments
	msg := makeMessage(v.MessageLen, v.Seed)
	sum := crc32.ChecksumIEEE(msg)
	n := len(partitionMessage(msg, findNominalFragmentLength(len(msg), v.MinFragmentLen, v.MaxFragmentLen)))
	s := degreeSampler(n)
	for i, want := range v.Indexes {
		got := chooseFragments(uint32(i+1), n, sum, s)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("seqNum %d: got %v, want %v", i+1, got, want)
		}
	}
}

func TestVectorXor(t *testing.T) {
	v := loadVectors(t).Xor
	rng := newXoshiro([]byte(v.Seed))
	d1, d2 := rng.nextData(10), rng.nextData(10)
	if hex.EncodeToString(d1) != v.Data1 || hex.EncodeToString(d2) != v.Data2 {
		t.Fatalf("data %x %x", d1, d2)
	}
	d3 := slices.Clone(d1)
	xorInto(d3, d2)
	if hex.EncodeToString(d3) != v.Xor {
		t.Errorf("xor %x", d3)
	}
	xorInto(d3, d1)
	if !bytes.Equal(d3, d2) {
		t.Error("xor not involutive")
	}
}

func TestVectorFountainEncoder(t *testing.T) {
	v := loadVectors(t).FountainEncoder
	enc := newFountainEncoder(makeMessage(v.MessageLen, v.Seed), v.MaxFragmentLen, 10)
	for i := range v.Descriptions {
		p := enc.nextPart()
		if got := p.String(); got != v.Descriptions[i] {
			t.Errorf("part %d:\n got %s\nwant %s", i+1, got, v.Descriptions[i])
		}
		if got := hex.EncodeToString(p.cbor()); got != v.CBOR[i] {
			t.Errorf("part %d cbor:\n got %s\nwant %s", i+1, got, v.CBOR[i])
		}
		// fountain_cbor round trip
		q, err := parseFountainPart(p.cbor())
		if err != nil || !bytes.Equal(q.cbor(), p.cbor()) {
			t.Errorf("part %d: cbor round trip: %v", i+1, err)
		}
	}
	// fountain_encoder_is_complete: seqLen parts complete a pass.
	enc = newFountainEncoder(makeMessage(v.MessageLen, v.Seed), v.MaxFragmentLen, 10)
	if enc.seqLen() != 9 {
		t.Errorf("seqLen %d", enc.seqLen())
	}
}

func TestVectorFountainDecoder(t *testing.T) {
	v := loadVectors(t).FountainDecoder
	msg := makeMessage(v.MessageLen, v.Seed)
	enc := newFountainEncoder(msg, v.MaxFragmentLen, v.MinFragmentLen)
	var dec fountainDecoder
	for n := 0; !dec.done; n++ {
		if n > 10*enc.seqLen() {
			t.Fatal("decoder did not finish")
		}
		if err := dec.receive(enc.nextPart()); err != nil {
			t.Fatal(err)
		}
	}
	if dec.err != nil || !bytes.Equal(dec.result, msg) {
		t.Fatalf("decode failed: %v", dec.err)
	}
}

// TestVectorFountainCBOR is the reference test_fountain_cbor: a part
// survives CBOR encoding and decoding. (The part is not one the encoder
// would produce, so the decoder's validate step rejects it.)
func TestVectorFountainCBOR(t *testing.T) {
	v := loadVectors(t).FountainCBOR
	p := &fountainPart{uint32(v.SeqNum), v.SeqLen, v.MessageLen, v.Checksum, v.Data}
	q, err := parseFountainPart(p.cbor())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(q.cbor(), p.cbor()) {
		t.Errorf("round trip %x != %x", q.cbor(), p.cbor())
	}
	if q.validate() == nil {
		t.Error("inconsistent part validated")
	}
}

func makeMessageUR(n int, seed string) []byte { return cborBytesValue(makeMessage(n, seed)) }

func TestVectorSinglePartUR(t *testing.T) {
	v := loadVectors(t).SinglePartUR
	cbor := makeMessageUR(v.MessageLen, v.Seed)
	enc, err := NewUREncoder("bytes", cbor, 1000, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := enc.NextPart(); got != v.UR {
		t.Errorf("got %s\nwant %s", got, v.UR)
	}
	dec := NewURDecoder()
	if err := dec.Receive(v.UR); err != nil {
		t.Fatal(err)
	}
	typ, got, err := dec.Result()
	if err != nil || typ != "bytes" || !bytes.Equal(got, cbor) {
		t.Errorf("decode: %s %x %v", typ, got, err)
	}
}

func TestVectorUREncoder(t *testing.T) {
	v := loadVectors(t).UREncoder
	enc, err := NewUREncoder("bytes", makeMessageUR(v.MessageLen, v.Seed), v.MaxFragmentLen, 10)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range v.Parts {
		if got := enc.NextPart(); got != want {
			t.Errorf("part %d:\n got %s\nwant %s", i+1, got, want)
		}
	}
	// The vector parts also decode, recovering fragments 1 and 2 from mixes.
	dec := NewURDecoder()
	for _, p := range v.Parts[2:] { // without pure fragments 1 and 2
		if err := dec.Receive(strings.ToUpper(p)); err != nil {
			t.Fatal(err)
		}
	}
	if _, got, err := dec.Result(); err != nil || !bytes.Equal(got, makeMessageUR(v.MessageLen, v.Seed)) {
		t.Errorf("decode from mixes: %v", err)
	}
}

func TestVectorMultipartUR(t *testing.T) {
	v := loadVectors(t).MultipartUR
	cbor := makeMessageUR(v.MessageLen, v.Seed)
	enc, err := NewUREncoder("bytes", cbor, v.MaxFragmentLen, 10)
	if err != nil {
		t.Fatal(err)
	}
	// The reference starts at firstSeqNum; skip ahead to the same state.
	for range v.FirstSeqNum {
		enc.fountain.nextPart()
	}
	dec := NewURDecoder()
	for n := 0; !dec.Done(); n++ {
		if n > 10*enc.SeqLen() {
			t.Fatal("decoder did not finish")
		}
		if err := dec.Receive(enc.NextPart()); err != nil {
			t.Fatal(err)
		}
	}
	if typ, got, err := dec.Result(); err != nil || typ != "bytes" || !bytes.Equal(got, cbor) {
		t.Fatalf("result: %v", err)
	}
}

func TestVectorCryptoPSBT(t *testing.T) {
	v := loadVectors(t).CryptoPSBT
	psbt, _ := hex.DecodeString(v.PSBTHex)
	if got := hex.EncodeToString(CBORByteString(psbt)); got != v.CBORHex {
		t.Errorf("cbor %s", got)
	}
	enc, err := EncodePSBTUR(psbt)
	if err != nil {
		t.Fatal(err)
	}
	if got := enc.NextPart(); got != v.UR {
		t.Errorf("ur:\n got %s\nwant %s", got, v.UR)
	}
	dec := NewURDecoder()
	if err := dec.Receive(v.UR); err != nil {
		t.Fatal(err)
	}
	typ, cbor, err := dec.Result()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodePSBTUR(typ, cbor)
	if err != nil || !bytes.Equal(got, psbt) {
		t.Errorf("DecodePSBTUR: %x %v", got, err)
	}
}
