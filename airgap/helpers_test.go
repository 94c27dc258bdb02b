package airgap

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
)

// fakePSBT builds a PSBT-shaped blob for a 2-of-3 P2WSH wallet: random
// hashes, keys and amounts, but the repeated structure (key types, three
// cosigner fingerprints, BIP-48 paths, multisig scripts) of a real one,
// so compression ratios are realistic. It is not a valid PSBT.
func fakePSBT(r *rand.Rand, nIn, nOut int) []byte {
	rnd := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	var buf bytes.Buffer
	kv := func(key, val []byte) {
		buf.Write(binary.AppendUvarint(nil, uint64(len(key))))
		buf.Write(key)
		buf.Write(binary.AppendUvarint(nil, uint64(len(val))))
		buf.Write(val)
	}
	fps := [][]byte{rnd(4), rnd(4), rnd(4)}
	xpubs := [][]byte{rnd(33), rnd(33), rnd(33)}
	path := func(fp []byte, change, idx uint32) []byte {
		p := append([]byte{}, fp...)
		for _, e := range []uint32{48 | 1<<31, 1 << 31, 1 << 31, 2 | 1<<31, change, idx} {
			p = binary.LittleEndian.AppendUint32(p, e)
		}
		return p
	}
	buf.WriteString(psbtMagic)
	tx := []byte{2, 0, 0, 0, byte(nIn)}
	for range nIn {
		tx = append(tx, rnd(32)...)
		tx = append(tx, byte(r.IntN(3)), 0, 0, 0, 0, 0xfd, 0xff, 0xff, 0xff)
	}
	tx = append(tx, byte(nOut))
	for range nOut {
		tx = binary.LittleEndian.AppendUint64(tx, r.Uint64N(1e8))
		tx = append(tx, 34, 0, 32)
		tx = append(tx, rnd(32)...)
	}
	tx = append(tx, 0, 0, 0, 0)
	kv([]byte{0}, tx)
	for i := range xpubs {
		kv(append([]byte{1}, append(rnd(45), xpubs[i]...)...), path(fps[i], 0, 0)[:20])
	}
	buf.WriteByte(0)
	for in := range nIn {
		utxo := binary.LittleEndian.AppendUint64(nil, r.Uint64N(1e8))
		utxo = append(append(utxo, 34, 0, 32), rnd(32)...)
		kv([]byte{1}, utxo)
		script := []byte{0x52}
		keys := [][]byte{rnd(33), rnd(33), rnd(33)}
		for _, k := range keys {
			script = append(append(script, 33), k...)
		}
		script = append(script, 0x53, 0xae)
		kv([]byte{5}, script)
		for i, k := range keys {
			kv(append([]byte{6}, k...), path(fps[i], 0, uint32(in)))
		}
		buf.WriteByte(0)
	}
	for out := range nOut {
		if out == 0 {
			for i := range fps {
				kv(append([]byte{2}, rnd(33)...), path(fps[i], 1, uint32(out)))
			}
		}
		buf.WriteByte(0)
	}
	return buf.Bytes()
}

func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
