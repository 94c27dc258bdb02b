package treasury_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/coordinator/treasury"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// Three published test keys (BIP-39 vectors' seeds at 48h/1h/0h/2h), as in
// the CLI scripts.
var testKeys = []string{
	"[73c5da0a/48h/1h/0h/2h]tpubDFH9dgzveyD8zTbPUFuLrGmCydNvxehyNdUXKJAQN8x4aZ4j6UZqGfnqFrD4NqyaTVGKbvEW54tsvPTK2UoSbCC1PJY8iCNiwTL3RWZEheQ/<0;1>/*",
	"[b8688df1/48h/1h/0h/2h]tpubDEfobrrtptRTbKf4gysDhoabneABDTAcdj3Vbn4XwPsLE2pmqpizSPRG6zHsbAMuiSgWmWPsYCLHTKTPpyrGJ5rAoTpKoQNZcxodiPf2tSJ/<0;1>/*",
	"[28645006/48h/1h/0h/2h]tpubDEwqCvJxKwKWX9xvRe48uofWJn1Y89Jn8UeH1Efrjb1UEVjUDy3URYTiqWaVCW7WdvHrL8XrSihHEhTwv5H3VDJoakjuCHiAnr6xcF2Xm4s/<0;1>/*",
}

var testDescs = map[string]string{
	"cold": fmt.Sprintf("wsh(sortedmulti(2,%s,%s,%s))", testKeys[0], testKeys[1], testKeys[2]),
	"hot":  fmt.Sprintf("wsh(sortedmulti(1,%s))", testKeys[0]),
	"dep":  fmt.Sprintf("sh(wsh(sortedmulti(1,%s)))", testKeys[1]),
	"dep2": fmt.Sprintf("sh(wsh(sortedmulti(1,%s)))", testKeys[2]),
}

// store is a real coordinator store in a temporary directory with the
// test wallets, and a handle on its SQLite file for putting synthetic
// coins in it.
type store struct {
	t  *testing.T
	c  *coordinator.Coordinator
	db *sql.DB
}

func newStore(t testing.TB) *store {
	t.Helper()
	dir := t.TempDir()
	c, err := coordinator.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for name, s := range testDescs {
		d, err := wallet.ParseDescriptor(s, wallet.Regtest)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.CreateWallet(context.Background(), name, d, 0); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, coordinator.DBName)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// As if synced to height 100.
	if _, err := db.Exec(`UPDATE wallets SET scanned = 100`); err != nil {
		t.Fatal(err)
	}
	return &store{c: c, db: db}
}

// coin puts a synthetic confirmed coin of value in wallet name at height h
// (0: unconfirmed). It returns its txid.
func (s *store) coin(t testing.TB, name string, value, h int64) string {
	t.Helper()
	var txid [32]byte
	rand.Read(txid[:])
	id := hex.EncodeToString(txid[:])
	if _, err := s.db.Exec(`INSERT INTO utxos (txid, vout, wallet, value, script, change, idx, height) VALUES (?, 0, ?, ?, ?, 0, 0, ?)`,
		id, name, value, txid[:], h); err != nil {
		t.Fatal(err)
	}
	return id
}

// spent marks a synthetic spend of coin txid at height h, whose block is
// at time at.
func (s *store) spent(t testing.TB, txid, by string, h int64, at time.Time) {
	t.Helper()
	if _, err := s.db.Exec(`UPDATE utxos SET spent_txid = ?, spent_height = ? WHERE txid = ?`, by, h, txid); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`INSERT OR REPLACE INTO blocks (height, hash, time) VALUES (?, ?, ?)`, h, fmt.Sprint(h), at.Unix()); err != nil {
		t.Fatal(err)
	}
}

func TestParseLimit(t *testing.T) {
	good := []struct {
		in, out string
		kind    treasury.LimitKind
	}{
		{"2.5", "250000000sat", treasury.LimitAmount},
		{"250000000sat", "250000000sat", treasury.LimitAmount},
		{"5%", "5%", treasury.LimitShare},
		{"2.5%", "2.5%", treasury.LimitShare},
		{"0.01%", "0.01%", treasury.LimitShare},
		{"100%", "100%", treasury.LimitShare},
		{"3d", "3d", treasury.LimitDays},
		{"365d", "365d", treasury.LimitDays},
	}
	for _, g := range good {
		l, err := treasury.ParseLimit(g.in)
		if err != nil {
			t.Errorf("%q: %v", g.in, err)
			continue
		}
		if l.Kind != g.kind || l.String() != g.out {
			t.Errorf("%q: kind %d, %q; want %d, %q", g.in, l.Kind, l, g.kind, g.out)
		}
		back, err := treasury.ParseLimit(l.String())
		if err != nil || back != l {
			t.Errorf("%q: round trip gave %+v, %v", g.in, back, err)
		}
	}
	for _, bad := range []string{"", "0", "-1", "nan", "inf", "1e308", "0%", "101%", "5.001%", "-5%", "%", "0d", "366d", "1.5d", "-3d", "d", "3 d", "21000001", "5%%"} {
		if l, err := treasury.ParseLimit(bad); err == nil {
			t.Errorf("%q: accepted as %+v", bad, l)
		}
	}
}

func TestSetRefusals(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	lim := func(v string) treasury.Limit {
		l, err := treasury.ParseLimit(v)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	cases := []struct {
		cfg  treasury.Config
		want string
		is   error
	}{
		{treasury.Config{Cold: "nope", Hot: "hot", Ceiling: lim("1")}, "cold wallet", coordinator.ErrNoWallet},
		{treasury.Config{Cold: "cold", Hot: "nope", Ceiling: lim("1")}, "hot wallet", coordinator.ErrNoWallet},
		{treasury.Config{Cold: "cold", Hot: "hot", Deposits: []string{"nope"}, Ceiling: lim("1")}, "deposit wallet", coordinator.ErrNoWallet},
		{treasury.Config{Cold: "cold", Hot: "cold", Ceiling: lim("1")}, "both the cold and the hot", nil},
		{treasury.Config{Cold: "cold", Hot: "hot", Deposits: []string{"dep", "dep"}, Ceiling: lim("1")}, "both the deposit and the deposit", nil},
		{treasury.Config{Cold: "cold", Hot: "hot", Ceiling: lim("1"), Floor: 200_000_000}, "floor 2.00000000 BTC is above the ceiling 1.00000000 BTC", treasury.ErrBand},
		// 5% of an empty treasury is 0: any floor is above it.
		{treasury.Config{Cold: "cold", Hot: "hot", Ceiling: lim("5%"), Floor: 1}, "above the ceiling 0.00000000 BTC (5% of", treasury.ErrBand},
		{treasury.Config{Cold: "cold", Hot: "hot", Ceiling: lim("3d"), Floor: 1}, "withdrawn over the last 7 days", treasury.ErrBand},
		{treasury.Config{Cold: "cold", Hot: "hot", Ceiling: lim("1"), Floor: -1}, "floor", nil},
	}
	for _, c := range cases {
		_, err := treasury.Set(ctx, s.c, c.cfg)
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(c.want)) || (c.is != nil && !errors.Is(err, c.is)) {
			t.Errorf("%+v: %v; want %q (%v)", c.cfg, err, c.want, c.is)
		}
	}
	if _, err := treasury.Load(ctx, s.c); !errors.Is(err, treasury.ErrNotConfigured) {
		t.Fatalf("a refused configuration was stored: %v", err)
	}
	cfg := treasury.Config{Cold: "cold", Hot: "hot", Deposits: []string{"dep"}, Ceiling: lim("2.5"), Floor: 100_000_000}
	if _, err := treasury.Set(ctx, s.c, cfg); err != nil {
		t.Fatal(err)
	}
	tr, err := treasury.Load(ctx, s.c)
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.Config(); got.Ceiling != cfg.Ceiling || got.Floor != cfg.Floor || got.Hot != "hot" || len(got.Deposits) != 1 {
		t.Errorf("stored %+v, want %+v", got, cfg)
	}
}

func TestStatusBands(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	ceiling, _ := treasury.ParseLimit("2")
	tr, err := treasury.Set(ctx, s.c, treasury.Config{Cold: "cold", Hot: "hot", Deposits: []string{"dep"}, Ceiling: ceiling, Floor: 100_000_000})
	if err != nil {
		t.Fatal(err)
	}
	s.coin(t, "cold", 90_00000000, 10)
	s.coin(t, "dep", 3_00000000, 10)
	hot := s.coin(t, "hot", 50_000_000, 10) // 0.5: below the floor of 1
	st, err := tr.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != treasury.BelowFloor || st.InBand() {
		t.Errorf("state %q", st.State)
	}
	// Back to the middle of 1..2: a top-up of 1.0.
	if m := st.Rebalance; m.Direction != "top-up" || m.From != "cold" || m.To != "hot" || m.Amount != 100_000_000 {
		t.Errorf("rebalance %+v", m)
	}
	if st.Total != 93_50000000 || st.Headroom != 150_000_000 || st.Tiers[0].Share != 0.962567 {
		t.Errorf("total %d, headroom %d, cold share %v", st.Total, st.Headroom, st.Tiers[0].Share)
	}
	// Unconfirmed coins are online too: 0.5 + 2.0 is above the ceiling.
	s.coin(t, "hot", 200_000_000, 0)
	if st, err = tr.Status(ctx); err != nil {
		t.Fatal(err)
	}
	if st.State != treasury.AboveCeiling || st.Rebalance.Direction != "sweep" || st.Rebalance.Amount != 100_000_000 || st.Rebalance.To != "cold" {
		t.Errorf("state %q, rebalance %+v", st.State, st.Rebalance)
	}
	if st.Headroom != -50_000_000 {
		t.Errorf("headroom %d", st.Headroom)
	}
	// Days of withdrawals: 0.5 BTC left the hot wallet 2 days ago, 7 BTC
	// 30 days ago (outside the window).
	now := time.Now()
	s.spent(t, hot, "aa", 11, now.Add(-48*time.Hour))
	old := s.coin(t, "hot", 7_00000000, 5)
	s.spent(t, old, "bb", 6, now.Add(-30*24*time.Hour))
	days, _ := treasury.ParseLimit("14d")
	if tr, err = treasury.Set(ctx, s.c, treasury.Config{Cold: "cold", Hot: "hot", Ceiling: days}); err != nil {
		t.Fatal(err)
	}
	if st, err = tr.Status(ctx); err != nil {
		t.Fatal(err)
	}
	// 0.5 BTC / 7 days × 14 days = 1 BTC; the hot wallet holds 2.
	if st.Ceiling != 100_000_000 || st.State != treasury.AboveCeiling {
		t.Errorf("ceiling %d (%s), state %q", st.Ceiling, st.CeilingHow, st.State)
	}
	// A sweep from hot to cold is no withdrawal: what the same
	// transaction paid to another wallet of the store does not count.
	sweep := s.coin(t, "hot", 3_00000000, 5)
	s.spent(t, sweep, "cc", 12, now.Add(-time.Hour))
	if _, err := s.db.Exec(`INSERT INTO utxos (txid, vout, wallet, value, script, change, idx, height) VALUES ('cc', 0, 'cold', 299990000, x'00', 0, 1, 12)`); err != nil {
		t.Fatal(err)
	}
	if st, err = tr.Status(ctx); err != nil {
		t.Fatal(err)
	}
	// 10,000 sat of fee left the store: 1 BTC + 10,000 × 2.
	if st.Ceiling != 100_020_000 {
		t.Errorf("ceiling after a sweep to cold %d (%s)", st.Ceiling, st.CeilingHow)
	}
}

// The Prometheus output follows the text exposition format: HELP and TYPE
// lines, then samples with quoted labels and integer or float values.
func TestPrometheusFormat(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	share, _ := treasury.ParseLimit("5%")
	tr, err := treasury.Set(ctx, s.c, treasury.Config{Cold: "cold", Hot: "hot", Deposits: []string{"dep"}, Ceiling: share})
	if err != nil {
		t.Fatal(err)
	}
	s.coin(t, "cold", 95_00000000, 3)
	s.coin(t, "hot", 5_00000000, 3)
	st, err := tr.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := st.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	comment := regexp.MustCompile(`^# (HELP|TYPE) kinko_[a-z_]+ .+$`)
	sample := regexp.MustCompile(`^kinko_[a-z_]+(\{([a-z_]+="[^"\\\n]*",?)+\})? -?[0-9]+(\.[0-9]+)?(e-?[0-9]+)?$`)
	sc := bufio.NewScanner(&b)
	seen := map[string]bool{}
	for sc.Scan() {
		line := sc.Text()
		if !comment.MatchString(line) && !sample.MatchString(line) {
			t.Errorf("not exposition format: %q", line)
		}
		seen[line] = true
	}
	for _, want := range []string{
		`kinko_treasury_balance_sats{tier="cold",wallet="cold",state="confirmed"} 9500000000`,
		`kinko_treasury_hot_ceiling_sats 500000000`,
		`kinko_treasury_in_band 1`,
		`kinko_treasury_share_ratio{tier="cold",wallet="cold"} 0.95`,
		`kinko_treasury_rebalance_sats{direction="top-up"} 0`,
	} {
		if !seen[want] {
			t.Errorf("missing %q in:\n%s", want, b.String())
		}
	}
}

func TestPlanSweep(t *testing.T) {
	coins := syntheticCoins(10_000)
	p := treasury.SweepParams{FeeRate: 10, MinValue: 2_000, MaxInputs: 300, InputWeight: 4*41 + 254, BaseWeight: 4*14 + 2 + 4*43, Dust: coordinator.DustLimit}
	plan, err := treasury.PlanSweep(coins, p)
	if err != nil {
		t.Fatal(err)
	}
	inputFee := coordinator.FeeFor(p.InputWeight, p.FeeRate)
	var n int
	var value int64
	for k, b := range plan.Batches {
		if len(b) > p.MaxInputs {
			t.Errorf("batch %d has %d inputs", k, len(b))
		}
		if w := p.BaseWeight + len(b)*p.InputWeight; w > treasury.MaxStandardWeight {
			t.Errorf("batch %d weighs %d", k, w)
		}
		for _, c := range b {
			if c.Value <= inputFee || c.Value < p.MinValue {
				t.Errorf("batch %d spends a coin of %d sat", k, c.Value)
			}
			value += c.Value
		}
		n += len(b)
	}
	if n+plan.Skipped != len(coins) || value != plan.Value {
		t.Errorf("%d swept + %d skipped of %d; value %d vs %d", n, plan.Skipped, len(coins), value, plan.Value)
	}
	var skipped int64
	for _, c := range coins {
		if c.Value <= inputFee || c.Value < p.MinValue {
			skipped += c.Value
		}
	}
	if plan.SkippedValue != skipped || plan.Skipped == 0 {
		t.Errorf("skipped %d worth %d, want worth %d", plan.Skipped, plan.SkippedValue, skipped)
	}
	if want := (n + p.MaxInputs - 1) / p.MaxInputs; len(plan.Batches) != want {
		t.Errorf("%d batches, want %d", len(plan.Batches), want)
	}
	// The standard weight caps a batch below an unbounded --max-inputs.
	p.MaxInputs = 10_000
	if plan, err = treasury.PlanSweep(coins, p); err != nil {
		t.Fatal(err)
	}
	if fit := (treasury.MaxStandardWeight - p.BaseWeight) / p.InputWeight; len(plan.Batches[0]) != fit {
		t.Errorf("first batch %d inputs, %d fit", len(plan.Batches[0]), fit)
	}
	for _, bad := range []float64{0, -1, 1e308} {
		p.FeeRate = bad
		if _, err := treasury.PlanSweep(coins, p); err == nil {
			t.Errorf("fee rate %v accepted", bad)
		}
	}
}

// syntheticCoins makes n coins of values from 500 sat to about 0.1 BTC.
func syntheticCoins(n int) []coordinator.Coin {
	coins := make([]coordinator.Coin, n)
	for i := range coins {
		var h psbt.Hash
		rand.Read(h[:])
		coins[i] = coordinator.Coin{OutPoint: psbt.OutPoint{Hash: h}, Value: 500 + int64(i*i%10_000_000), Height: 1}
	}
	return coins
}

func BenchmarkPlanSweep10k(b *testing.B) {
	coins := syntheticCoins(10_000)
	p := treasury.SweepParams{FeeRate: 10, MaxInputs: 200, InputWeight: 4*41 + 254, BaseWeight: 4*14 + 2 + 4*43, Dust: coordinator.DustLimit}
	var plan *treasury.SweepPlan
	for b.Loop() {
		var err error
		if plan, err = treasury.PlanSweep(coins, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/plan")
	b.ReportMetric(float64(len(plan.Batches)), "psbts")
}

// Planning from the store: loading 10,000 deposit coins and planning.
func BenchmarkSweepFromStore10k(b *testing.B) {
	s := newStore(b)
	insertCoins(b, s, "dep", 10_000)
	ctx := context.Background()
	p := treasury.SweepParams{FeeRate: 10, MaxInputs: 200, InputWeight: 4*41 + 254, BaseWeight: 4*14 + 2 + 4*43, Dust: coordinator.DustLimit}
	for b.Loop() {
		coins, err := s.c.SpendableCoins(ctx, "dep", 1)
		if err != nil {
			b.Fatal(err)
		}
		if len(coins) != 10_000 {
			b.Fatalf("%d spendable coins", len(coins))
		}
		if _, err := treasury.PlanSweep(coins, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/plan")
}

// treasury status over 100,000 coins of the hot wallet, a tenth of them
// spent in the last week.
func BenchmarkStatus100k(b *testing.B) {
	s := newStore(b)
	ctx := context.Background()
	insertCoins(b, s, "hot", 100_000)
	if _, err := s.db.Exec(`UPDATE utxos SET spent_txid = substr(txid, 1, 8), spent_height = 11 WHERE rowid % 10 = 0`); err != nil {
		b.Fatal(err)
	}
	if _, err := s.db.Exec(`INSERT INTO blocks (height, hash, time) VALUES (11, 'x', ?)`, time.Now().Add(-time.Hour).Unix()); err != nil {
		b.Fatal(err)
	}
	s.coin(b, "cold", 1000_00000000, 10)
	days, _ := treasury.ParseLimit("3d")
	tr, err := treasury.Set(ctx, s.c, treasury.Config{Cold: "cold", Hot: "hot", Deposits: []string{"dep"}, Ceiling: days})
	if err != nil {
		b.Fatal(err)
	}
	var st *treasury.Status
	for b.Loop() {
		if st, err = tr.Status(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if st.Tiers[1].Coins != 90_000 {
		b.Fatalf("%d hot coins", st.Tiers[1].Coins)
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/status")
}

func insertCoins(b testing.TB, s *store, name string, n int) {
	tx, err := s.db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	stmt, err := tx.Prepare(`INSERT INTO utxos (txid, vout, wallet, value, script, change, idx, height) VALUES (?, 0, ?, ?, ?, 0, 0, 10)`)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i++ {
		var txid [32]byte
		rand.Read(txid[:])
		if _, err := stmt.Exec(hex.EncodeToString(txid[:]), name, 1000+int64(i%1_000_000), txid[:]); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
