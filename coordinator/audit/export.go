package audit

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Format is an export format.
type Format string

// Export formats.
const (
	JSONL Format = "jsonl" // one JSON object a line
	CSV   Format = "csv"   // RFC 4180, with a header row, safe to open in a spreadsheet
)

// ParseFormat reads an export format by name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case JSONL, CSV:
		return f, nil
	}
	return "", fmt.Errorf("export format %q: want jsonl or csv", s)
}

// Columns are the fields of an exported entry, in CSV column order.
var Columns = []string{"seq", "time", "kind", "subject", "detail", "prev", "hash"}

// record is an entry as exported in JSON Lines.
type record struct {
	Seq     int64  `json:"seq"`
	Time    string `json:"time"`
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	Detail  string `json:"detail"`
	Prev    string `json:"prev"`
	Hash    string `json:"hash"`
}

// Export writes the entries of the audit log in db whose time is at or
// after since (the zero time: all), in seq order, and returns how many it
// wrote. Each has seq, time, kind, subject, detail, prev and hash, the
// last two in hex, the fields as stored, so the chain can be checked from
// the export with the encoding in the package documentation.
//
// JSONL writes one object a line; detail is the stored JSON text as a
// JSON string, exactly the bytes the hash covers (with jq: .detail |
// fromjson). CSV writes a header row and one row an entry; a cell that
// begins with '=', '+', '-' or '@' gets a leading "'" so that no
// spreadsheet runs it as a formula, and control characters (tab and
// carriage return among them), which Append never stores, are written as
// \uXXXX. Export does not verify the chain: run [Verify] for that.
func Export(ctx context.Context, db Queryer, w io.Writer, since time.Time, format Format) (int, error) {
	if format != JSONL && format != CSV {
		return 0, fmt.Errorf("export format %q: want jsonl or csv", format)
	}
	from := ""
	if !since.IsZero() {
		from = since.UTC().Format(TimeLayout)
	}
	rows, err := db.QueryContext(ctx, `SELECT seq, time, kind, subject, detail, prev, hash FROM audit_log WHERE time >= ? ORDER BY seq`, from)
	if err != nil {
		return 0, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	bw := bufio.NewWriter(w)
	var cw *csv.Writer
	if format == CSV {
		cw = csv.NewWriter(bw)
		if err := cw.Write(Columns); err != nil {
			return 0, err
		}
	}
	n := 0
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.seq, &r.tm, &r.kind, &r.subject, &r.detail, &r.prev, &r.sum); err != nil {
			return n, fmt.Errorf("read audit log: %w", err)
		}
		if cw != nil {
			err = cw.Write([]string{strconv.FormatInt(r.seq, 10), cell(r.tm), cell(r.kind), cell(r.subject), cell(r.detail),
				hex.EncodeToString(r.prev), hex.EncodeToString(r.sum)})
		} else {
			err = writeJSONL(bw, &r)
		}
		if err != nil {
			return n, fmt.Errorf("write audit entry %d: %w", r.seq, err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("read audit log: %w", err)
	}
	if cw != nil {
		if cw.Flush(); cw.Error() != nil {
			return n, cw.Error()
		}
	}
	return n, bw.Flush()
}

func writeJSONL(w io.Writer, r *row) error {
	rec := record{Seq: r.seq, Time: string(r.tm), Kind: string(r.kind), Subject: string(r.subject),
		Detail: string(r.detail), Prev: hex.EncodeToString(r.prev), Hash: hex.EncodeToString(r.sum)}
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	line = append(escapeControls(line), '\n')
	_, err = w.Write(line)
	return err
}

// cell makes a text field safe for a spreadsheet: no formula, no control
// character.
func cell(b []byte) string {
	s := string(b)
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		var sb strings.Builder
		for _, r := range s {
			if unicode.IsControl(r) {
				fmt.Fprintf(&sb, `\u%04x`, r)
			} else {
				sb.WriteRune(r)
			}
		}
		s = sb.String()
	}
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		s = "'" + s
	}
	return s
}

// SpreadsheetCell makes a text field safe for a spreadsheet, as Export's
// CSV does: a leading '=', '+', '-' or '@' gets a "'" before it, control
// characters are written as \uXXXX.
func SpreadsheetCell(s string) string { return cell([]byte(s)) }
