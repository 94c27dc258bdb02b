package chain

import (
	"context"
	"errors"
	"testing"

	"github.com/kinko-project/kinko/internal/regtest"
)

// btcd has no estimatesmartfee: an estimate from it comes from
// estimatefee, and says so.
func TestEstimateFeeBtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real btcd regtest node")
	}
	node, err := regtest.Start(context.Background(), regtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Stop() })
	host, user, pass := node.RPC()
	c, err := Dial(Config{Host: host, User: user, Pass: pass})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, bad := range []int{0, -1, 1009} {
		if _, err := c.EstimateFee(bad); err == nil {
			t.Errorf("target %d accepted", bad)
		}
	}
	var smart struct{}
	if err := c.call(&smart, "estimatesmartfee", 6); !isRPCError(err) {
		t.Fatalf("btcd answers estimatesmartfee: %v", err)
	}
	e, err := c.EstimateFee(3)
	switch {
	case errors.Is(err, ErrNoFeeEstimate):
		t.Logf("btcd on a fresh regtest chain: %v", err)
	case err != nil:
		t.Fatal(err)
	case e.Method != "estimatefee" || e.Blocks != 3 || e.Rate <= 0:
		t.Errorf("estimate %+v", e)
	default:
		t.Logf("estimate: %s", e)
	}
}
