package audit_test

import (
	"encoding/json"
	"testing"

	"github.com/kinko-project/kinko/coordinator/audit"
)

// FuzzParseHead: a head the operator types either is refused or comes
// back from String unchanged.
func FuzzParseHead(f *testing.F) {
	f.Add("3:" + "d1f922549b20610f8bb3993c43dcd376518d19b32e38a3d37d8bd047631b86f5")
	f.Add("0:" + "0000000000000000000000000000000000000000000000000000000000000000")
	f.Add("-1:00")
	f.Add("12:zz")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := audit.ParseHead(s)
		if err != nil {
			return
		}
		h2, err := audit.ParseHead(h.String())
		if err != nil || h2 != h {
			t.Fatalf("%q -> %v -> %v, %v", s, h, h2, err)
		}
	})
}

// FuzzCanonicalJSON: the canonical form of any JSON value is valid JSON,
// canonical itself, and holds no raw control character.
func FuzzCanonicalJSON(f *testing.F) {
	f.Add(`{"b":1,"a":[1,2.50,"x\u0000"]}`)
	f.Add(`"\u009b[2J"`)
	f.Add(`{"z":{"y":null,"x":true},"é":"\u2028"}`)
	f.Fuzz(func(t *testing.T, s string) {
		if !json.Valid([]byte(s)) {
			return
		}
		c, err := audit.CanonicalJSON(json.RawMessage(s))
		if err != nil {
			return // e.g. a number encoding/json cannot hold
		}
		if !json.Valid(c) {
			t.Fatalf("%q -> invalid %q", s, c)
		}
		c2, err := audit.CanonicalJSON(json.RawMessage(c))
		if err != nil || string(c2) != string(c) {
			t.Fatalf("%q -> %q -> %q, %v", s, c, c2, err)
		}
		for _, r := range string(c) {
			if r < 0x20 || r >= 0x7f && r <= 0x9f {
				t.Fatalf("%q -> %q holds %U", s, c, r)
			}
		}
	})
}
