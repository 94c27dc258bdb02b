package airgap

import (
	"bytes"

	"github.com/klauspost/compress/flate"
)

// bbqrWindow is the DEFLATE window of BBQr's "Z" encoding: receivers
// inflate with zlib wbits=10, which holds the last 1 KiB, so no
// back-reference may reach further. compress/flate always uses a 32 KiB
// window and cannot be told otherwise; klauspost/compress/flate's
// NewWriterWindow can, and references at most bbqrWindow bytes back.
const bbqrWindow = 1 << 10

// deflateRaw compresses data as raw DEFLATE (RFC 1951) within bbqrWindow.
func deflateRaw(data []byte) []byte {
	var b bytes.Buffer
	w, err := flate.NewWriterWindow(&b, bbqrWindow)
	if err != nil {
		// Only for a window outside 32..32768, and bbqrWindow is not.
		panic(err)
	}
	// Writing to a bytes.Buffer does not fail.
	w.Write(data)
	w.Close()
	return b.Bytes()
}
