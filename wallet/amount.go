package wallet

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxMoney is 21 million BTC in satoshis: no amount may exceed it.
const MaxMoney = 21_000_000 * 100_000_000

// FormatAmount prints satoshis as BTC with eight decimals.
func FormatAmount(sats int64) string {
	sign := ""
	if sats < 0 {
		sign = "-"
		sats = -sats
	}
	return fmt.Sprintf("%s%d.%08d BTC", sign, sats/100_000_000, sats%100_000_000)
}

// ParseAmount reads an amount in BTC ("0.5", at most eight decimals) or
// in satoshis with a "sat" suffix ("50000sat"), exactly: no floating
// point is involved. It refuses zero, negative and over 21 million BTC.
func ParseAmount(s string) (int64, error) {
	orig := s
	s = strings.TrimSpace(s)
	var sats int64
	if num, ok := strings.CutSuffix(s, "sat"); ok {
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil || strings.HasPrefix(num, "+") {
			return 0, fmt.Errorf("amount %q: not a whole number of satoshis", orig)
		}
		sats = v
	} else {
		whole, frac, _ := strings.Cut(s, ".")
		if whole == "" && frac == "" {
			return 0, fmt.Errorf("amount %q: empty", orig)
		}
		if len(frac) > 8 {
			return 0, fmt.Errorf("amount %q: more than eight decimals", orig)
		}
		for _, r := range whole + frac {
			if r < '0' || r > '9' {
				return 0, fmt.Errorf("amount %q: want BTC like 0.5 or satoshis like 50000sat", orig)
			}
		}
		if len(whole) > 8 {
			return 0, fmt.Errorf("amount %q: more than 21 million BTC", orig)
		}
		w, _ := strconv.ParseInt("0"+whole, 10, 64)
		f, _ := strconv.ParseInt((frac + "00000000")[:8], 10, 64)
		sats = w*100_000_000 + f
	}
	switch {
	case sats <= 0:
		return 0, errors.New("amount " + strconv.Quote(orig) + ": must be positive")
	case sats > MaxMoney:
		return 0, fmt.Errorf("amount %q: more than 21 million BTC", orig)
	}
	return sats, nil
}
