package airgap

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

type bbqrVectors struct {
	SizeEstimates []struct{ Version, Chars, Payload int }
	MaxFileSize   map[string]int
	RealScan      struct {
		File, FileType, SHA256 string
		Length                 int
		Contains               []string
	}
}

func loadBBQrVectors(t testing.TB) *bbqrVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/bbqr-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v bbqrVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

func readLines(t testing.TB, name string) []string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestBBQrSpecSizeTable checks our QR capacity table against the spec's
// "Size Estimates" table (alphanumeric, level L) and its hex payloads.
func TestBBQrSpecSizeTable(t *testing.T) {
	for _, row := range loadBBQrVectors(t).SizeEstimates {
		if got := qrAlnumCapacity(row.Version, ECCLow); got != row.Chars {
			t.Errorf("version %d: %d chars, spec %d", row.Version, got, row.Chars)
		}
		if got := (qrAlnumCapacity(row.Version, ECCLow) - bbqrHeaderLen) / 2; got != row.Payload {
			t.Errorf("version %d: %d payload bytes, spec %d", row.Version, got, row.Payload)
		}
	}
}

// TestBBQrSpecRealScan decodes the spec repository's real scanned series:
// zlib (wbits=10) compressed Unicode text, parts out of order and repeated.
func TestBBQrSpecRealScan(t *testing.T) {
	v := loadBBQrVectors(t).RealScan
	lines := readLines(t, "testdata/"+v.File)
	// Replay it like a scanner looping: out of order, with duplicates.
	feed := append(append([]string{}, lines...), lines[2], lines[0], strings.ToLower(lines[5]))
	d := NewBBQrDecoder()
	for i, l := range feed {
		if err := d.Receive(l); err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if got, total := d.Progress(); total != 8 || got > 8 {
			t.Fatalf("progress %d/%d", got, total)
		}
	}
	ft, data, err := d.Result()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if string(ft) != v.FileType || len(data) != v.Length || hex.EncodeToString(sum[:]) != v.SHA256 {
		t.Fatalf("got type %c, %d bytes, sha256 %x", ft, len(data), sum)
	}
	for _, s := range v.Contains {
		if !bytes.Contains(data, []byte(s)) {
			t.Errorf("payload lacks %q", s)
		}
	}
	// The real series is also a wbits=10 stream by construction; our
	// window-checking inflater agrees with compress/flate on it.
	var raw []byte
	parts := make([]string, 8)
	for _, l := range lines {
		parts[l[7]-'0'] = l[8:]
	}
	for _, p := range parts {
		b, err := bbqrBase32.DecodeString(p)
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, b...)
	}
	out, maxDist, err := inflateWindow(raw, 1024)
	if err != nil || !bytes.Equal(out, data) {
		t.Fatalf("window inflate: %v", err)
	}
	t.Logf("real scan: %d parts, %d compressed -> %d bytes, longest distance %d", len(lines), len(raw), len(data), maxDist)
}

// TestBBQrSpecHeaderExample decodes the spec's example header layout:
// B$HP03xx with 2000+2000+300 hex digits for a 2150-byte PSBT.
func TestBBQrSpecHeaderExample(t *testing.T) {
	psbt := append([]byte(psbtMagic), randomBytes(rand.New(rand.NewPCG(1, 2)), 2150-5)...)
	h := strings.ToUpper(hex.EncodeToString(psbt))
	parts := []string{"B$HP0302" + h[4000:], "B$HP0300" + h[:2000], "B$HP0301" + h[2000:4000]}
	if len(parts[1]) != 2008 {
		t.Fatalf("part length %d", len(parts[1]))
	}
	ft, got, err := DecodeBBQr(parts)
	if err != nil || ft != BBQrPSBT || !bytes.Equal(got, psbt) {
		t.Fatalf("decode: %c %v", ft, err)
	}
	// Our splitter at version 27 needs the same 3 parts, evened out.
	enc, err := EncodeBBQr(psbt, BBQrPSBT, BBQrOptions{Encoding: BBQrHex, MinVersion: 27, MaxVersion: 27})
	if err != nil {
		t.Fatal(err)
	}
	if len(enc) != 3 || !strings.HasPrefix(enc[0], "B$HP0300") || len(enc[0]) > qrAlnumCapacity(27, ECCLow) {
		t.Fatalf("split: %d parts, first %.8s (%d chars)", len(enc), enc[0], len(enc[0]))
	}
}

// TestBBQrSpecEdge27 follows the reference test_edge27: at version 27 and
// at most two parts, H needs 2 parts past 1062 bytes while 2 and Z fit one.
func TestBBQrSpecEdge27(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, lowEnt := range []bool{true, false} {
		for size := 1060; size < 1080; size++ {
			data := bytes.Repeat([]byte("A"), size)
			if !lowEnt {
				data = randomBytes(r, size)
			}
			for _, enc := range []byte{BBQrHex, BBQrBase32, BBQrZlib} {
				parts, err := EncodeBBQr(data, BBQrTransaction, BBQrOptions{Encoding: enc, MaxSplit: 2, MinVersion: 27, MaxVersion: 27})
				if err != nil {
					t.Fatalf("size %d enc %c: %v", size, enc, err)
				}
				want := 1
				if enc == BBQrHex && size > 1062 {
					want = 2
				}
				if len(parts) != want {
					t.Errorf("size %d enc %c: %d parts, want %d", size, enc, len(parts), want)
				}
				if enc == BBQrZlib && lowEnt && len(parts[0]) >= 100 {
					t.Errorf("size %d: low-entropy Z part is %d chars", size, len(parts[0]))
				}
				if _, got, err := DecodeBBQr(parts); err != nil || !bytes.Equal(got, data) {
					t.Fatalf("size %d enc %c: round trip: %v", size, enc, err)
				}
			}
		}
	}
}

// TestBBQrSpecMaxSize builds the largest series the spec allows (1295
// version-40 parts) for H and 2, matching the spec's maximum file sizes.
func TestBBQrSpecMaxSize(t *testing.T) {
	if testing.Short() {
		t.Skip("large")
	}
	v := loadBBQrVectors(t)
	r := rand.New(rand.NewPCG(5, 6))
	for _, enc := range []byte{BBQrHex, BBQrBase32} {
		nc := 4296 - 8
		pkt := nc / 2
		if enc == BBQrBase32 {
			pkt = nc * 5 / 8
		}
		data := randomBytes(r, pkt*bbqrMaxParts)
		if want := v.MaxFileSize[string(enc)]; len(data) != want {
			t.Errorf("%c: max size %d, spec %d", enc, len(data), want)
		}
		parts, err := EncodeBBQr(data, BBQrTransaction, BBQrOptions{Encoding: enc, MinVersion: 40, MaxVersion: 40})
		if err != nil {
			t.Fatal(err)
		}
		if len(parts) != bbqrMaxParts || len(parts[0]) != 4296 {
			t.Fatalf("%c: %d parts of %d chars", enc, len(parts), len(parts[0]))
		}
		if _, got, err := DecodeBBQr(parts); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%c: round trip: %v", enc, err)
		}
		if _, err := EncodeBBQr(append(data, 0), BBQrTransaction, BBQrOptions{Encoding: enc, MinVersion: 40, MaxVersion: 40}); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%c: one byte over the maximum: %v", enc, err)
		}
	}
}

func TestBBQrLoopback(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	sizes := []int{1, 10, 100, 1000, 2000, 10_000, 50_000}
	for i := 4000; i < 5500; i += 111 {
		sizes = append(sizes, i)
	}
	for _, size := range sizes {
		for _, lowEnt := range []bool{true, false} {
			data := bytes.Repeat([]byte("A"), size)
			if !lowEnt {
				data = randomBytes(r, size)
			}
			for _, enc := range []byte{0, BBQrHex, BBQrBase32, BBQrZlib} {
				for _, maxV := range []int{11, 29, 40} {
					parts, err := EncodeBBQr(data, BBQrPSBT, BBQrOptions{Encoding: enc, MaxVersion: maxV})
					if err != nil {
						t.Fatalf("size %d enc %q v%d: %v", size, enc, maxV, err)
					}
					checkBBQrParts(t, parts, maxV)
					r.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
					ft, got, err := DecodeBBQr(parts)
					if err != nil || ft != BBQrPSBT || !bytes.Equal(got, data) {
						t.Fatalf("size %d enc %q v%d: round trip: %v", size, enc, maxV, err)
					}
				}
			}
		}
	}
}

// checkBBQrParts asserts the spec's shape rules: common 6-char header,
// indexes in order, equal lengths but for the last (not longer), whole
// bytes per part, alphanumeric-only characters, fits the QR version.
func checkBBQrParts(t *testing.T, parts []string, maxVersion int) {
	t.Helper()
	n, _ := parseBase36(parts[0][4:6])
	if n != len(parts) {
		t.Fatalf("header says %d parts, have %d", n, len(parts))
	}
	for i, p := range parts {
		if p[:6] != parts[0][:6] || p[6:8] != base36(i) {
			t.Fatalf("part %d header %.8s", i, p)
		}
		if len(p) > qrAlnumCapacity(maxVersion, ECCLow) {
			t.Fatalf("part %d: %d chars exceed version %d", i, len(p), maxVersion)
		}
		if i < len(parts)-1 && len(p) != len(parts[0]) || len(p) > len(parts[0]) {
			t.Fatalf("part %d: length %d vs %d", i, len(p), len(parts[0]))
		}
		if err := checkBBQrBody(p[2], p[8:]); err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if i < len(parts)-1 && (p[2] != BBQrHex && len(p[8:])%8 != 0) {
			t.Fatalf("part %d: base32 length %d", i, len(p[8:]))
		}
		for _, c := range p {
			if !strings.ContainsRune("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", c) {
				t.Fatalf("part %d: non-alphanumeric %q", i, c)
			}
		}
	}
}

func TestBBQrRejects(t *testing.T) {
	data := fakePSBT(rand.New(rand.NewPCG(9, 10)), 3, 2)
	parts, err := EncodeBBQr(data, BBQrPSBT, BBQrOptions{Encoding: BBQrBase32, MaxVersion: 6})
	if err != nil || len(parts) < 3 {
		t.Fatalf("%d parts, %v", len(parts), err)
	}
	other, _ := EncodeBBQr(data, BBQrTransaction, BBQrOptions{Encoding: BBQrBase32, MaxVersion: 6})
	d := NewBBQrDecoder()
	if err := d.Receive(parts[0]); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		part string
		want error
	}{
		"other type":     {other[1], ErrMismatch},
		"conflict":       {parts[0][:len(parts[0])-2] + "AA", ErrMismatch},
		"no header":      {"X$2P0300ABCDEFGH", nil},
		"bad encoding":   {"B$QP0300ABCD", nil},
		"bad type":       {"B$2Q0300ABCD", nil},
		"index >= count": {parts[0][:6] + base36(len(parts)) + "AAAAAAAA", nil},
		"bad base32":     {parts[0][:8] + "AAAAAAA1", nil},
		"partial byte":   {parts[0][:8] + "AAA", nil},
		"too long":       {parts[0][:8] + strings.Repeat("A", 9000), ErrTooLarge},
		"odd hex":        {"B$HP0100ABC", nil},
		"zero parts":     {"B$2P0000AAAAAAAA", nil},
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
	for _, p := range parts[1:] {
		if err := d.Receive(p); err != nil {
			t.Fatal(err)
		}
	}
	if _, got, err := d.Result(); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("after rejects: %v", err)
	}
}

// TestBBQrZipBomb checks the decompressed-size cap.
func TestBBQrZipBomb(t *testing.T) {
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, 9)
	zero := make([]byte, 1<<20)
	for range MaxPayloadSize/len(zero) + 1 {
		w.Write(zero)
	}
	w.Close()
	enc := bbqrBase32.EncodeToString(z.Bytes())
	var parts []string
	n := (len(enc) + 4287) / 4288
	for i := range n {
		parts = append(parts, "B$ZB"+base36(n)+base36(i)+enc[i*4288:min(len(enc), (i+1)*4288)])
	}
	_, _, err := DecodeBBQr(parts)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v", err)
	}
}

// TestDeflateWindow round-trips the Z compressor (klauspost's flate with
// a 1 KiB window) through compress/flate and through the window-checking
// inflater, which refuses any reference past 1 KiB, on PSBT-like, text,
// random and degenerate inputs, and compares the size with
// compress/flate's 32 KiB window (an upper bound on what a 1 KiB window
// can achieve).
func TestDeflateWindow(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	spec, _ := os.ReadFile("testdata/bbqr-real-scan.txt")
	inputs := map[string][]byte{
		"empty":       {},
		"one":         {42},
		"zeros":       make([]byte, 100_000),
		"random":      randomBytes(r, 50_000),
		"psbt-2x2":    fakePSBT(r, 2, 2),
		"psbt-10x10":  fakePSBT(r, 10, 10),
		"psbt-100x3":  fakePSBT(r, 100, 3),
		"text":        spec,
		"period-700":  bytes.Repeat(randomBytes(r, 700), 50),
		"period-900":  bytes.Repeat(randomBytes(r, 900), 50),
		"period-1024": bytes.Repeat(randomBytes(r, 1024), 50), // at the window's edge
		"period-1025": bytes.Repeat(randomBytes(r, 1025), 50), // just past it
		"alphabet":    []byte(strings.Repeat("abcdefghijklmnopqrstuvwxyz", 5000)),
	}
	for name, in := range inputs {
		z := deflateRaw(in)
		out, err := io.ReadAll(flate.NewReader(bytes.NewReader(z)))
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("%s: compress/flate round trip: %v", name, err)
		}
		out, maxDist, err := inflateWindow(z, 1024)
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("%s: window-10 inflate: %v", name, err)
		}
		if maxDist > bbqrWindow {
			t.Fatalf("%s: distance %d > %d", name, maxDist, bbqrWindow)
		}
		var ref bytes.Buffer
		fw, _ := flate.NewWriter(&ref, flate.BestCompression)
		fw.Write(in)
		fw.Close()
		t.Logf("%-10s %7d -> %7d bytes (compress/flate, 32 KiB window: %7d), longest distance %d", name, len(in), len(z), ref.Len(), maxDist)
	}
}

func ExampleEncodeBBQr() {
	parts, err := EncodeBBQr([]byte("hello, air gap"), BBQrText, BBQrOptions{Encoding: BBQrHex})
	if err != nil {
		panic(err)
	}
	fmt.Println(parts)
	ft, data, _ := DecodeBBQr(parts)
	fmt.Printf("%c %s\n", ft, data)
	// Output:
	// [B$HU010068656C6C6F2C2061697220676170]
	// U hello, air gap
}
