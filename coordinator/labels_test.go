package coordinator_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/wallet"
)

// Labels from a pay file land on the addresses paid; the history shows
// them with the payment; BIP-329 export and import round-trip, freeze
// through "spendable", and refuse a bad file whole.
func TestLabelsAndHistory(t *testing.T) {
	f := newWallet(t, wallet.P2WSH, 2, 3, 1_000_000, 2_000_000)
	ctx := context.Background()
	a, b := outside(t), outside(t)
	pays, err := coordinator.ParsePayFile(strings.NewReader(a+",0.003,alice withdrawal 17\n"+b+",0.004,bob withdrawal 18\n"), wallet.Regtest)
	if err != nil {
		t.Fatal(err)
	}
	s, txid := f.broadcastAt(coordinator.SpendRequest{Payments: pays, FeeRate: 2})
	f.mine()

	h, err := f.coord.History(ctx, f.name, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 3 {
		t.Fatalf("history has %d entries: %+v", len(h), h)
	}
	for _, e := range h[:2] {
		if e.Received == 0 || e.Sent != 0 || e.Fee != 0 || e.Confirmations != 2 || e.Time.IsZero() || e.Session != "" {
			t.Errorf("receive %+v", e)
		}
	}
	if h[0].Received+h[1].Received != 3_000_000 {
		t.Errorf("received %d and %d", h[0].Received, h[1].Received)
	}
	send := h[2]
	if send.TxID != txid || send.Sent != 700_000 || send.Fee != s.Fee || send.Received != 0 || send.Confirmations != 1 || send.Session != s.ID {
		t.Errorf("send %+v, session fee %d", send, s.Fee)
	}
	if !slices.Equal(send.Labels, []string{"alice withdrawal 17", "bob withdrawal 18"}) && !slices.Equal(send.Labels, []string{"bob withdrawal 18", "alice withdrawal 17"}) {
		t.Errorf("labels %q", send.Labels)
	}
	if h2, _ := f.coord.History(ctx, f.name, time.Now().Add(time.Hour)); len(h2) != 0 {
		t.Errorf("history since the future: %+v", h2)
	}

	// Import: a label for the payment, one for the change coin, which it
	// also freezes, a pubkey record skipped.
	var change coordinator.CoinInfo
	cs, _ := f.coord.Coins(ctx, f.name)
	for _, c := range cs {
		if c.OutPoint.Hash.String() == txid {
			change = c
		}
	}
	file := `{"type":"tx","ref":"` + txid + `","label":"payout batch 2026-11-30","origin":"wsh(sortedmulti(2,[0e700340/48h/1h/0h/2h]))"}` + "\n" +
		`{"type":"output","ref":"` + change.OutPoint.String() + `","label":"change of the batch","spendable":false}` + "\n" +
		`{"type":"pubkey","ref":"0283409659355b6d1cc3c32decd5d561abaac86c37a353b52895a5e6c196d6f448","label":"x"}` + "\n" +
		"\n" +
		`{"type":"addr","ref":"` + a + `","height":5}` + "\n"
	res, err := f.coord.ImportLabels(ctx, f.name, strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if res.Labels != 2 || res.Frozen != 1 || res.Skipped != 1 {
		t.Errorf("import %+v", res)
	}
	ci := coinOf(t, f, change.Value)
	if !ci.Frozen || ci.Label != "change of the batch" {
		t.Errorf("change coin %+v", ci)
	}
	h, _ = f.coord.History(ctx, f.name, time.Time{})
	if !slices.Contains(h[2].Labels, "payout batch 2026-11-30") || !slices.Contains(h[2].Labels, "alice withdrawal 17") {
		t.Errorf("labels after import %q (a record without a label leaves the label)", h[2].Labels)
	}

	// Export, and import of the export changes nothing.
	var out bytes.Buffer
	n, err := f.coord.ExportLabels(ctx, f.name, &out)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"output","ref":"` + change.OutPoint.String() + `","label":"change of the batch","spendable":false}`
	if n != 4 || !strings.Contains(out.String(), want+"\n") || !strings.Contains(out.String(), `{"type":"addr","ref":"`+b+`","label":"bob withdrawal 18"}`) {
		t.Errorf("export of %d:\n%s", n, out.String())
	}
	if _, err := f.coord.ImportLabels(ctx, f.name, bytes.NewReader(out.Bytes())); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	f.coord.ExportLabels(ctx, f.name, &again)
	if again.String() != out.String() {
		t.Errorf("export after re-import:\n%s\nwas\n%s", again.String(), out.String())
	}

	// A bad file is refused whole, naming every bad line.
	bad := `{"type":"tx","ref":"` + txid + `","label":"not applied"}` + "\n" +
		`{"type":"addr","ref":"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4","label":"mainnet"}` + "\n" +
		`{"type":"output","ref":"nope","label":"x"}` + "\n" +
		`{"type":"tx","ref":"` + txid + `","spendable":true}` + "\n" +
		"garbage\n" +
		`{"type":"wallet","ref":"x"}` + "\n"
	_, err = f.coord.ImportLabels(ctx, f.name, strings.NewReader(bad))
	var le *coordinator.LabelsFileError
	if !errors.As(err, &le) || !errors.Is(err, coordinator.ErrLabelsFile) {
		t.Fatalf("bad file: %v", err)
	}
	var lines []int
	for _, p := range le.Problems {
		lines = append(lines, p.Line)
	}
	if !slices.Equal(lines, []int{2, 3, 4, 5, 6}) || !strings.HasPrefix(err.Error(), "labels file refused: 5 problems") {
		t.Errorf("problems on lines %v: %v", lines, err)
	}
	h, _ = f.coord.History(ctx, f.name, time.Time{})
	if slices.Contains(h[2].Labels, "not applied") {
		t.Error("a refused file was partly imported")
	}
}
