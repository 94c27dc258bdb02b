package psbt

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	btcpsbt "github.com/btcsuite/btcd/psbt/v2"
)

type vectorCase struct {
	Description string `json:"description"`
	Base64      string `json:"base64"`
}

type bip174Vectors struct {
	Source              string       `json:"source"`
	Invalid             []vectorCase `json:"invalid"`
	Valid               []vectorCase `json:"valid"`
	SignerCheckFailures []vectorCase `json:"signer_check_failures"`
	Walkthrough         struct {
		Creator struct {
			Outputs []struct {
				Script string `json:"script"`
				Amount int64  `json:"amount"`
			} `json:"outputs"`
			Inputs []struct {
				TxID string `json:"txid"`
				Vout uint32 `json:"vout"`
			} `json:"inputs"`
			Result string `json:"result"`
		} `json:"creator"`
		Updater struct {
			RedeemScripts  []string `json:"redeem_scripts"`
			WitnessScripts []string `json:"witness_scripts"`
			PreviousTxs    []string `json:"previous_txs"`
			PubKeys        []struct {
				PubKey string `json:"pubkey"`
				Path   string `json:"path"`
			} `json:"pubkeys"`
			MasterFingerprint string `json:"master_fingerprint"`
			Result            string `json:"result"`
		} `json:"updater"`
		UpdaterSighashAll struct {
			Result string `json:"result"`
		} `json:"updater_sighash_all"`
		Signer1   struct{ Result string } `json:"signer1"`
		Signer2   struct{ Result string } `json:"signer2"`
		Combiner  struct{ Result string } `json:"combiner"`
		Finalizer struct{ Result string } `json:"finalizer"`
		Extractor struct {
			TxHex string `json:"tx_hex"`
		} `json:"extractor"`
	} `json:"walkthrough"`
	CombinerUnknowns struct {
		Inputs []string `json:"inputs"`
		Result string   `json:"result"`
	} `json:"combiner_unknowns"`
}

func loadBIP174(t testing.TB) *bip174Vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/bip174_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v bip174Vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

func b64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64: %v", err)
	}
	return b
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("hex: %v", err)
	}
	return b
}

func mustParse(t testing.TB, b []byte) *Packet {
	t.Helper()
	p, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

func mustSerialize(t testing.TB, p *Packet) []byte {
	t.Helper()
	b, err := p.Serialize()
	if err != nil {
		t.Fatalf("Serialize: %v", err)
	}
	return b
}

// Why each BIP-174 invalid vector must fail: the sentinel and the place.
var invalidExpect = []struct {
	err   error
	where string
}{
	{ErrBadMagic, ""},
	{ErrMissingMap, "output 0"},
	{ErrUnsignedTxNotEmpty, "global: key type 0x00"},
	{ErrMissingUnsignedTx, "global"},
	{ErrDuplicateKey, "input 0: key type 0x00"},
	{ErrInvalidKey, "global: key type 0x00"},
	{ErrInvalidKey, "input 0: key type 0x01"},
	{ErrInvalidKey, "input 0: key type 0x02"},
	{ErrInvalidKey, "input 0: key type 0x04"},
	{ErrInvalidKey, "input 0: key type 0x05"},
	{ErrInvalidKey, "input 0: key type 0x06"},
	{ErrInvalidKey, "input 0: key type 0x00"},
	{ErrInvalidKey, "input 0: key type 0x07"},
	{ErrInvalidKey, "input 1: key type 0x08"},
	{ErrInvalidKey, "output 0: key type 0x02"},
	{ErrInvalidKey, "input 0: key type 0x03"},
	{ErrInvalidKey, "output 0: key type 0x00"},
	// The bad key length (0x21) swallows the witness script's value length,
	// so the value of output 1's (invalid) witness-script key is truncated.
	{ErrTruncated, "output 1: key type 0x01"},
	{ErrInvalidValue, "global: key type 0x00"},
}

func TestBIP174Invalid(t *testing.T) {
	v := loadBIP174(t)
	if len(v.Invalid) != len(invalidExpect) {
		t.Fatalf("%d invalid vectors, %d expectations", len(v.Invalid), len(invalidExpect))
	}
	for i, c := range v.Invalid {
		_, err := Parse(b64(t, c.Base64))
		if err == nil {
			t.Errorf("invalid %d (%s): parsed", i, c.Description)
			continue
		}
		want := invalidExpect[i]
		if !errors.Is(err, want.err) || !strings.Contains(err.Error(), want.where) {
			t.Errorf("invalid %d (%s): error %q, want %v at %q", i, c.Description, err, want.err, want.where)
		}
		var fe *FieldError
		if want.where != "" && !errors.As(err, &fe) {
			t.Errorf("invalid %d: error %q is not a *FieldError", i, err)
		}
		t.Logf("invalid %d (%s): %v", i, c.Description, err)
	}
}

// checkRoundTrip checks that b parses, that re-serialisation is stable,
// that it is identical to b when b is canonical, and that btcd parses the
// original and the re-serialisation equally.
func checkRoundTrip(t *testing.T, name string, b []byte) {
	t.Helper()
	p, err := Parse(b)
	if err != nil {
		t.Errorf("%s: Parse: %v", name, err)
		return
	}
	s1 := mustSerialize(t, p)
	s2 := mustSerialize(t, mustParse(t, s1))
	if !bytes.Equal(s1, s2) {
		t.Errorf("%s: re-serialisation is not stable", name)
	}
	if !bytes.Equal(s1, b) {
		t.Logf("%s: not in canonical order; re-serialisation differs (%d vs %d bytes)", name, len(s1), len(b))
		if len(s1) != len(b) {
			t.Errorf("%s: re-serialisation changed the size", name)
		}
		if isCanonicalOrder(t, b) {
			t.Errorf("%s: input was canonical but re-serialisation differs", name)
		}
	}
	// btcd must parse both to the same packet.
	bp1, err1 := btcpsbt.NewFromRawBytes(bytes.NewReader(b), false)
	bp2, err2 := btcpsbt.NewFromRawBytes(bytes.NewReader(s1), false)
	if (err1 == nil) != (err2 == nil) {
		t.Errorf("%s: btcd parses original: %v, re-serialised: %v", name, err1, err2)
		return
	}
	if err1 != nil {
		t.Logf("%s: btcd rejects this vector too: %v", name, err1)
		return
	}
	var o1, o2 bytes.Buffer
	if err := bp1.Serialize(&o1); err != nil {
		t.Fatal(err)
	}
	if err := bp2.Serialize(&o2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(o1.Bytes(), o2.Bytes()) {
		t.Errorf("%s: btcd sees different packets before and after re-serialisation", name)
	}
}

// isCanonicalOrder reports whether every map of b has its keys sorted.
func isCanonicalOrder(t *testing.T, b []byte) bool {
	r := &reader{b: b, off: len(magic)}
	for r.remaining() > 0 {
		pairs, err := readMap(r, "x")
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(pairs); i++ {
			if bytes.Compare(pairs[i-1].key, pairs[i].key) > 0 {
				return false
			}
		}
	}
	return true
}

func TestBIP174Valid(t *testing.T) {
	v := loadBIP174(t)
	if len(v.Valid) != 10 {
		t.Fatalf("%d valid vectors", len(v.Valid))
	}
	for i, c := range v.Valid {
		checkRoundTrip(t, "valid "+c.Description, b64(t, c.Base64))
		_ = i
	}
	for _, c := range v.SignerCheckFailures {
		checkRoundTrip(t, "signer-check "+c.Description, b64(t, c.Base64))
	}
	w := v.Walkthrough
	for name, s := range map[string]string{
		"creator": w.Creator.Result, "updater": w.Updater.Result, "updater+sighash": w.UpdaterSighashAll.Result,
		"signer1": w.Signer1.Result, "signer2": w.Signer2.Result, "combiner": w.Combiner.Result,
		"finalizer": w.Finalizer.Result,
	} {
		checkRoundTrip(t, name, b64(t, s))
	}
	for i, s := range append(v.CombinerUnknowns.Inputs, v.CombinerUnknowns.Result) {
		checkRoundTrip(t, "combiner unknowns "+string(rune('0'+i)), b64(t, s))
	}
}
