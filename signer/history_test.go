package signer_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/kinko-project/kinko/signer"
	"github.com/kinko-project/kinko/wallet"
)

// signedHistory signs the fixture's PSBT n times with signer 0, an hour
// apart, and returns a copy of the history.
func signedHistory(t *testing.T, n int) (*fixture, signer.History) {
	t.Helper()
	f := newFixture(t, wallet.P2WSH, 2, 3, 1)
	now := time.Date(2026, 11, 30, 9, 0, 0, 123, time.UTC)
	for i := 0; i < n; i++ {
		p := f.build()
		p.UnsignedTx.LockTime = uint32(i) // a distinct txid each time
		if _, _, err := f.ks[0].Sign(p, signer.Options{Now: now.Add(time.Duration(i) * time.Hour)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	return f, append(signer.History(nil), f.ks[0].History()...)
}

func TestHistoryChain(t *testing.T) {
	f, h := signedHistory(t, 3)
	head, err := h.Verify()
	if err != nil {
		t.Fatal(err)
	}
	if h[0].Prev != (signer.HistoryHash{}) || h[1].Prev != h[0].Hash || head != h[2].Hash || head != h.Head() {
		t.Errorf("chain: %+v", h)
	}
	if len(h[0].Outputs) != 2 || !h[0].Outputs[1].Change || h[0].Outputs[0].Change {
		t.Errorf("outputs: %+v", h[0].Outputs)
	}
	// The chain survives the keystore's round trip to disk.
	if err := f.ks[0].Save(); err != nil {
		t.Fatal(err)
	}
	ks, err := signer.OpenKeystore(f.paths[0], "pw")
	if err != nil {
		t.Fatal(err)
	}
	if head2, err := ks.History().Verify(); err != nil || head2 != head {
		t.Fatalf("after reopening: head %s, err %v; want %s", head2, err, head)
	}
}

func TestHistoryTamperDetected(t *testing.T) {
	cases := []struct {
		name  string
		alter func(h signer.History) signer.History
		index int
		want  string
	}{
		{"amount edited", func(h signer.History) signer.History { h[1].Spent--; return h }, 1, "edited"},
		{"output address edited", func(h signer.History) signer.History {
			h[0].Outputs[0].Address = "bcrt1qattacker"
			return h
		}, 0, "edited"},
		{"time edited", func(h signer.History) signer.History {
			h[2].Time = h[2].Time.Add(-25 * time.Hour)
			return h
		}, 2, "edited"},
		{"edited and rehashed", func(h signer.History) signer.History {
			h[0].Spent = 1
			h[0].Hash = h[0].Sum()
			return h
		}, 1, "removed or the entries reordered"},
		{"first entry removed", func(h signer.History) signer.History { return h[1:] }, 0, "removed"},
		{"middle entry removed", func(h signer.History) signer.History { return append(h[:1:1], h[2]) }, 1, "removed"},
		{"two entries swapped", func(h signer.History) signer.History { h[1], h[2] = h[2], h[1]; return h }, 1, "reordered"},
		{"chain fields stripped from a later entry", func(h signer.History) signer.History {
			h[2].Prev, h[2].Hash = signer.HistoryHash{}, signer.HistoryHash{}
			return h
		}, 2, "no chain fields"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, h := signedHistory(t, 3)
			for i := range h {
				h[i].Outputs = append([]signer.HistoryOutput(nil), h[i].Outputs...)
			}
			_, err := c.alter(h).Verify()
			var he *signer.HistoryError
			if !errors.As(err, &he) || !errors.Is(err, signer.ErrHistoryBroken) {
				t.Fatalf("err = %v, want a HistoryError", err)
			}
			if he.Index != c.index || !bytes.Contains([]byte(he.Reason), []byte(c.want)) {
				t.Errorf("err = %v, want entry %d, %q", err, c.index, c.want)
			}
		})
	}
}

// A signer whose history no longer verifies signs nothing: the daily
// limit counts from it.
func TestSignRefusesBrokenHistory(t *testing.T) {
	f, _ := signedHistory(t, 2)
	f.ks[0].History()[0].Spent = 0
	out, _, err := f.ks[0].Sign(f.build(), signer.Options{}, nil)
	if !errors.Is(err, signer.ErrHistoryBroken) || out != nil {
		t.Fatalf("err = %v, out %v", err, out)
	}
}

// TestLegacyHistoryOpens writes a keystore as the code before the chain
// did (version 1, history entries without prev, hash or outputs): it
// opens, its entries are chained in place, and the next save writes them
// chained as version 2.
func TestLegacyHistoryOpens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.ks")
	legacy := `{"version":1,"mnemonic":"` + testWords[0] + `","created":"2026-11-01T10:00:00Z",
		"history":[
			{"time":"2026-11-20T10:00:00Z","wallet":"vault","txid":"` + string(bytes.Repeat([]byte("ab"), 32)) + `","spent":5000},
			{"time":"2026-11-21T10:00:00.5+09:00","wallet":"vault","txid":"` + string(bytes.Repeat([]byte("cd"), 32)) + `","spent":7000}]}`
	sealTest(t, path, "pw", []byte(legacy))
	ks, err := signer.OpenKeystore(path, "pw")
	if err != nil {
		t.Fatal(err)
	}
	h := ks.History()
	head, err := h.Verify()
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 || h[1].Spent != 7000 || h[1].Prev != h[0].Hash || head.IsZero() {
		t.Fatalf("history: %+v", h)
	}
	if err := ks.Save(); err != nil {
		t.Fatal(err)
	}
	again, err := signer.OpenKeystore(path, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if head2, err := again.History().Verify(); err != nil || head2 != head {
		t.Fatalf("after saving: head %s, err %v; want %s", head2, err, head)
	}
	var doc struct {
		Version int `json:"version"`
		History []map[string]any
	}
	if err := json.Unmarshal(openTest(t, path, "pw"), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != 2 || doc.History[0]["hash"] == nil || doc.History[0]["prev"] != "0000000000000000000000000000000000000000000000000000000000000000" {
		t.Errorf("saved: %+v", doc)
	}
}

// sealTest encrypts plain as a keystore file would be.
func sealTest(t *testing.T, path, password string, plain []byte) {
	t.Helper()
	r, err := age.NewScryptRecipient(password)
	if err != nil {
		t.Fatal(err)
	}
	r.SetWorkFactor(signer.MinWorkFactor)
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func openTest(t *testing.T, path, password string) []byte {
	t.Helper()
	id, err := age.NewScryptIdentity(password)
	if err != nil {
		t.Fatal(err)
	}
	r, err := age.Decrypt(bytes.NewReader(readFile(t, path)), id)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Saving keeps the scrypt cost the keystore was created with.
func TestSaveKeepsWorkFactor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ks")
	if _, err := signer.CreateKeystore(path, "pw", testWords[0], "", signer.MinWorkFactor+1); err != nil {
		t.Fatal(err)
	}
	ks, err := signer.OpenKeystore(path, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.Save(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readFile(t, path)[:100], []byte(" 11\n")) {
		t.Errorf("header after saving:\n%s", readFile(t, path)[:100])
	}
}
