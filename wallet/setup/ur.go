package setup

import (
	"fmt"
	"strings"

	"github.com/kinko-project/kinko/airgap"
	"github.com/kinko-project/kinko/wallet"
)

// readUR reads a ur:crypto-output or ur:output-descriptor, one part or
// several one a line, with the keys' children either <0;1>/* (BIP-389's
// child pair) or /0/* (Keystone and other BCR-2020-010 writers, whose
// change branch is /1/*).
func readUR(text string, net *wallet.Network) (*Setup, error) {
	const f = UR
	kind, payload, err := airgap.DecodeBytes([]byte(text))
	if err != nil {
		return nil, &Error{Format: f, Err: err}
	}
	typ, ok := strings.CutPrefix(kind, "ur:")
	if !ok {
		return nil, &Error{Format: f, Err: fmt.Errorf("%w: holds %s", ErrUnknownFormat, kind)}
	}
	return FromUR(typ, payload, net)
}

// FromUR reads the body of a crypto-output or output-descriptor UR (as
// assembled from QR codes) as a wallet setup; see [Read].
func FromUR(urType string, cbor []byte, net *wallet.Network) (*Setup, error) {
	const f = UR
	switch urType {
	case airgap.URTypeCryptoOutput, airgap.URTypeOutputDescriptor:
	default:
		return nil, &Error{Format: f, Err: fmt.Errorf("%w: ur:%s is not a wallet descriptor (want crypto-output or output-descriptor)", ErrUnknownFormat, clip(urType))}
	}
	d, err := airgap.DecodeDescriptorUR(urType, cbor, net)
	if err != nil {
		return nil, &Error{Format: f, Err: err}
	}
	w, ok := widen(d)
	if !ok {
		return nil, &Error{Format: f, Err: fmt.Errorf("%w: every key's children must be /0/* or <0;1>/*", ErrNoChange)}
	}
	d2, known, err := resolve(f, w, net, nil)
	if err != nil {
		return nil, err
	}
	return &Setup{Format: f, Descriptor: d2, NetworkKnown: known, Birthday: -1}, nil
}
