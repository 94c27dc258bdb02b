package coordinator_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/coordinator/audit"
	"github.com/kinko-project/kinko/wallet"
)

// A 2-of-3 wallet on regtest, from key records of known seeds, that needs
// no node.
const fixedDescriptor = "wsh(sortedmulti(2,[73c5da0a/48h/1h/0h/2h]tpubDFH9dgzveyD8zTbPUFuLrGmCydNvxehyNdUXKJAQN8x4aZ4j6UZqGfnqFrD4NqyaTVGKbvEW54tsvPTK2UoSbCC1PJY8iCNiwTL3RWZEheQ/<0;1>/*,[b8688df1/48h/1h/0h/2h]tpubDEfobrrtptRTbKf4gysDhoabneABDTAcdj3Vbn4XwPsLE2pmqpizSPRG6zHsbAMuiSgWmWPsYCLHTKTPpyrGJ5rAoTpKoQNZcxodiPf2tSJ/<0;1>/*,[28645006/48h/1h/0h/2h]tpubDEwqCvJxKwKWX9xvRe48uofWJn1Y89Jn8UeH1Efrjb1UEVjUDy3URYTiqWaVCW7WdvHrL8XrSihHEhTwv5H3VDJoakjuCHiAnr6xcF2Xm4s/<0;1>/*))"

func fixedWallet(t *testing.T) *wallet.Descriptor {
	t.Helper()
	d, err := wallet.ParseDescriptor(fixedDescriptor, wallet.Regtest)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

type exported struct {
	Seq     int64  `json:"seq"`
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	Detail  string `json:"detail"`
}

// auditEntries exports the coordinator's audit log after verifying it.
func auditEntries(t *testing.T, c *coordinator.Coordinator) []exported {
	t.Helper()
	ctx := context.Background()
	head, err := c.VerifyAudit(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := c.ExportAudit(ctx, &buf, time.Time{}, audit.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	if int64(n) != head.Seq {
		t.Fatalf("exported %d entries, head is %d", n, head.Seq)
	}
	var es []exported
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e exported
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	return es
}

func kinds(es []exported) []string {
	var ks []string
	for _, e := range es {
		ks = append(ks, e.Kind)
	}
	return ks
}

func detail(t *testing.T, e exported) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(e.Detail), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAuditWalletAndAddress(t *testing.T) {
	ctx := context.Background()
	c, err := coordinator.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d := fixedWallet(t)
	if err := c.CreateWallet(ctx, "vault", d, 5); err != nil {
		t.Fatal(err)
	}
	// A refused action leaves no entry.
	if err := c.CreateWallet(ctx, "vault", d, 5); !errors.Is(err, coordinator.ErrWalletExists) {
		t.Fatal(err)
	}
	addr, idx, err := c.NextAddress(ctx, "vault")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RecordAudit(ctx, audit.TreasurySet, "vault", map[string]string{"ceiling": "1 BTC"}); err != nil {
		t.Fatal(err)
	}
	if err := c.RecordAudit(ctx, "Not A Kind", "vault", nil); err == nil {
		t.Fatal("a malformed kind was recorded")
	}
	es := auditEntries(t, c)
	if got, want := kinds(es), []string{"wallet-created", "address-issued", "treasury-set"}; !slices.Equal(got, want) {
		t.Fatalf("kinds %q, want %q", got, want)
	}
	w := detail(t, es[0])
	if es[0].Subject != "vault" || w["descriptor"] != d.String() || w["network"] != "regtest" || w["policy"] != "2-of-3 wsh" || w["birthday"] != 5.0 {
		t.Fatalf("wallet entry %+v", es[0])
	}
	a := detail(t, es[1])
	if es[1].Subject != "vault" || a["address"] != addr || a["index"] != float64(idx) {
		t.Fatalf("address entry %+v, handed out %s (%d)", es[1], addr, idx)
	}
}

// Two coordinator processes on one data directory: their actions and
// entries take turns, and the chain stays one chain.
func TestAuditTwoProcesses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var cs []*coordinator.Coordinator
	for range 2 {
		c, err := coordinator.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cs = append(cs, c)
	}
	if err := cs[0].CreateWallet(ctx, "vault", fixedWallet(t), 0); err != nil {
		t.Fatal(err)
	}
	const per = 25
	var wg sync.WaitGroup
	errs := make(chan error, 2*per)
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				if _, _, err := c.NextAddress(ctx, "vault"); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	es := auditEntries(t, cs[1])
	if len(es) != 1+2*per {
		t.Fatalf("%d entries, want %d", len(es), 1+2*per)
	}
	seen := map[float64]bool{}
	for _, e := range es[1:] {
		i := detail(t, e)["index"].(float64)
		if seen[i] {
			t.Fatalf("address %v handed out twice", i)
		}
		seen[i] = true
	}
}

// The whole life of two sessions, recorded: the entries name the signers
// by the master fingerprints of the coordinator's own derivations.
func TestAuditSessions(t *testing.T) {
	ctx := context.Background()
	f := newWallet(t, wallet.P2WSH, 2, 3, 100_000_000)
	s, to := f.spend(30_000_000)
	if err := f.coord.RecordAudit(ctx, audit.PSBTWritten, s.ID, map[string]string{"where": "spend.psbt"}); err != nil {
		t.Fatal(err)
	}
	sig0, sig2 := f.sign(s, 0), f.sign(s, 2)
	f.importOK(s.ID, sig0)
	f.importOK(s.ID, sig2)
	f.importOK(s.ID, sig2)
	b := f.balance()
	f.finishAndConfirm(s, b.Confirmed, 30_000_000)
	s2, _ := f.spend(10_000_000)
	if err := f.coord.Cancel(ctx, s2.ID); err != nil {
		t.Fatal(err)
	}

	es := auditEntries(t, f.coord)
	var got []string
	for _, e := range es {
		if e.Kind != string(audit.Synced) {
			got = append(got, e.Kind)
		}
	}
	want := []string{"wallet-created", "address-issued", "session-opened", "psbt-written", "signature-imported", "signature-imported", "signature-imported",
		"finalized", "broadcast", "session-opened", "cancelled"}
	if !slices.Equal(got, want) {
		t.Fatalf("kinds %q,\nwant %q", got, want)
	}
	by := func(kind string) []exported {
		var out []exported
		for _, e := range es {
			if e.Kind == kind {
				out = append(out, e)
			}
		}
		return out
	}
	syncs := by("sync")
	if len(syncs) < 2 {
		t.Fatalf("%d syncs recorded", len(syncs))
	}
	if sd := detail(t, syncs[0]); sd["coins_found"] != 1.0 || sd["blocks_scanned"].(float64) < 1 {
		t.Errorf("first sync: %s", syncs[0].Detail)
	}
	open := by("session-opened")[0]
	od := detail(t, open)
	if open.Subject != s.ID || od["txid"] != s.TxID || od["fee_sat"] != float64(s.Fee) || od["wallet"] != "vault" {
		t.Errorf("session-opened %+v", open)
	}
	outs := od["outputs"].([]any)
	paid, change := 0, 0
	for _, o := range outs {
		o := o.(map[string]any)
		if o["address"] == to && o["amount_sat"] == 30_000_000.0 && o["change"] == nil {
			paid++
		}
		if o["change"] == true {
			change++
		}
	}
	if len(outs) != 2 || paid != 1 || change != 1 {
		t.Errorf("outputs %v", outs)
	}
	fp := func(i int) string { x := f.parties[i].rec.Origin.Fingerprint; return hex.EncodeToString(x[:]) }
	imps := by("signature-imported")
	for k, wantFP := range []string{fp(0), fp(2), fp(2)} {
		d := detail(t, imps[k])
		if imps[k].Subject != s.ID || fmt.Sprint(d["fingerprints"]) != "["+wantFP+"]" || d["inputs_signed"] != 1.0 {
			t.Errorf("import %d: %s, want fingerprint %s", k, imps[k].Detail, wantFP)
		}
		if (k == 2) != (d["duplicate"] == true) {
			t.Errorf("import %d: duplicate %v", k, d["duplicate"])
		}
	}
	fin := detail(t, by("finalized")[0])
	bc := detail(t, by("broadcast")[0])
	if fin["txid"] != bc["txid"] || fin["node_checked"] != true {
		t.Errorf("finalized %v, broadcast %v", fin, bc)
	}
	if c := by("cancelled")[0]; c.Subject != s2.ID || detail(t, c)["from_state"] != "open" {
		t.Errorf("cancelled %+v", c)
	}
}
