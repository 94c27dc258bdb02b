package main

import (
	"bytes"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/signer"
	"github.com/kinko-project/kinko/wallet"
	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	os.Exit(testscript.RunMain(m, map[string]func() int{"kinko-signer": Main}))
}

// The scripts run kinko-signer as a user would. Without a coordinator at
// hand, they build the PSBTs they sign with the coordinator's own
// BuildPSBT (mkpsbt) from wallets made of the signers' xpub output
// (multisig).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"multisig": descriptorCmd("multisig", wallet.P2WSH),
			"wpkh":     cmdWPKH,
			"mkpsbt":   cmdMkPSBT,
			"tr":       descriptorCmd("tr", wallet.P2TR),
			"tamper":   cmdTamper,
			// envfile VAR FILE sets VAR to the first line of FILE.
			"envfile": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: envfile VAR FILE")
				}
				line, _, _ := strings.Cut(ts.ReadFile(args[1]), "\n")
				ts.Setenv(args[0], strings.TrimSpace(line))
			},
			// tamperhistory KEYSTORE lowers the first history entry's
			// amount by one satoshi, as someone holding the password
			// could, without mending the chain.
			"tamperhistory": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: tamperhistory KEYSTORE")
				}
				ks, err := signer.OpenKeystore(ts.MkAbs(args[0]), strings.TrimSpace(ts.ReadFile("pw")))
				ts.Check(err)
				h := ks.History()
				if len(h) == 0 {
					ts.Fatalf("no history to tamper with")
				}
				h[0].Spent--
				ts.Check(ks.Save())
			},
		},
	})
}

// descriptorCmd returns the script command NAME OUT M KEYFILE..., which
// writes the regtest descriptor of script type st of the key records in
// the files, as 'kinko wallet create' makes it: "multisig" writes
// wsh(sortedmulti), "tr" tr(NUMS,sortedmulti_a).
func descriptorCmd(name string, st wallet.ScriptType) func(ts *testscript.TestScript, neg bool, args []string) {
	return func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 3 {
			ts.Fatalf("usage: %s OUT M KEYFILE...", name)
		}
		m, err := strconv.Atoi(args[1])
		ts.Check(err)
		var recs []*wallet.KeyRecord
		for _, f := range args[2:] {
			rec, err := wallet.ParseKeyRecord(strings.TrimSpace(ts.ReadFile(f)), wallet.Regtest)
			ts.Check(err)
			recs = append(recs, rec)
		}
		d, err := wallet.NewMultisig(wallet.Regtest, st, m, recs)
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(d.String()+"\n"), 0o644))
	}
}

// tamper IN OUT WHAT writes the PSBT IN with input 0 changed: WHAT is
// sighash-none, control-block (its parity bit flipped) or internal-key
// (a cosigner's key instead).
func cmdTamper(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: tamper IN OUT WHAT")
	}
	p, err := psbt.Parse([]byte(ts.ReadFile(args[0])))
	ts.Check(err)
	in := &p.Inputs[0]
	switch args[2] {
	case "sighash-none":
		in.SighashType = psbt.SigHashNone
	case "control-block":
		in.TaprootLeafScript[0].ControlBlock[0] ^= 1
	case "internal-key":
		in.TaprootInternalKey = in.TaprootBip32Derivation[0].XOnlyPubKey
	default:
		ts.Fatalf("tamper: unknown %q", args[2])
	}
	b, err := p.Serialize()
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), b, 0o644))
}

// wpkh OUT KEYFILE writes the regtest single-key descriptor
// wpkh(KEY/<0;1>/*) of the key record in the file.
func cmdWPKH(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: wpkh OUT KEYFILE")
	}
	rec, err := wallet.ParseKeyRecord(strings.TrimSpace(ts.ReadFile(args[1])), wallet.Regtest)
	ts.Check(err)
	d, err := wallet.ParseDescriptor("wpkh("+rec.String()+"/<0;1>/*)", wallet.Regtest)
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(d.String()+"\n"), 0o644))
}

// mkpsbt OUT FROM.desc PAYMENT... writes a PSBT spending a 1 BTC coin of
// FROM (receive index 0) to the payments, the rest less a 1000 sat fee to
// FROM's change index 0. A PAYMENT is ADDRESS:AMOUNT, or
// WALLET.desc:BRANCH/INDEX:AMOUNT with the derivations and scripts a
// coordinator gives for another wallet's address; WALLET.desc:…:lie pays
// the script of INDEX+1 with the derivations of INDEX.
func cmdMkPSBT(ts *testscript.TestScript, neg bool, args []string) {
	n := 1 // -inputs=N: N coins of 1 BTC, at receive indexes 0 to N-1
	if len(args) > 0 && strings.HasPrefix(args[0], "-inputs=") {
		var err error
		n, err = strconv.Atoi(strings.TrimPrefix(args[0], "-inputs="))
		ts.Check(err)
		args = args[1:]
	}
	if len(args) < 3 {
		ts.Fatalf("usage: mkpsbt [-inputs=N] OUT FROM.desc PAYMENT...")
	}
	from := readDesc(ts, args[1])
	var coins []coordinator.FundedCoin
	for k := range n {
		recv, err := from.Derive(false, uint32(k))
		ts.Check(err)
		h := sha256.Sum256(recv.ScriptPubKey)
		prev := &psbt.Tx{Version: 2,
			Inputs:  []*psbt.TxIn{{PrevOut: psbt.OutPoint{Hash: h, Index: 0}, Sequence: 0xffffffff}},
			Outputs: []*psbt.TxOut{{Value: 100_000_000, PkScript: recv.ScriptPubKey}},
		}
		coins = append(coins, coordinator.FundedCoin{Coin: coordinator.Coin{OutPoint: psbt.OutPoint{Hash: prev.TxID()}, Value: 100_000_000, Index: uint32(k)}, Prev: prev})
	}
	var outs []*psbt.TxOut
	var claims []*wallet.Derived
	rest := int64(n) * (100_000_000 - 1000)
	for _, pay := range args[2:] {
		parts := strings.Split(pay, ":")
		amt, err := wallet.ParseAmount(parts[len(parts)-1])
		if len(parts) == 4 && parts[3] == "lie" {
			amt, err = wallet.ParseAmount(parts[2])
		}
		ts.Check(err)
		rest -= amt
		if len(parts) == 2 {
			spk, err := wallet.ScriptFromAddress(parts[0], wallet.Regtest)
			ts.Check(err)
			outs = append(outs, &psbt.TxOut{Value: amt, PkScript: spk})
			claims = append(claims, nil)
			continue
		}
		d := readDesc(ts, parts[0])
		branch, index, ok := strings.Cut(parts[1], "/")
		i, err := strconv.ParseUint(index, 10, 32)
		if !ok || err != nil {
			ts.Fatalf("payment %q: want BRANCH/INDEX", pay)
		}
		der, err := d.Derive(branch == "1", uint32(i))
		ts.Check(err)
		spk := der.ScriptPubKey
		if len(parts) == 4 {
			other, err := d.Derive(branch == "1", uint32(i)+1)
			ts.Check(err)
			spk = other.ScriptPubKey
		}
		outs = append(outs, &psbt.TxOut{Value: amt, PkScript: spk})
		claims = append(claims, der)
	}
	change, err := from.Derive(true, 0)
	ts.Check(err)
	outs = append(outs, &psbt.TxOut{Value: rest, PkScript: change.ScriptPubKey})
	p, err := coordinator.BuildPSBT(from, coins, outs, len(outs)-1, 0, 0)
	ts.Check(err)
	for j, der := range claims {
		if der == nil {
			continue
		}
		po := &p.Outputs[j]
		po.WitnessScript, po.RedeemScript = der.WitnessScript, der.RedeemScript
		for _, k := range der.Keys {
			po.Bip32Derivation = append(po.Bip32Derivation, psbt.Bip32Derivation{PubKey: k.PubKey, Fingerprint: k.Origin.Fingerprint, Path: k.Origin.Path})
		}
	}
	b, err := p.Serialize()
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o644))
}

func readDesc(ts *testscript.TestScript, file string) *wallet.Descriptor {
	d, err := wallet.ParseDescriptor(strings.TrimSpace(ts.ReadFile(file)), wallet.Regtest)
	ts.Check(err)
	return d
}

// The signer runs on an air-gapped machine: it must not link any
// networking or process-spawning package.
func TestLinksNoNetworking(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		switch pkg {
		case "net", "net/http", "net/rpc", "os/exec", "crypto/tls", "net/netip":
			t.Errorf("kinko-signer links %s", pkg)
		}
	}
}

// Two builds with -trimpath give the same bytes, so anyone can check the
// binary on a signer against the source.
func TestReproducibleBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the signer twice")
	}
	var bins [][]byte
	for i := 0; i < 2; i++ {
		out := filepath.Join(t.TempDir(), "kinko-signer")
		cmd := exec.Command("go", "build", "-trimpath", "-o", out, ".")
		// A separate build cache for the second build, so it is really
		// built again rather than copied.
		if i == 1 {
			cmd.Env = append(os.Environ(), "GOCACHE="+t.TempDir())
		}
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %d: %v\n%s", i, err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		bins = append(bins, b)
	}
	if !bytes.Equal(bins[0], bins[1]) {
		t.Fatal("two -trimpath builds of kinko-signer differ")
	}
}
