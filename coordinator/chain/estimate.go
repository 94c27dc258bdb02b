package chain

import "fmt"

// Estimate is a fee-rate estimate and the RPC it came from.
type Estimate struct {
	Rate   float64 // sat/vB
	Method string  // "estimatesmartfee" (Bitcoin Core) or "estimatefee" (btcd)
	Blocks int     // the confirmation target asked for
}

func (e Estimate) String() string {
	return fmt.Sprintf("%.1f sat/vB for confirmation within %d blocks (%s)", e.Rate, e.Blocks, e.Method)
}

// EstimateFee asks the node for a fee rate to confirm within target
// blocks (1..1008): estimatesmartfee where the node has it (Bitcoin
// Core), else estimatefee (btcd; Core removed it), saying which answered.
// ErrNoFeeEstimate means the node has none.
func (c *Client) EstimateFee(target int) (Estimate, error) {
	if target < 1 || target > 1008 {
		return Estimate{}, fmt.Errorf("confirmation target %d blocks is outside 1..1008", target)
	}
	var smart struct {
		FeeRate *float64 `json:"feerate"` // BTC/kvB
	}
	err := c.call(&smart, "estimatesmartfee", target)
	if err == nil && smart.FeeRate != nil && *smart.FeeRate > 0 {
		return Estimate{*smart.FeeRate * 1e5, "estimatesmartfee", target}, nil
	}
	if err != nil && !isRPCError(err) {
		return Estimate{}, err
	}
	var legacy float64 // BTC/kvB; -1 when there is no estimate
	err = c.call(&legacy, "estimatefee", target)
	if err == nil && legacy > 0 {
		return Estimate{legacy * 1e5, "estimatefee", target}, nil
	}
	if err != nil && !isRPCError(err) {
		return Estimate{}, err
	}
	return Estimate{}, ErrNoFeeEstimate
}
