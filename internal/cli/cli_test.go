package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	cases := []struct {
		err  error
		code int
		out  string
	}{
		{nil, ExitOK, ""},
		{errors.New("boom"), ExitError, "kinko: error: boom\n"},
		{Usagef("bad flag %q", "-x"), ExitUsage, "kinko: error: bad flag \"-x\"\n"},
		{fmt.Errorf("wrapped: %w", WithHint(ExitRefused, errors.New("no"), "nothing was signed")), ExitRefused,
			"kinko: error: wrapped: no\nkinko: hint: nothing was signed\n"},
		{WithHint(ExitDeclined, ErrDeclined, ""), ExitDeclined, "kinko: error: declined\n"},
		{WithHint(ExitNode, errors.New("down"), "start it"), ExitNode, "kinko: error: down\nkinko: hint: start it\n"},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		if code := Report(&buf, "kinko", c.err); code != c.code || buf.String() != c.out {
			t.Errorf("Report(%v) = %d %q, want %d %q", c.err, code, buf.String(), c.code, c.out)
		}
	}
}

func TestParseInterspersed(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	n := fs.Int("n", 0, "")
	var keys Strings
	fs.Var(&keys, "key", "")
	pos, err := Parse(fs, []string{"NAME", "--n", "3", "--key", "a", "B", "--key=b", "--", "--not-a-flag"})
	if err != nil {
		t.Fatal(err)
	}
	if *n != 3 || strings.Join(keys, ",") != "a,b" || strings.Join(pos, " ") != "NAME B --not-a-flag" {
		t.Errorf("n=%d keys=%v pos=%v", *n, keys, pos)
	}
	var e *Error
	if _, err := Parse(fs, []string{"--nope"}); !errors.As(err, &e) || e.Code != ExitUsage {
		t.Errorf("unknown flag: %v", err)
	}
}

func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pw")
	os.WriteFile(p, []byte("s3cret\nsecond line\n"), 0o600)
	var warn bytes.Buffer
	got, err := ReadSecretFile(p, &warn)
	if err != nil || got != "s3cret" || warn.Len() != 0 {
		t.Errorf("got %q %v, warning %q", got, err, warn.String())
	}
	os.Chmod(p, 0o644)
	if _, err := ReadSecretFile(p, &warn); err != nil || !strings.Contains(warn.String(), "readable by other users") {
		t.Errorf("world-readable file: %v, warning %q", err, warn.String())
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	if _, err := ReadSecretFile(empty, &warn); err == nil {
		t.Error("an empty secret was accepted")
	}
}

func TestReadInputCap(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	os.WriteFile(p, make([]byte, 101), 0o600)
	if _, err := ReadInput(p, nil, 100); err == nil {
		t.Error("a file over the cap was read")
	}
	if _, err := ReadInput("-", bytes.NewReader(make([]byte, 101)), 100); err == nil {
		t.Error("stdin over the cap was read")
	}
	if b, err := ReadInput("-", strings.NewReader("ok"), 100); err != nil || string(b) != "ok" {
		t.Errorf("stdin: %q %v", b, err)
	}
}

func TestWriteOutputNeverOverwrites(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out")
	if err := WriteOutput(p, []byte("one"), nil, true, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteOutput(p, []byte("two"), nil, true, false); err == nil {
		t.Error("an existing file was overwritten")
	}
	if b, _ := os.ReadFile(p); string(b) != "one" {
		t.Errorf("file holds %q", b)
	}
}

// A file written with WriteOutput is never seen partly written: it
// appears whole, so a crash leaves no empty or partial file.
func TestWriteOutputWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.psbt")
	data := bytes.Repeat([]byte("psbt"), 16<<20) // 64 MiB
	done := make(chan error)
	go func() { done <- WriteOutput(path, data, nil, true, false) }()
	var partial int64 = -1
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		default:
		}
		if fi, err := os.Stat(path); err == nil && fi.Size() != int64(len(data)) && partial < 0 {
			partial = fi.Size()
		}
	}
	if partial >= 0 {
		t.Fatalf("%s was seen with %d of %d bytes", path, partial, len(data))
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}
	// An existing file is kept, and no temporary file is left behind.
	if err := WriteOutput(path, []byte("other"), nil, true, false); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("overwrite without force: %v", err)
	}
	if err := WriteOutput(path, []byte("other"), nil, true, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "other" {
		t.Fatalf("forced write left %q", got)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("%d files in the directory, want 1", len(ents))
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
}

// TestQRFormatAuto checks what the default --qr-format sends: one UR
// code when the message fits one, BBQr for a larger PSBT, UR for a
// larger text or when a fragment size is given.
func TestQRFormatAuto(t *testing.T) {
	small := bytes.Repeat([]byte{0x42}, 100)
	large := make([]byte, 5000)
	for i := range large {
		large[i] = byte(i * 7919 >> 3)
	}
	cases := []struct {
		name     string
		q        QROut
		m        Message
		sent     string
		multiple bool
	}{
		{"small PSBT", QROut{}, PSBTMessage(small), "ur", false},
		{"large PSBT", QROut{}, PSBTMessage(large), "bbqr", true},
		{"large PSBT, auto named", QROut{Format: "auto"}, PSBTMessage(large), "bbqr", true},
		{"large PSBT with a fragment size", QROut{Fragment: 200}, PSBTMessage(large), "ur", true},
		{"large PSBT as ur", QROut{Format: "ur"}, PSBTMessage(large), "ur", true},
		{"large text", QROut{}, TextMessage(large), "ur", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parts, err := c.q.Parts(c.m)
			if err != nil {
				t.Fatal(err)
			}
			if c.q.Sent() != c.sent {
				t.Errorf("sent %q, want %q", c.q.Sent(), c.sent)
			}
			if (len(parts) > 1) != c.multiple {
				t.Errorf("%d parts", len(parts))
			}
			prefix := map[string]string{"ur": "UR:", "bbqr": "B$"}[c.sent]
			if !strings.HasPrefix(strings.ToUpper(parts[0]), prefix) {
				t.Errorf("part %.20q is not %s", parts[0], c.sent)
			}
		})
	}
}
