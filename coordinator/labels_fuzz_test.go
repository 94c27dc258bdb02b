package coordinator

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/kinko-project/kinko/wallet"
)

// FuzzParseLabels: a BIP-329 file is either refused with problems that
// name lines, or every record it yields is one kinko keeps, well formed,
// and writes back as JSON that reads back the same.
func FuzzParseLabels(f *testing.F) {
	f.Add([]byte(`{"type":"tx","ref":"f91d0a8a78462bc59398f2c5d7a84fcff491c26ba54c4833478b202796c8aafd","label":"Transaction","origin":"wpkh([d34db33f/84'/0'/0'])"}` + "\n" +
		`{"type":"output","ref":"f91d0a8a78462bc59398f2c5d7a84fcff491c26ba54c4833478b202796c8aafd:1","label":"x","spendable":false}`))
	f.Add([]byte(`{"type":"addr","ref":"bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080","label":"a"}`))
	f.Add([]byte(`{"type":"xpub","ref":"xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8","label":"Extended"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, _, err := parseLabels(bytes.NewReader(data), wallet.Regtest)
		if err != nil {
			var le *LabelsFileError
			if !errors.As(err, &le) || len(le.Problems) == 0 {
				t.Fatalf("error %v", err)
			}
			return
		}
		for _, r := range recs {
			switch r.Type {
			case LabelTx, LabelAddr, LabelInput, LabelOutput:
			default:
				t.Fatalf("kept a %q record", r.Type)
			}
			if r.Spendable != nil && r.Type != LabelOutput {
				t.Fatalf("spendable on a %s", r.Type)
			}
			if r.Label != nil && len(*r.Label) > MaxLabel {
				t.Fatalf("label of %d bytes", len(*r.Label))
			}
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			back, _, err := parseLabels(bytes.NewReader(b), wallet.Regtest)
			if err != nil || len(back) != 1 || back[0].Type != r.Type || back[0].Ref != r.Ref {
				t.Fatalf("%s reads back as %+v, %v", b, back, err)
			}
		}
	})
}
