package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kinko-project/kinko/airgap"
)

// TestReadPSBTBase43: Electrum's base43 QR text is read as a PSBT from a
// file and from standard input, as a scanner in keyboard mode types it.
func TestReadPSBTBase43(t *testing.T) {
	p := []byte("psbt\xff\x01\x00\x00")
	text := airgap.EncodeBase43(p) + "\n"
	file := filepath.Join(t.TempDir(), "qr.txt")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path  string
		stdin string
	}{{file, ""}, {"-", text}} {
		got, err := ReadPSBT(c.path, strings.NewReader(c.stdin), new(bytes.Buffer))
		if err != nil || !bytes.Equal(got, p) {
			t.Errorf("ReadPSBT(%s) = %x, %v; want %x", c.path, got, err, p)
		}
	}
}
