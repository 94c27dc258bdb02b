package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kinko-project/kinko/internal/cli"
)

// Every numeric flag refuses what is not a finite number in range, with
// exit 2, before anything else happens: the node configured here does not
// exist, so dialling it would give exit 5 instead, and no file is made.
// Before this test, "--feerate nan" built a PSBT whose change went to
// fees (or overflowed into billions of BTC).
func TestNumericFlagsRefused(t *testing.T) {
	bad := []string{"nan", "NaN", "inf", "+Inf", "-inf", "1e308", "-1", "-5"}
	cases := []struct {
		flag string
		args func(dir, v string) []string
	}{
		{"feerate", func(dir, v string) []string {
			return []string{"spend", "vault", "--to", "bcrt1qgfpyysjzgfpyysjzgfpyysjzgfpyysjzuyhhvw:0.1", "--feerate", v, "-o", filepath.Join(dir, "x.psbt")}
		}},
		{"birthday", func(dir, v string) []string {
			return []string{"wallet", "create", "vault", "--threshold", "1", "--network", "regtest", "--birthday", v,
				"--key", "[73c5da0a/48h/1h/0h/2h]tpubDFH9dgzveyD8zTbPUFuLrGmCydNvxehyNdUXKJAQN8x4aZ4j6UZqGfnqFrD4NqyaTVGKbvEW54tsvPTK2UoSbCC1PJY8iCNiwTL3RWZEheQ"}
		}},
		{"fps", func(dir, v string) []string {
			return []string{"qr", "encode", "--fps", v, "--gif", filepath.Join(dir, "x.gif"), filepath.Join(dir, "in.txt")}
		}},
		{"fps", func(dir, v string) []string {
			return []string{"wallet", "descriptor", "vault", "--qr", "gif:" + filepath.Join(dir, "x.gif"), "--fps", v}
		}},
	}
	for _, c := range cases {
		for _, v := range bad {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "in.txt"), []byte("hello"), 0o600); err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			e := &env{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &stderr}
			args := append(c.args(dir, v), "--datadir", filepath.Join(dir, "data"), "--rpc-host", "127.0.0.1:1", "--rpc-user", "u")
			code := cli.Report(&stderr, "kinko", e.run(args))
			if code != cli.ExitUsage {
				t.Errorf("--%s %s: exit %d, want %d; stderr:\n%s", c.flag, v, code, cli.ExitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), "-"+c.flag) {
				t.Errorf("--%s %s: the error does not name the flag:\n%s", c.flag, v, stderr.String())
			}
			for _, f := range []string{"x.psbt", "x.gif", "data/kinko.db"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
					t.Errorf("--%s %s: %s was made", c.flag, v, f)
				}
			}
		}
	}
}
