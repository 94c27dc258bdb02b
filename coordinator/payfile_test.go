package coordinator_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/wallet"
)

// addrOf makes a random address of the given type on net.
func addrOf(t testing.TB, typ string, net *wallet.Network) string {
	t.Helper()
	h := make([]byte, 32)
	rand.Read(h)
	var spk []byte
	switch typ {
	case "p2pkh":
		spk = append(append([]byte{0x76, 0xa9, 20}, h[:20]...), 0x88, 0xac)
	case "p2sh":
		spk = append(append([]byte{0xa9, 20}, h[:20]...), 0x87)
	case "p2wpkh":
		spk = append([]byte{0, 20}, h[:20]...)
	case "p2wsh":
		spk = append([]byte{0, 32}, h...)
	case "p2tr":
		spk = append([]byte{0x51, 32}, h...)
	default:
		t.Fatalf("type %s", typ)
	}
	a, err := wallet.AddressFromScript(spk, net)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func problems(t *testing.T, err error) []string {
	t.Helper()
	var pe *coordinator.PayFileError
	if !errors.As(err, &pe) || !errors.Is(err, coordinator.ErrPayFile) {
		t.Fatalf("want a *PayFileError, got %v", err)
	}
	var out []string
	for _, p := range pe.Problems {
		out = append(out, p.String())
	}
	return out
}

func TestPayFileCSV(t *testing.T) {
	a, b, c := addrOf(t, "p2wpkh", wallet.Regtest), addrOf(t, "p2tr", wallet.Regtest), addrOf(t, "p2pkh", wallet.Regtest)
	file := "\xef\xbb\xbfAddress, Amount, Label\n" +
		"# withdrawals of the morning\n" +
		a + ",0.5,customer 17\n" +
		"\n" +
		b + ", 50000sat \n" +
		`"` + c + `",546sat,"Ltd, Inc."` + "\n"
	pays, err := coordinator.ParsePayFile(strings.NewReader(file), wallet.Regtest)
	if err != nil {
		t.Fatal(err)
	}
	want := []coordinator.Payment{{a, 50_000_000, "customer 17"}, {b, 50_000, ""}, {c, 546, "Ltd, Inc."}}
	if fmt.Sprint(pays) != fmt.Sprint(want) {
		t.Errorf("got %v\nwant %v", pays, want)
	}
}

func TestPayFileJSON(t *testing.T) {
	a, b := addrOf(t, "p2wsh", wallet.Regtest), addrOf(t, "p2sh", wallet.Regtest)
	file := "[\n  {\"address\": \"" + a + "\", \"amount\": \"0.00001\", \"label\": \"x\"},\n" +
		"  {\"address\": \"" + b + "\", \"amount\": 0.1}\n]\n"
	pays, err := coordinator.ParsePayFile(strings.NewReader(file), wallet.Regtest)
	if err != nil {
		t.Fatal(err)
	}
	want := []coordinator.Payment{{a, 1000, "x"}, {b, 10_000_000, ""}}
	if fmt.Sprint(pays) != fmt.Sprint(want) {
		t.Errorf("got %v\nwant %v", pays, want)
	}
}

// Every problem is reported, each with its line.
func TestPayFileProblems(t *testing.T) {
	good := addrOf(t, "p2wpkh", wallet.Regtest)
	main := addrOf(t, "p2wpkh", wallet.Mainnet)
	wsh := addrOf(t, "p2wsh", wallet.Regtest)
	file := strings.Join([]string{
		"address,amount,label",
		good + ",0.1",   // 2: fine
		main + ",0.1",   // 3: mainnet
		wsh + ",329sat", // 4: dust for p2wsh
		good + ",0.2",   // 5: duplicate of 2
		addrOf(t, "p2tr", wallet.Regtest) + ",1.2.3",           // 6: amount
		"bcrt1qnotanaddress,0.1",                               // 7
		"just one field",                                       // 8
		addrOf(t, "p2sh", wallet.Regtest) + ",0.1,\x1b[31mred", // 9: control character
		addrOf(t, "p2sh", wallet.Regtest) + ",-5",              // 10
	}, "\n")
	_, err := coordinator.ParsePayFile(strings.NewReader(file), wallet.Regtest)
	got := problems(t, err)
	want := []string{
		"line 3: address \"" + main + "\": address: network mismatch: \"" + main + "\" is a mainnet address, not regtest",
		"line 4: amount 329 sat is below the dust limit of 330 sat for a p2wsh output",
		"line 5: address " + good + " is also paid on line 2: one row per address",
		"line 6: amount \"1.2.3\": want BTC like 0.5 or satoshis like 50000sat",
		"line 7: address \"bcrt1qnotanaddress\": ",
		"line 8: 1 fields: want address,amount[,label]",
		"line 9: label \"\\x1b[31mred\" holds control characters or is not UTF-8",
		"line 10: amount \"-5\": want BTC like 0.5 or satoshis like 50000sat",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems:\n%s", len(got), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d:\n got %s\nwant %s…", i, got[i], want[i])
		}
	}
	if !strings.HasPrefix(err.Error(), "pay file refused: 8 problems\n  line 3: ") {
		t.Errorf("error reads %q", err)
	}
}

func TestPayFileRefusesEmptyAndHuge(t *testing.T) {
	for _, f := range []string{"", "\n\n", "address,amount\n", "# nothing\n", "[]", " [ ] "} {
		_, err := coordinator.ParsePayFile(strings.NewReader(f), wallet.Regtest)
		if got := problems(t, err); len(got) != 1 || got[0] != "the file holds no payments" {
			t.Errorf("%q: %v", f, got)
		}
	}
	junk := make([]byte, 10<<20)
	rand.Read(junk)
	_, err := coordinator.ParsePayFile(bytes.NewReader(junk), wallet.Regtest)
	if got := problems(t, err); len(got) != 1 || got[0] != "larger than 4 MiB: split it" {
		t.Errorf("10 MiB of junk: %v", got)
	}
	// Junk under the cap: checking stops after MaxPayProblems, and
	// nothing in the messages can drive a terminal.
	_, err = coordinator.ParsePayFile(bytes.NewReader(junk[:1<<20]), wallet.Regtest)
	var pe *coordinator.PayFileError
	if !errors.As(err, &pe) || !pe.Stopped || len(pe.Problems) != coordinator.MaxPayProblems {
		t.Fatalf("1 MiB of junk: %v", err)
	}
	for _, r := range err.Error() {
		if r < ' ' && r != '\n' || r == 0x7f {
			t.Fatalf("control character %q in the error", r)
		}
	}
	if !strings.HasPrefix(err.Error(), "pay file refused: at least 100 problems") {
		t.Errorf("error starts %.60q", err.Error())
	}
}

func TestPayFileJSONProblems(t *testing.T) {
	a := addrOf(t, "p2wpkh", wallet.Regtest)
	file := "[\n" +
		"{\"address\": \"" + a + "\", \"amount\": \"0.1\"},\n" +
		"{\"amount\": \"0.1\"},\n" +
		"{\"address\": \"" + a + "\", \"amount\": \"0.1\", \"memo\": 1},\n" +
		"\n  {\"address\": \"" + a + "\", \"amount\": true}\n" +
		"]"
	_, err := coordinator.ParsePayFile(strings.NewReader(file), wallet.Regtest)
	got := problems(t, err)
	want := []string{
		"line 3: no address",
		"line 4: want {\"address\": …, \"amount\": …, \"label\": …}: json: unknown field \"memo\"",
		"line 6: amount \"true\": want BTC like 0.5",
		"line 6: address " + a + " is also paid on line 2",
	}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("got %s\nwant %s…", got[i], want[i])
		}
	}
	_, err = coordinator.ParsePayFile(strings.NewReader("[\n{\"address\": 1,\n"), wallet.Regtest)
	if got := problems(t, err); len(got) != 1 || !strings.HasPrefix(got[0], "line 2: ") {
		t.Errorf("broken JSON: %q", got)
	}
}

func FuzzParsePayFile(f *testing.F) {
	a := addrOf(f, "p2wpkh", wallet.Regtest)
	f.Add([]byte("address,amount\n" + a + ",0.1,x\n"))
	f.Add([]byte(`[{"address":"` + a + `","amount":1}]`))
	f.Add([]byte("\"a,b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pays, err := coordinator.ParsePayFile(bytes.NewReader(data), wallet.Regtest)
		if err != nil {
			var pe *coordinator.PayFileError
			if !errors.As(err, &pe) || len(pe.Problems) == 0 || len(pe.Problems) > coordinator.MaxPayProblems {
				t.Fatalf("error %v", err)
			}
			return
		}
		if len(pays) == 0 {
			t.Fatal("no payments and no error")
		}
		seen := map[string]bool{}
		for _, p := range pays {
			spk, err := wallet.ScriptFromAddress(p.Address, wallet.Regtest)
			if err != nil || p.Amount < wallet.DustThreshold(spk) || p.Amount > wallet.MaxMoney || seen[string(spk)] {
				t.Fatalf("accepted %+v", p)
			}
			seen[string(spk)] = true
		}
	})
}
