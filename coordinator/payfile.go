package coordinator

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kinko-project/kinko/wallet"
)

// A pay file lists the payments of a batch, one per line (CSV) or per
// element (JSON). Every line is checked before anything is reserved, and
// every problem is reported at once with its line number: an operator
// fixes the file in one go.
//
// CSV: address,amount[,label] per line; a first line "address,amount…"
// is a header; blank lines and lines starting with '#' are skipped.
// JSON: an array of {"address": …, "amount": …, "label": …}; amount a
// string or a number, read exactly in the syntax of [wallet.ParseAmount]
// (BTC, or satoshis with a "sat" suffix).

// Limits of a pay file.
const (
	MaxPayFileSize = 4 << 20 // bytes: about 40,000 payments
	MaxLabel       = 255     // bytes of a label (BIP-329's advice)
	// MaxPayProblems is how many problems a PayFileError lists; past it,
	// checking stops.
	MaxPayProblems = 100
)

// ErrPayFile is wrapped by every *PayFileError.
var ErrPayFile = errors.New("pay file refused")

// PayProblem is one thing wrong with a pay file.
type PayProblem struct {
	Line int // 1-based; 0 for the file as a whole
	Msg  string
}

func (p PayProblem) String() string {
	if p.Line == 0 {
		return p.Msg
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
}

// PayFileError lists everything wrong with a pay file.
type PayFileError struct {
	Problems []PayProblem
	// Stopped is set when checking stopped at MaxPayProblems.
	Stopped bool
}

func (e *PayFileError) Error() string {
	var b strings.Builder
	n := strconv.Itoa(len(e.Problems))
	if e.Stopped {
		n = "at least " + n
	}
	fmt.Fprintf(&b, "pay file refused: %s problem", n)
	if len(e.Problems) != 1 || e.Stopped {
		b.WriteString("s")
	}
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

func (e *PayFileError) Unwrap() error { return ErrPayFile }

// payChecker checks rows as they come and collects problems.
type payChecker struct {
	net    *wallet.Network
	pays   []Payment
	seen   map[string]int // output script → line
	total  int64
	errs   PayFileError
	header bool
}

func (c *payChecker) problem(line int, format string, args ...any) {
	if len(c.errs.Problems) >= MaxPayProblems {
		c.errs.Stopped = true
		return
	}
	c.errs.Problems = append(c.errs.Problems, PayProblem{line, printable(fmt.Sprintf(format, args...))})
}

func (c *payChecker) full() bool { return c.errs.Stopped }

// row checks one payment.
func (c *payChecker) row(line int, addr, amount, label string) {
	addr, amount = strings.TrimSpace(addr), strings.TrimSpace(amount)
	bad := false
	var spk []byte
	switch {
	case addr == "":
		c.problem(line, "no address")
		bad = true
	case len(addr) > 100:
		c.problem(line, "address of %d bytes is too long", len(addr))
		bad = true
	default:
		var err error
		if spk, err = wallet.ScriptFromAddress(addr, c.net); err != nil {
			c.problem(line, "address %q: %v", addr, err)
			bad = true
		}
	}
	var sats int64
	if len(amount) > 32 {
		c.problem(line, "amount of %d bytes is too long", len(amount))
		bad = true
	} else {
		var err error
		if sats, err = wallet.ParseAmount(amount); err != nil {
			c.problem(line, "%v", err)
			bad = true
		}
	}
	if len(label) > MaxLabel {
		c.problem(line, "label of %d bytes: at most %d", len(label), MaxLabel)
		bad = true
	} else if !utf8.ValidString(label) || strings.IndexFunc(label, unicode.IsControl) >= 0 {
		c.problem(line, "label %q holds control characters or is not UTF-8", label)
		bad = true
	}
	if spk != nil && sats > 0 {
		if d := wallet.DustThreshold(spk); sats < d {
			c.problem(line, "amount %d sat is below the dust limit of %d sat for a %s output", sats, d, wallet.OutputType(spk))
			bad = true
		}
	}
	if spk != nil {
		if first, ok := c.seen[string(spk)]; ok {
			c.problem(line, "address %s is also paid on line %d: one row per address", addr, first)
			bad = true
		} else {
			c.seen[string(spk)] = line
		}
	}
	if bad {
		return
	}
	c.total += sats
	c.pays = append(c.pays, Payment{Address: addr, Amount: sats, Label: label})
}

func (c *payChecker) done() ([]Payment, error) {
	if len(c.pays) == 0 && len(c.errs.Problems) == 0 {
		c.problem(0, "the file holds no payments")
	}
	if c.total > wallet.MaxMoney {
		c.problem(0, "the payments add up to more than 21 million BTC")
	}
	if len(c.errs.Problems) > 0 {
		return nil, &c.errs
	}
	return c.pays, nil
}

// ParsePayFile reads a pay file (CSV or JSON, told apart by its first
// character) for a wallet on net and checks every payment: address syntax
// and network, amount syntax, the dust limit of the output's type, one
// row per address, a label of at most MaxLabel printable bytes. Anything
// wrong is returned together in a *PayFileError (wrapping ErrPayFile).
func ParsePayFile(r io.Reader, net *wallet.Network) ([]Payment, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxPayFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxPayFileSize {
		return nil, &PayFileError{Problems: []PayProblem{{0, fmt.Sprintf("larger than %d MiB: split it", MaxPayFileSize>>20)}}}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a BOM, as spreadsheets write
	c := &payChecker{net: net, seen: map[string]int{}}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		c.json(data)
	} else {
		c.csv(data)
	}
	return c.done()
}

func (c *payChecker) csv(data []byte) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.Comment = '#'
	r.ReuseRecord = true
	first := true
	for !c.full() {
		rec, err := r.Read()
		if err == io.EOF {
			return
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			c.problem(pe.StartLine, "not CSV: %v", pe.Err)
			continue
		}
		if err != nil {
			c.problem(0, "%v", err)
			return
		}
		line, _ := r.FieldPos(0)
		if first {
			first = false
			if len(rec) >= 2 && strings.EqualFold(strings.TrimSpace(rec[0]), "address") && strings.EqualFold(strings.TrimSpace(rec[1]), "amount") {
				continue
			}
		}
		switch len(rec) {
		case 2:
			c.row(line, rec[0], rec[1], "")
		case 3:
			c.row(line, rec[0], rec[1], strings.TrimSpace(rec[2]))
		default:
			c.problem(line, "%d fields: want address,amount[,label]", len(rec))
		}
	}
}

// jsonPayment is one element of a JSON pay file.
type jsonPayment struct {
	Address *string         `json:"address"`
	Amount  json.RawMessage `json:"amount"`
	Label   string          `json:"label"`
}

func (c *payChecker) json(data []byte) {
	lineAt := func(off int64) int { return 1 + bytes.Count(data[:off], []byte("\n")) }
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // '['
		c.problem(1, "not JSON: %v", err)
		return
	}
	for dec.More() && !c.full() {
		off := dec.InputOffset()
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			c.problem(lineAt(dec.InputOffset()), "not JSON: %v", err)
			return
		}
		// The element starts after the separator and white space.
		start := off + int64(len(data[off:])-len(bytes.TrimLeft(data[off:], ", \t\r\n")))
		line := lineAt(start)
		var p jsonPayment
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		if err := d.Decode(&p); err != nil {
			c.problem(line, "want {\"address\": …, \"amount\": …, \"label\": …}: %v", err)
			continue
		}
		if p.Address == nil {
			c.problem(line, "no address")
			continue
		}
		amount := string(p.Amount)
		if strings.HasPrefix(amount, `"`) {
			if err := json.Unmarshal(p.Amount, &amount); err != nil {
				c.problem(line, "amount: %v", err)
				continue
			}
		}
		c.row(line, *p.Address, amount, p.Label)
	}
	if c.full() {
		return
	}
	if _, err := dec.Token(); err != nil { // ']'
		c.problem(lineAt(dec.InputOffset()), "not JSON: %v", err)
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		c.problem(lineAt(dec.InputOffset()), "not JSON: more after the array")
	}
}

// printable replaces anything that could drive a terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) || !unicode.IsPrint(r) && r != ' ' {
			return '?'
		}
		return r
	}, s)
}
