package airgap

import (
	"bytes"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// Fuzz targets: no input may panic the decoders, and whatever decodes
// successfully must re-encode to a stream that decodes to the same payload.

func FuzzURDecoder(f *testing.F) {
	v := loadVectors(f)
	f.Add(v.SinglePartUR.UR)
	f.Add(v.CryptoPSBT.UR)
	f.Add(strings.Join(v.UREncoder.Parts, "\n"))
	f.Add(strings.Join(v.UREncoder.Parts[3:12], "\n"))
	f.Add("ur:bytes/1-65536/lpadcsdaotcfaxcytbcxcy")
	f.Add("UR:CRYPTO-PSBT/1-2/LPADAOCFADAXCYWENBPLJKHDCAHKAD")
	f.Fuzz(func(t *testing.T, in string) {
		d := NewURDecoder()
		for _, line := range strings.Split(in, "\n") {
			d.Receive(line)
			_ = d.Progress()
		}
		if !d.Done() {
			return
		}
		typ, cbor, err := d.Result()
		if err != nil {
			return
		}
		enc, err := NewUREncoder(typ, cbor, 50, 10)
		if err != nil {
			t.Fatalf("decoded %s body does not re-encode: %v", typ, err)
		}
		typ2, cbor2, _ := decodeURParts(t, enc.NextPart, enc.SeqLen())
		if typ2 != typ || !bytes.Equal(cbor2, cbor) {
			t.Fatalf("re-encoding changed the payload")
		}
		if typ == URTypeCryptoPSBT || typ == URTypePSBT {
			if psbt, err := DecodePSBTUR(typ, cbor); err == nil {
				if _, err := EncodePSBTUR(psbt); err != nil {
					t.Fatalf("decoded psbt does not re-encode: %v", err)
				}
			}
		}
	})
}

func FuzzBBQrDecoder(f *testing.F) {
	for _, l := range readLines(f, "testdata/bbqr-real-scan.txt")[:2] {
		f.Add(l)
	}
	f.Add("B$HU010068656C6C6F2C2061697220676170")
	f.Add("B$2P0200AAAAAAAA\nB$2P0201AAAA")
	f.Add("B$ZB0100" + bbqrBase32.EncodeToString(deflateRaw([]byte("hello hello hello hello"))))
	f.Add("B$ZZZZ00")
	f.Fuzz(func(t *testing.T, in string) {
		d := NewBBQrDecoder()
		for _, line := range strings.Split(in, "\n") {
			d.Receive(line)
			_, _ = d.Progress()
		}
		if !d.Done() {
			return
		}
		ft, data, err := d.Result()
		if err != nil {
			return
		}
		for _, enc := range []byte{0, BBQrHex} {
			parts, err := EncodeBBQr(data, ft, BBQrOptions{Encoding: enc, MaxVersion: 40})
			if err != nil {
				t.Fatalf("decoded payload does not re-encode: %v", err)
			}
			ft2, data2, err := DecodeBBQr(parts)
			if err != nil || ft2 != ft || !bytes.Equal(data2, data) {
				t.Fatalf("re-encoding changed the payload: %v", err)
			}
		}
	})
}

func FuzzDecodeBytes(f *testing.F) {
	r := rand.New(rand.NewPCG(61, 62))
	psbt := fakePSBT(r, 1, 1)
	f.Add(psbt)
	f.Add([]byte("cHNidP8BAA=="))
	f.Add([]byte("70736274ff0100"))
	f.Add([]byte(loadVectors(f).CryptoPSBT.UR))
	f.Add([]byte("B$HP01007073627446F0"))
	scan, _ := os.ReadFile("testdata/bbqr-real-scan.txt")
	f.Add(scan)
	f.Fuzz(func(t *testing.T, in []byte) {
		kind, payload, err := DecodeBytes(in)
		if err != nil {
			return
		}
		var again []byte
		switch {
		case kind == KindPSBT:
			enc, err := EncodePSBTUR(payload)
			if err != nil {
				t.Fatalf("psbt does not re-encode as UR: %v", err)
			}
			_, again, err = DecodeBytes([]byte(strings.Join(enc.Parts(enc.SeqLen()), "\n")))
			if err != nil {
				t.Fatalf("UR re-encoding does not decode: %v", err)
			}
			parts, err := EncodeBBQr(payload, BBQrPSBT, BBQrOptions{MaxVersion: 40})
			if err != nil {
				t.Fatalf("psbt does not re-encode as BBQr: %v", err)
			}
			if _, p2, err := DecodeBytes([]byte(strings.Join(parts, "\n"))); err != nil || !bytes.Equal(p2, payload) {
				t.Fatalf("BBQr re-encoding: %v", err)
			}
		case strings.HasPrefix(kind, "ur:"):
			enc, err := NewUREncoder(kind[3:], payload, 0, 0)
			if err != nil {
				t.Fatalf("%s does not re-encode: %v", kind, err)
			}
			_, again, err = DecodeBytes([]byte(strings.Join(enc.Parts(enc.SeqLen()), "\n")))
			if err != nil {
				t.Fatalf("UR re-encoding does not decode: %v", err)
			}
		default:
			ft := map[string]byte{KindTransaction: BBQrTransaction, KindJSON: BBQrJSON, KindCBOR: BBQrCBOR,
				KindText: BBQrText, KindBinary: BBQrBinary, KindExecutable: BBQrExecutable}[kind]
			if ft == 0 {
				t.Fatalf("unexpected kind %q", kind)
			}
			parts, err := EncodeBBQr(payload, ft, BBQrOptions{MaxVersion: 40})
			if err != nil {
				t.Fatalf("%s does not re-encode: %v", kind, err)
			}
			_, again, err = DecodeBytes([]byte(strings.Join(parts, "\n")))
			if err != nil {
				t.Fatalf("BBQr re-encoding does not decode: %v", err)
			}
		}
		if !bytes.Equal(again, payload) {
			t.Fatalf("re-encoding changed the %s payload", kind)
		}
	})
}

// FuzzDeflateWindow: whatever the input, the Z compressor's output
// inflates back to it through the 1 KiB-window inflater.
func FuzzDeflateWindow(f *testing.F) {
	f.Add([]byte("hello hello hello hello"))
	f.Add(bytes.Repeat([]byte("0123456789abcdef"), 200))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, maxDist, err := inflateWindow(deflateRaw(b), bbqrWindow)
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("window inflate: %v", err)
		}
		if maxDist > bbqrWindow {
			t.Fatalf("distance %d", maxDist)
		}
	})
}
