package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kinko-project/kinko/coordinator/audit"
)

// hostile subjects and details, as an outsider might get them into the
// log through a file name or a label.
var hostile = []string{"=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "plain"}

func fillHostile(t *testing.T) []*audit.Entry {
	db := newDB(t)
	var es []*audit.Entry
	for _, s := range hostile {
		es = append(es, appendOne(t, db, audit.PSBTWritten, s, map[string]string{"where": s, "nasty": "a\x1bb\u009bc\td,e\"f\ng"}))
	}
	exportDB = db
	return es
}

var exportDB audit.Queryer

func TestExportJSONL(t *testing.T) {
	es := fillHostile(t)
	var out bytes.Buffer
	n, err := audit.Export(context.Background(), exportDB, &out, time.Time{}, audit.JSONL)
	if err != nil || n != len(es) {
		t.Fatalf("Export: %d, %v", n, err)
	}
	if bytes.ContainsFunc(out.Bytes(), func(r rune) bool { return r < 0x20 && r != '\n' || r >= 0x7f && r <= 0x9f }) {
		t.Fatal("a control character in the export")
	}
	sc := bufio.NewScanner(&out)
	i := 0
	for sc.Scan() {
		var rec struct {
			Seq     int64  `json:"seq"`
			Time    string `json:"time"`
			Kind    string `json:"kind"`
			Subject string `json:"subject"`
			Detail  string `json:"detail"`
			Prev    string `json:"prev"`
			Hash    string `json:"hash"`
		}
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		e := es[i]
		if rec.Seq != e.Seq || rec.Time != e.Time || rec.Kind != string(e.Kind) || rec.Subject != e.Subject || rec.Detail != e.Detail ||
			rec.Prev != hex.EncodeToString(e.Prev[:]) || rec.Hash != hex.EncodeToString(e.Hash[:]) {
			t.Fatalf("line %d: %+v, want %+v", i+1, rec, e)
		}
		var detail map[string]string
		if err := json.Unmarshal([]byte(rec.Detail), &detail); err != nil || detail["where"] != hostile[i] {
			t.Fatalf("line %d: detail %s: %v", i+1, rec.Detail, err)
		}
		// The chain can be checked from the export alone.
		x := audit.Entry{Seq: rec.Seq, Time: rec.Time, Kind: audit.Kind(rec.Kind), Subject: rec.Subject, Detail: rec.Detail}
		hex.Decode(x.Prev[:], []byte(rec.Prev))
		if s := x.Sum(); hex.EncodeToString(s[:]) != rec.Hash {
			t.Fatalf("line %d: hash does not recompute from the export", i+1)
		}
		i++
	}
	if i != len(es) {
		t.Fatalf("%d lines, want %d", i, len(es))
	}
}

func TestExportCSV(t *testing.T) {
	es := fillHostile(t)
	var out bytes.Buffer
	if _, err := audit.Export(context.Background(), exportDB, &out, time.Time{}, audit.CSV); err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsFunc(out.Bytes(), func(r rune) bool { return r < 0x20 && r != '\n' || r >= 0x7f && r <= 0x9f }) {
		t.Fatal("a control character in the export")
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(es)+1 || strings.Join(recs[0], ",") != "seq,time,kind,subject,detail,prev,hash" {
		t.Fatalf("%d rows, header %q", len(recs), recs[0])
	}
	for i, r := range recs[1:] {
		e := es[i]
		if r[0] != strconv.FormatInt(e.Seq, 10) || r[1] != e.Time || r[2] != string(e.Kind) || r[6] != hex.EncodeToString(e.Hash[:]) || r[5] != hex.EncodeToString(e.Prev[:]) {
			t.Fatalf("row %d: %q", i+1, r)
		}
		for _, c := range r {
			if c != "" && strings.ContainsRune("=+-@", rune(c[0])) {
				t.Fatalf("row %d: cell %q would run as a formula", i+1, c)
			}
		}
		want := e.Subject
		if strings.ContainsRune("=+-@", rune(want[0])) {
			want = "'" + want
		}
		if r[3] != want {
			t.Fatalf("row %d: subject %q, want %q", i+1, r[3], want)
		}
		if !strings.Contains(r[4], `\u001bb\u009bc\td,e\"f\ng`) {
			t.Fatalf("row %d: detail %q", i+1, r[4])
		}
	}
}

func TestExportSince(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	es := fill(t, db, 4)
	for _, c := range []struct {
		since time.Time
		want  int
	}{
		{time.Time{}, 4},
		{time.Now().Add(time.Hour), 0},
		{time.Now().Add(-time.Hour), 4},
		{must(time.Parse(audit.TimeLayout, es[2].Time)), 2},
		{must(time.Parse(audit.TimeLayout, es[2].Time)).In(time.FixedZone("JST", 9*3600)), 2},
	} {
		var out bytes.Buffer
		n, err := audit.Export(ctx, db, &out, c.since, audit.JSONL)
		if err != nil || n != c.want || strings.Count(out.String(), "\n") != c.want {
			t.Errorf("since %v: %d entries, want %d (%v)", c.since, n, c.want, err)
		}
	}
	if _, err := audit.Export(ctx, db, &bytes.Buffer{}, time.Time{}, "xml"); err == nil {
		t.Error("format xml accepted")
	}
	for _, s := range []string{"jsonl", "CSV"} {
		if _, err := audit.ParseFormat(s); err != nil {
			t.Error(err)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
