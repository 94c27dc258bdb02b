package airgap

import "errors"

// Sentinel errors callers can branch on with errors.Is.
var (
	// ErrTooLarge reports a declared size or count above the package caps.
	ErrTooLarge = errors.New("airgap: input exceeds size limit")
	// ErrChecksum reports a failed checksum (bytewords CRC-32 or the
	// reassembled UR message checksum).
	ErrChecksum = errors.New("airgap: checksum mismatch")
	// ErrMismatch reports a part that belongs to another message than the
	// one being assembled (different type, length, checksum or header).
	ErrMismatch = errors.New("airgap: part belongs to another message")
	// ErrIncomplete is returned by Result methods before all parts arrived.
	ErrIncomplete = errors.New("airgap: message incomplete")
	// ErrUnknownFormat reports input that is neither a PSBT, a UR nor a BBQr.
	ErrUnknownFormat = errors.New("airgap: unrecognised format")
	// ErrNoQRCode is returned by ScanImage when no QR code was found.
	ErrNoQRCode = errors.New("airgap: no QR code found")
)

var errNoParts = errors.New("airgap: no parts to render")

// FormatError describes malformed input; Format names the encoding
// ("ur", "bytewords", "bbqr", "cbor", ...).
type FormatError struct {
	Format string
	Msg    string
}

func (e *FormatError) Error() string { return "airgap: invalid " + e.Format + ": " + e.Msg }

func formatErr(format, msg string) error { return &FormatError{Format: format, Msg: msg} }
