package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kinko-project/kinko/internal/regtest"
	"github.com/kinko-project/kinko/wallet"
	"github.com/rogpeppe/go-internal/testscript"
	_ "modernc.org/sqlite"
)

func TestMain(m *testing.M) {
	os.Exit(testscript.RunMain(m, map[string]func() int{"kinko": Main}))
}

// The scripts in testdata/script run kinko as a user would. Those that
// say "regtest" get a real btcd node of their own, and kinko-signer,
// built from this module, is on their PATH.
func TestScripts(t *testing.T) {
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin, "../kinko-signer")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build kinko-signer: %v\n%s", err, out)
	}
	var mu sync.Mutex
	nodes := map[string]*regtest.Node{}
	nodeOf := func(ts *testscript.TestScript) *regtest.Node {
		mu.Lock()
		defer mu.Unlock()
		n := nodes[ts.Getenv("WORK")]
		if n == nil {
			ts.Fatalf("no node: run 'regtest' first")
		}
		return n
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", bin+string(os.PathListSeparator)+env.Getenv("PATH"))
			env.Setenv("KINKO_DATADIR", filepath.Join(env.WorkDir, "coordinator"))
			return nil
		},
		// [root]: file permissions do not stop this process.
		Condition: func(cond string) (bool, error) {
			if cond == "root" {
				return os.Geteuid() == 0, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// regtest starts a btcd node for this script and points
			// kinko at it.
			"regtest": func(ts *testscript.TestScript, neg bool, args []string) {
				if testing.Short() {
					ts.Fatalf("regtest needs a node; not in -short mode")
				}
				n, err := regtest.Start(context.Background(), regtest.Options{})
				ts.Check(err)
				ts.Defer(func() { n.Stop() })
				mu.Lock()
				nodes[ts.Getenv("WORK")] = n
				mu.Unlock()
				host, user, pass := n.RPC()
				pw := filepath.Join(ts.Getenv("WORK"), "rpc-password")
				ts.Check(os.WriteFile(pw, []byte(pass+"\n"), 0o600))
				ts.Setenv("KINKO_RPC_HOST", host)
				ts.Setenv("KINKO_RPC_USER", user)
				ts.Setenv("KINKO_RPC_PASSWORD_FILE", pw)
			},
			// regtest-stop stops the script's node.
			"regtest-stop": func(ts *testscript.TestScript, neg bool, args []string) {
				ts.Check(nodeOf(ts).Stop())
			},
			// fund ADDR AMOUNT pays from the node's faucet.
			"fund": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: fund ADDR AMOUNT")
				}
				spk, err := wallet.ScriptFromAddress(args[0], wallet.Regtest)
				ts.Check(err)
				amt, err := wallet.ParseAmount(args[1])
				ts.Check(err)
				_, err = nodeOf(ts).Fund(spk, amt)
				ts.Check(err)
			},
			// payfile N FILE writes a CSV pay file of N payments, to
			// random regtest addresses of every type in turn (p2wpkh,
			// p2tr, p2wsh, p2sh, p2pkh), of 10000+i sat, labelled
			// "withdrawal i".
			"payfile": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: payfile N FILE")
				}
				n, err := strconv.Atoi(args[0])
				ts.Check(err)
				var b strings.Builder
				b.WriteString("address,amount,label\n")
				for i := 0; i < n; i++ {
					h := make([]byte, 32)
					rand.Read(h)
					spk := [][]byte{
						append([]byte{0, 20}, h[:20]...),
						append([]byte{0x51, 32}, h...),
						append([]byte{0, 32}, h...),
						append(append([]byte{0xa9, 20}, h[:20]...), 0x87),
						append(append([]byte{0x76, 0xa9, 20}, h[:20]...), 0x88, 0xac),
					}[i%5]
					addr, err := wallet.AddressFromScript(spk, wallet.Regtest)
					ts.Check(err)
					fmt.Fprintf(&b, "%s,%dsat,withdrawal %d\n", addr, 10000+i, i)
				}
				ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(b.String()), 0o600))
			},
			// mine [N] mines N blocks (default 1).
			"mine": func(ts *testscript.TestScript, neg bool, args []string) {
				k := 1
				if len(args) > 1 {
					ts.Fatalf("usage: mine [N]")
				}
				if len(args) == 1 {
					var err error
					k, err = strconv.Atoi(args[0])
					ts.Check(err)
				}
				_, err := nodeOf(ts).Mine(k)
				ts.Check(err)
			},
			// exits CODE PROG ARGS... runs PROG and checks that it exits
			// with CODE.
			"exits": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: exits CODE PROG [ARGS...]")
				}
				want, err := strconv.Atoi(args[0])
				ts.Check(err)
				got := 0
				if err := ts.Exec(args[1], args[2:]...); err != nil {
					var ee *exec.ExitError
					if !errors.As(err, &ee) {
						ts.Fatalf("%s: %v", args[1], err)
					}
					got = ee.ExitCode()
				}
				if got != want {
					ts.Fatalf("%s exited %d, want %d", args[1], got, want)
				}
			},
			// cookie FILE writes the node's RPC user and password to
			// FILE in the form of Bitcoin Core's cookie (user:password).
			"cookie": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: cookie FILE")
				}
				_, user, pass := nodeOf(ts).RPC()
				p := ts.MkAbs(args[0])
				ts.Check(os.MkdirAll(filepath.Dir(p), 0o700))
				ts.Check(os.WriteFile(p, []byte(user+":"+pass), 0o600))
			},
			// envfile VAR FILE sets VAR to the first line of FILE.
			"envfile": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: envfile VAR FILE")
				}
				line, _, _ := strings.Cut(ts.ReadFile(args[1]), "\n")
				ts.Setenv(args[0], strings.TrimSpace(line))
			},
			// sqlite-exec FILE SQL... runs each statement on the
			// SQLite database FILE, as someone with the file would;
			// negated, one of them must fail.
			"sqlite-exec": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) < 2 {
					ts.Fatalf("usage: sqlite-exec FILE SQL...")
				}
				db, err := sql.Open("sqlite", "file:"+ts.MkAbs(args[0])+"?_pragma=busy_timeout(10000)")
				ts.Check(err)
				defer db.Close()
				for _, q := range args[1:] {
					_, err := db.Exec(q)
					if err != nil && neg {
						ts.Logf("%s: %v", q, err)
						return
					}
					if err != nil {
						ts.Fatalf("%s: %v", q, err)
					}
				}
				if neg {
					ts.Fatalf("every statement succeeded")
				}
			},
		},
	})
}
