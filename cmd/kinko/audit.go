package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/coordinator/audit"
	"github.com/kinko-project/kinko/internal/cli"
)

func (e *env) audit(args []string) error {
	if len(args) == 0 {
		return cli.Usagef("audit: want verify or export")
	}
	switch args[0] {
	case "verify":
		return e.auditVerify(args[1:])
	case "export":
		return e.auditExport(args[1:])
	}
	return cli.Usagef("audit: unknown command %q", args[0])
}

func (e *env) auditVerify(args []string) error {
	fs := e.flags("audit verify")
	headFlag := fs.String("head", "", "SEQ:HASH, a head printed by an earlier verify, that the log must still hold")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return cli.Usagef("audit verify: takes no arguments, got %q", pos[0])
	}
	var recorded *audit.Head
	if *headFlag != "" {
		h, err := audit.ParseHead(*headFlag)
		if err != nil {
			return cli.WithHint(cli.ExitUsage, fmt.Errorf("--head: %w", err), "give the head as 'kinko audit verify' printed it")
		}
		recorded = &h
	}
	c, err := e.readStore()
	if err != nil {
		return err
	}
	head, err := c.VerifyAudit(context.Background(), recorded)
	var ce *audit.ChainError
	if errors.As(err, &ce) {
		return cli.WithHint(cli.ExitRefused, err, fmt.Sprintf(
			"the log was changed after it was written; the %d entries before entry %d verify (head %s): compare the database with a backup or an earlier export", head.Seq, ce.Seq, head))
	}
	if err != nil {
		return err
	}
	if recorded != nil {
		fmt.Fprintf(e.stderr, "audit log verified: %d entries, and it still holds the recorded head %d\n", head.Seq, recorded.Seq)
	} else {
		fmt.Fprintf(e.stderr, "audit log verified: %d entries; keep the head elsewhere and check it later with --head\n", head.Seq)
	}
	fmt.Fprintln(e.stdout, head)
	return nil
}

func (e *env) auditExport(args []string) error {
	fs := e.flags("audit export")
	sinceFlag := fs.String("since", "", "only entries from DATE on: 2006-01-02 (UTC) or RFC 3339")
	formatFlag := fs.String("format", "jsonl", "jsonl or csv")
	out := fs.String("o", "-", "where to write (- for stdout); an existing file is not overwritten")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return cli.Usagef("audit export: takes no arguments, got %q", pos[0])
	}
	var since time.Time
	if *sinceFlag != "" {
		if since, err = parseDate(*sinceFlag); err != nil {
			return cli.WithHint(cli.ExitUsage, err, "")
		}
	}
	format, err := audit.ParseFormat(*formatFlag)
	if err != nil {
		return cli.WithHint(cli.ExitUsage, fmt.Errorf("--format: %w", err), "")
	}
	c, err := e.readStore()
	if err != nil {
		return err
	}
	n, err := exportTo(*out, e.stdout, func(w io.Writer) (int, error) {
		return c.ExportAudit(context.Background(), w, since, format)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "exported %d audit entries (run 'kinko audit verify' to check the chain)\n", n)
	return nil
}

// parseDate reads DATE as 2006-01-02 (midnight UTC) or RFC 3339.
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want a date as 2006-01-02 or RFC 3339 (2006-01-02T15:04:05Z)", s)
}

// exportTo runs write on stdout for "-", or on a new file at path, 0600
// (an export may hold the wallets' xpubs), removed again if write fails.
func exportTo(path string, stdout io.Writer, write func(io.Writer) (int, error)) (int, error) {
	if path == "-" {
		return write(stdout)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return 0, cli.WithHint(cli.ExitError, fmt.Errorf("%s exists", path), "choose another name, or remove it first")
	}
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriter(f)
	n, err := write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return 0, err
	}
	return n, nil
}

// recordPSBTWritten records in the audit log that session id's PSBT
// left the coordinator, where to (a file, "-" for stdout, or "qr") and
// how (its encoding, or the QR mode and format).
func recordPSBTWritten(c *coordinator.Coordinator, id, where, how string, data []byte) error {
	if where == "-" {
		where = "stdout"
	}
	sum := sha256.Sum256(data)
	err := c.RecordAudit(context.Background(), audit.PSBTWritten, id, struct {
		Where  string `json:"where"`
		How    string `json:"how"`
		SHA256 string `json:"psbt_sha256"`
	}{where, how, hex.EncodeToString(sum[:])})
	if err != nil {
		return fmt.Errorf("the PSBT was written, but not recorded in the audit log: %w", err)
	}
	return nil
}

func psbtEncoding(b64 bool) string {
	if b64 {
		return "base64"
	}
	return "binary"
}
