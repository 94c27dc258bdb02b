package psbt

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

func TestParseTxAgainstBtcd(t *testing.T) {
	b, err := os.ReadFile("testdata/sighash.json")
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]any
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatal(err)
	}
	raws := []string{loadBIP174(t).Walkthrough.Extractor.TxHex}
	for _, row := range rows {
		if len(row) == 5 {
			raws = append(raws, row[0].(string))
		}
	}
	for _, raw := range raws {
		tx, err := ParseTx(unhex(t, raw))
		if err != nil {
			t.Fatal(err)
		}
		w := toWire(t, tx)
		if tx.TxID().String() != w.TxHash().String() || tx.WTxID().String() != w.WitnessHash().String() {
			t.Fatalf("ids differ from btcd for %s", raw)
		}
		if weight := 3*w.SerializeSizeStripped() + w.SerializeSize(); tx.Weight() != weight {
			t.Fatalf("weight %d, btcd %d", tx.Weight(), weight)
		}
		if tx.VSize() != (tx.Weight()+3)/4 {
			t.Fatal("vsize")
		}
	}
}

func TestParseTxStrict(t *testing.T) {
	// A 1-in 1-out segwit tx to mutate.
	good := unhex(t, "02000000000101"+
		"0000000000000000000000000000000000000000000000000000000000000001"+"00000000"+"00"+"ffffffff"+
		"01"+"0100000000000000"+"0151"+
		"01"+"0101"+
		"00000000")
	tx, err := ParseTx(good)
	if err != nil {
		t.Fatal(err)
	}
	if !tx.HasWitness() || !bytes.Equal(tx.Bytes(), good) || len(tx.BytesNoWitness()) != len(good)-5 {
		t.Fatal("round trip")
	}
	if tx.Weight() != 3*(len(good)-5)+len(good) || tx.VSize() != (tx.Weight()+3)/4 {
		t.Fatalf("weight %d", tx.Weight())
	}
	cases := map[string]struct {
		b   []byte
		err error
	}{
		"truncated":           {good[:len(good)-1], ErrTruncated},
		"trailing":            {append(append([]byte{}, good...), 0), ErrTrailingBytes},
		"empty":               {nil, ErrTruncated},
		"non-minimal count":   {append(append(append([]byte{}, good[:6]...), 0xfd, 0x01, 0x00), good[7:]...), ErrNonMinimalCompactSize},
		"huge input count":    {append(append([]byte{}, good[:6]...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), ErrCountTooLarge},
		"input count > bytes": {append(append([]byte{}, good[:6]...), 0xfe, 0x00, 0x00, 0x01, 0x00), ErrCountTooLarge},
	}
	for name, c := range cases {
		if _, err := ParseTx(c.b); !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", name, err, c.err)
		}
	}
	// Witness flag set, but no witness data.
	noWit := append([]byte{}, good[:len(good)-4-3]...)
	noWit = append(noWit, 0x00, 0, 0, 0, 0)
	if _, err := ParseTx(noWit); err == nil {
		t.Error("superfluous witness accepted")
	}
	// Unknown flag.
	bad := append([]byte{}, good...)
	bad[5] = 0x03
	if _, err := ParseTx(bad); err == nil {
		t.Error("unknown flag accepted")
	}
	// The empty transaction (0 inputs, 0 outputs) round-trips.
	empty := unhex(t, "01000000000000000000")
	if tx, err := ParseTx(empty); err != nil || !bytes.Equal(tx.Bytes(), empty) {
		t.Errorf("empty tx: %v", err)
	}
}

func TestHash(t *testing.T) {
	const s = "75ddabb27b8845f5247975c8a5ba7c6f336c4570708ebe230caf6db5217ae858"
	h, err := ParseHash(s)
	if err != nil {
		t.Fatal(err)
	}
	if h[0] != 0x58 || h[31] != 0x75 || h.String() != s {
		t.Fatalf("got %x / %s", h[:], h)
	}
	if o := (OutPoint{h, 7}); o.String() != s+":7" {
		t.Fatal(o.String())
	}
	for _, bad := range []string{"", "00", s + "00", "zz" + s[2:]} {
		if _, err := ParseHash(bad); err == nil {
			t.Errorf("ParseHash(%q) accepted", bad)
		}
	}
}

func TestTxCopyIsDeep(t *testing.T) {
	tx, _ := ParseTx(unhex(t, loadBIP174(t).Walkthrough.Extractor.TxHex))
	want := hex.EncodeToString(tx.Bytes())
	c := tx.Copy()
	c.Inputs[0].ScriptSig[1] ^= 1
	c.Inputs[1].Witness[1][0] ^= 1
	c.Outputs[0].PkScript[0] ^= 1
	if hex.EncodeToString(tx.Bytes()) != want {
		t.Fatal("Copy shares memory")
	}
}
