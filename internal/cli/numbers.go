package cli

import (
	"flag"
	"fmt"
	"math"
	"strconv"
)

// Float is a float64 flag that takes only a finite number within
// [Min, Max]. Anything else (NaN, ±Inf, 1e308, a negative rate) is refused
// when the flag is parsed, so a usage error (exit 2) comes before any
// work is done or any node is dialled. NaN in particular passes every
// "x < lo || x > hi" test, which is why the check is written as the
// positive "lo <= x && x <= hi".
type Float struct {
	P        *float64
	Min, Max float64
	set      bool
}

// FloatVar defines a range-checked float flag. def is the value when the
// flag is not given; it need not lie within [min, max] (0 often means
// "not given").
func FloatVar(fs *flag.FlagSet, p *float64, name string, def, min, max float64, usage string) *Float {
	*p = def
	f := &Float{P: p, Min: min, Max: max}
	fs.Var(f, name, usage)
	return f
}

func (f *Float) String() string {
	if f == nil || f.P == nil {
		return ""
	}
	return strconv.FormatFloat(*f.P, 'g', -1, 64)
}

// Set parses and checks one value.
func (f *Float) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !InRange(v, f.Min, f.Max) {
		return fmt.Errorf("want a number from %g to %g", f.Min, f.Max)
	}
	*f.P, f.set = v, true
	return nil
}

// IsSet reports whether the flag was given.
func (f *Float) IsSet() bool { return f.set }

// InRange reports whether v is a finite number within [lo, hi]. It is
// false for NaN.
func InRange(v, lo, hi float64) bool {
	return !math.IsInf(v, 0) && lo <= v && v <= hi
}

// Int64 is an int64 flag that takes only values within [Min, Max].
type Int64 struct {
	P        *int64
	Min, Max int64
	set      bool
}

// Int64Var defines a range-checked int64 flag; def need not lie within
// [min, max].
func Int64Var(fs *flag.FlagSet, p *int64, name string, def, min, max int64, usage string) *Int64 {
	*p = def
	f := &Int64{P: p, Min: min, Max: max}
	fs.Var(f, name, usage)
	return f
}

func (f *Int64) String() string {
	if f == nil || f.P == nil {
		return ""
	}
	return strconv.FormatInt(*f.P, 10)
}

// Set parses and checks one value.
func (f *Int64) Set(s string) error {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < f.Min || v > f.Max {
		return fmt.Errorf("want a whole number from %d to %d", f.Min, f.Max)
	}
	*f.P, f.set = v, true
	return nil
}

// IsSet reports whether the flag was given.
func (f *Int64) IsSet() bool { return f.set }
