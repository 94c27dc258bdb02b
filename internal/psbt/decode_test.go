package psbt

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"testing"
)

func TestDecodeDetectsEncoding(t *testing.T) {
	bin := append(append([]byte(nil), magic...), 1, 2, 3, 0xff)
	for name, in := range map[string][]byte{
		"binary":    bin,
		"base64":    []byte(base64.StdEncoding.EncodeToString(bin) + "\n"),
		"hex":       []byte("  " + hex.EncodeToString(bin) + "\r\n"),
		"hex upper": bytes.ToUpper([]byte(hex.EncodeToString(bin))),
	} {
		got, err := Decode(in)
		if err != nil || !bytes.Equal(got, bin) {
			t.Errorf("%s: got %x, %v", name, got, err)
		}
	}
	for name, in := range map[string][]byte{
		"text":       []byte("hello"),
		"bad base64": []byte("cHNidP8!!!"),
		"bad hex":    []byte("70736274ffzz"),
	} {
		if _, err := Decode(in); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	if _, err := Decode([]byte("hello")); !errors.Is(err, ErrUnknownEncoding) {
		t.Errorf("text: %v", err)
	}
}
