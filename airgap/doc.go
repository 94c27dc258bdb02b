// Package airgap moves PSBTs and related payloads across an air gap.
//
// It speaks the two animated-QR formats used by Bitcoin hardware and
// software wallets:
//
//   - BC-UR (Blockchain Commons BCR-2020-005 Uniform Resources with the
//     BCR-2020-012 bytewords and the multipart fountain codes of the
//     reference implementation), see [UREncoder] and [URDecoder];
//   - BBQr (Coinkite's "Better Bitcoin QR"), see [EncodeBBQr] and
//     [BBQrDecoder].
//
// [DecodeBytes] recognises a single blob (binary, base64 or hex PSBT, a
// single-part UR or BBQr) and [Collector] assembles multipart codes fed one
// part per line, as a USB scanner in keyboard mode or `zbarcam --raw`
// produces them. [RenderPNGs], [RenderGIF], [RenderTerminal] and [Animate]
// draw QR codes; [ScanImage] reads them back from PNG, JPEG or GIF files.
//
// The package is linked into the air-gapped signer: it must never import
// net, net/http or os/exec, directly or indirectly. Every decoder of
// untrusted input checks declared sizes and counts against the caps below
// before allocating.
package airgap

// Size caps applied to untrusted input before allocation.
const (
	// MaxPayloadSize is the largest payload (PSBT, CBOR, file) any decoder
	// in this package will reassemble.
	MaxPayloadSize = 16 << 20
	// MaxURSeqLen is the largest fountain-code sequence length accepted.
	MaxURSeqLen = 65536
	// maxTextInput caps textual input (hex doubles the size, bytewords
	// doubles it too).
	maxTextInput = 2*MaxPayloadSize + 4096
)
