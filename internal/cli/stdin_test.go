package cli

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// endless yields the same line forever.
type endless struct {
	line string
	off  int
	n    int64 // bytes handed out
}

func (e *endless) Read(p []byte) (int, error) {
	k := 0
	for k < len(p) {
		c := copy(p[k:], e.line[e.off:])
		k += c
		e.off = (e.off + c) % len(e.line)
	}
	e.n += int64(k)
	return k, nil
}

// Part strings streamed on stdin are not read forever: an endless stream
// of lines that are not parts stops after MaxRejectedParts of them, and
// one of valid-looking but never-completing parts stops at MaxInput
// bytes; both are refusals (exit 3).
func TestStdinPartsBounded(t *testing.T) {
	bad := &endless{line: "ur:crypto-psbt/1-3/not-bytewords\n"}
	_, err := ReadPSBT("-", bad, io.Discard)
	var ce *Error
	if err == nil || !errors.As(err, &ce) || ce.Code != ExitRefused || !strings.Contains(err.Error(), "lines in a row are not parts") {
		t.Fatalf("endless bad lines: %v", err)
	}
	if bad.n > 1<<20 {
		t.Errorf("read %d bytes before giving up on bad lines", bad.n)
	}
	// One real part of a two-part message, over and over: each is
	// accepted (a repeat), and the message never completes.
	q := QROut{Format: "ur", Fragment: 100}
	ps, err := q.Parts(PSBTMessage(make([]byte, 1000)))
	if err != nil || len(ps) < 2 {
		t.Fatalf("%d parts: %v", len(ps), err)
	}
	same := &endless{line: ps[0] + "\n"}
	_, err = ReadPSBT("-", same, io.Discard)
	if err == nil || !errors.As(err, &ce) || ce.Code != ExitRefused || !strings.Contains(err.Error(), "bytes of part strings and the message is not complete") {
		t.Fatalf("an endless stream of one part: %v", err)
	}
	if same.n > MaxInput+(1<<20) {
		t.Errorf("read %d bytes, more than the cap", same.n)
	}
}
