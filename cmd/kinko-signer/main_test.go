package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	os.Exit(testscript.RunMain(m, map[string]func() int{"kinko-signer": Main}))
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata/script"})
}

// The signer runs on an air-gapped machine: it must not link any
// networking or process-spawning package.
func TestLinksNoNetworking(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		switch pkg {
		case "net", "net/http", "net/rpc", "os/exec", "crypto/tls", "net/netip":
			t.Errorf("kinko-signer links %s", pkg)
		}
	}
}

// Two builds with -trimpath give the same bytes, so anyone can check the
// binary on a signer against the source.
func TestReproducibleBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the signer twice")
	}
	var bins [][]byte
	for i := 0; i < 2; i++ {
		out := filepath.Join(t.TempDir(), "kinko-signer")
		cmd := exec.Command("go", "build", "-trimpath", "-o", out, ".")
		// A separate build cache for the second build, so it is really
		// built again rather than copied.
		if i == 1 {
			cmd.Env = append(os.Environ(), "GOCACHE="+t.TempDir())
		}
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %d: %v\n%s", i, err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		bins = append(bins, b)
	}
	if !bytes.Equal(bins[0], bins[1]) {
		t.Fatal("two -trimpath builds of kinko-signer differ")
	}
}
