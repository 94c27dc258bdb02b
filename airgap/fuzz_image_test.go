package airgap

import (
	"bytes"
	"os"
	"testing"
)

// FuzzScanImage feeds arbitrary bytes to the image and QR decoders: they
// must never panic, and what they read back must be text.
func FuzzScanImage(f *testing.F) {
	paths, err := RenderPNGs([]string{"ur:bytes/hdcxdwkesnfrks", "B$2U0100ONXW2ZLU"}, f.TempDir(), QROptions{ModuleSize: 2})
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	var gif bytes.Buffer
	if err := RenderGIF([]string{"one", "two"}, &gif, QROptions{ModuleSize: 2}); err != nil {
		f.Fatal(err)
	}
	f.Add(gif.Bytes())
	f.Add([]byte("\xff\xd8\xff\xe0garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		texts, err := ScanImage(bytes.NewReader(b))
		if err != nil {
			return
		}
		if len(texts) == 0 {
			t.Fatal("no error and no QR code")
		}
	})
}
