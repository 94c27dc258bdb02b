package coordinator_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kinko-project/kinko/airgap"
	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/signer"
	"github.com/kinko-project/kinko/wallet"
)

// compactReply has party i sign the session and answer with the compact
// reply, as kinko-signer does for QR codes.
func (f *fixture) compactReply(s *coordinator.Session, i int) []byte {
	f.t.Helper()
	fp, err := f.parties[i].ks.Fingerprint()
	if err != nil {
		f.t.Fatal(err)
	}
	reply, err := signer.CompactReply(f.sign(s, i), fp)
	if err != nil {
		f.t.Fatal(err)
	}
	return reply
}

// alterReply decodes reply, lets fn change it, and encodes it again.
func alterReply(t *testing.T, reply []byte, fn func(*airgap.SigReply)) []byte {
	t.Helper()
	r, err := airgap.DecodeSigReply(reply)
	if err != nil {
		t.Fatal(err)
	}
	fn(r)
	b, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// refusedReply imports reply into session s and checks that it is
// refused with want, its message holding msg, and that no input has a
// signature after it.
func (f *fixture) refusedReply(t *testing.T, s *coordinator.Session, reply []byte, want error, msg string) {
	t.Helper()
	_, err := f.coord.Import(context.Background(), s.ID, reply)
	if !errors.Is(err, want) || !strings.Contains(err.Error(), msg) {
		t.Fatalf("got %v, want %v containing %q", err, want, msg)
	}
	for i, in := range f.haveSigs(s.ID) {
		if in.Have != 0 {
			t.Errorf("input %d has %d signatures after a refused reply", i, in.Have)
		}
	}
}

// TestImportCompactReply: a 2-of-3 P2WSH spend of three coins signed by
// two compact replies, finalized and confirmed on the regtest node; before
// that, altered replies are refused and add nothing.
func TestImportCompactReply(t *testing.T) {
	f := newWallet(t, wallet.P2WSH, 2, 3, 30_000_000, 30_000_000, 30_000_000)
	s, _ := f.spend(80_000_000) // needs the three coins
	nIn := len(f.haveSigs(s.ID))
	if nIn != 3 {
		t.Fatalf("%d inputs, want 3", nIn)
	}
	r0 := f.compactReply(s, 0)
	if want := 44 + 67*nIn; len(r0) != want {
		t.Errorf("reply of %d bytes, want %d", len(r0), want)
	}

	alter := func(fn func(*airgap.SigReply)) []byte { return alterReply(t, r0, fn) }
	for _, c := range []struct {
		name string
		in   []byte
		want error
		msg  string
	}{
		{"wrong txid", alter(func(r *airgap.SigReply) { r.TxID[0] ^= 1 }), coordinator.ErrDifferentTx, "the reply signs"},
		{"bad signature", alter(func(r *airgap.SigReply) { r.Sigs[1].RS[5] ^= 1 }), coordinator.ErrBadSignature, "input 1: signature by"},
		{"input out of range", alter(func(r *airgap.SigReply) { r.Sigs[2].Input = 7 }), coordinator.ErrBadSignature, "input 7: the session's transaction has 3 inputs"},
		{"fingerprint not in the wallet", alter(func(r *airgap.SigReply) { r.Fingerprint = [4]byte{0xde, 0xad, 0xbe, 0xef} }), coordinator.ErrBadSignature, "no key of fingerprint deadbeef"},
		{"another signer's fingerprint", alter(func(r *airgap.SigReply) { r.Fingerprint = f.parties[1].rec.Origin.Fingerprint }), coordinator.ErrBadSignature, "does not verify"},
		{"truncated", r0[:len(r0)-1], coordinator.ErrBadReply, "3 signatures declared, the reply has room for 2"},
	} {
		t.Run(c.name, func(t *testing.T) { f.refusedReply(t, s, c.in, c.want, c.msg) })
	}

	if r := f.importOK(s.ID, r0); r.Added != nIn || r.Duplicate {
		t.Fatalf("first reply: %+v, want %d added", r, nIn)
	}
	if r := f.importOK(s.ID, r0); r.Added != 0 || !r.Duplicate {
		t.Fatalf("same reply again: %+v", r)
	}
	if r := f.importOK(s.ID, f.compactReply(s, 2)); r.Added != nIn {
		t.Fatalf("second reply: %+v, want %d added", r, nIn)
	}
	for i, in := range f.haveSigs(s.ID) {
		if in.Have != 2 || in.Need != 2 {
			t.Errorf("input %d: %d of %d signatures, want 2 of 2", i, in.Have, in.Need)
		}
	}
	// Each import that added signatures is in the audit log with the
	// signer's fingerprint; the refused ones left nothing.
	var fps []string
	for _, e := range auditEntries(t, f.coord) {
		if e.Kind != "signature-imported" {
			continue
		}
		d := detail(t, e)
		if d["signatures"] != float64(nIn) {
			t.Errorf("audit entry %d: %v signatures, want %d", e.Seq, d["signatures"], nIn)
		}
		fps = append(fps, d["fingerprints"].([]any)[0].(string))
	}
	want := []string{f.parties[0].rec.Origin.Fingerprint.String(), f.parties[0].rec.Origin.Fingerprint.String(), f.parties[2].rec.Origin.Fingerprint.String()}
	if strings.Join(fps, " ") != strings.Join(want, " ") {
		t.Errorf("audited fingerprints %v, want %v", fps, want)
	}
	f.finishAndConfirm(s, 90_000_000, 80_000_000)
}

// TestImportCompactReplyTaproot: a 2-of-3 tr() spend of two coins signed
// by two compact replies carrying BIP-340 signatures, finalized and
// confirmed on the regtest node; before that, altered replies are
// refused and add nothing.
func TestImportCompactReplyTaproot(t *testing.T) {
	f := newWallet(t, wallet.P2TR, 2, 3, 50_000_000, 70_000_000)
	s, _ := f.spend(100_000_000)
	nIn := len(f.haveSigs(s.ID))
	r0 := f.compactReply(s, 0)
	got, err := airgap.DecodeSigReply(r0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Sigs) != 0 || len(got.TapSigs) != nIn {
		t.Fatalf("reply holds %d ECDSA and %d taproot signatures, want 0 and %d", len(got.Sigs), len(got.TapSigs), nIn)
	}
	alter := func(fn func(*airgap.SigReply)) []byte { return alterReply(t, r0, fn) }
	for _, c := range []struct {
		name string
		in   []byte
		want error
		msg  string
	}{
		{"bad signature", alter(func(r *airgap.SigReply) { r.TapSigs[1].RS[40] ^= 1 }), coordinator.ErrBadSignature, "does not verify"},
		{"another sighash type", alter(func(r *airgap.SigReply) { r.TapSigs[0].SigHash = airgap.SigHashAll }), coordinator.ErrBadSignature, "has sighash type 0x1, the session asks for 0x0"},
		{"fingerprint not in the wallet", alter(func(r *airgap.SigReply) { r.Fingerprint = [4]byte{0xde, 0xad, 0xbe, 0xef} }), coordinator.ErrBadSignature, "no taproot key of fingerprint deadbeef"},
		{"another signer's fingerprint", alter(func(r *airgap.SigReply) { r.Fingerprint = f.parties[1].rec.Origin.Fingerprint }), coordinator.ErrBadSignature, "does not verify"},
		{"as ECDSA", alter(func(r *airgap.SigReply) {
			r.Sigs, r.TapSigs = r.TapSigs, nil
			for k := range r.Sigs {
				r.Sigs[k].SigHash = airgap.SigHashAll
				r.Sigs[k].RS[32] &= 0x7f // low S, so that it encodes
			}
		}), coordinator.ErrBadSignature, ""},
	} {
		t.Run(c.name, func(t *testing.T) { f.refusedReply(t, s, c.in, c.want, c.msg) })
	}
	if r := f.importOK(s.ID, r0); r.Added != nIn {
		t.Fatalf("first reply: %+v, want %d added", r, nIn)
	}
	if r := f.importOK(s.ID, f.compactReply(s, 2)); r.Added != nIn {
		t.Fatalf("second reply: %+v, want %d added", r, nIn)
	}
	f.finishAndConfirm(s, 120_000_000, 100_000_000)
}
