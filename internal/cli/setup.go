package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kinko-project/kinko/airgap"
	"github.com/kinko-project/kinko/wallet"
	"github.com/kinko-project/kinko/wallet/setup"
)

// ReadSetup takes a wallet given as a command-line argument in any form
// package setup reads: the text itself (a descriptor), or a file ("-" for
// stdin) holding a descriptor, a descriptor pair, a Coldcard, Caravan or
// Specter file, a BSMS record, or a crypto-output / output-descriptor UR
// as part strings or QR images. net may be nil (see setup.Read).
func ReadSetup(arg string, net *wallet.Network, stdin io.Reader, progress io.Writer) (*setup.Setup, error) {
	isFile := arg == "-"
	if !isFile && !strings.ContainsAny(arg, "(\n") {
		if _, err := os.Stat(arg); err == nil {
			isFile = true
		}
	}
	if !isFile {
		return setup.Read([]byte(strings.TrimSpace(arg)), net)
	}
	kind, payload, err := ReadPayload(arg, stdin, progress)
	if err != nil {
		return nil, err
	}
	if typ, ok := strings.CutPrefix(kind, "ur:"); ok && typ != airgap.URTypeBytes {
		return setup.FromUR(typ, payload, net)
	}
	text, ok := TextPayload(kind, payload)
	if !ok && kind == airgap.KindJSON {
		text, ok = payload, true
	}
	if !ok {
		return nil, fmt.Errorf("%s holds %s, not a wallet", arg, kind)
	}
	return setup.Read(text, net)
}

// ReadCosignerKey takes a cosigner's key for a multisig of script type st
// given as a command-line argument: a key record "[fingerprint/path]xpub",
// or a file ("-" for stdin) or QR codes holding any export package setup
// reads (key record, Coldcard's JSON, a BSMS key record, ur:crypto-hdkey
// or ur:crypto-account).
func ReadCosignerKey(arg string, st wallet.ScriptType, net *wallet.Network, stdin io.Reader, progress io.Writer) (*wallet.KeyRecord, error) {
	if strings.HasPrefix(arg, "[") {
		return setup.ReadKey([]byte(arg), st, net)
	}
	kind, payload, err := ReadPayload(arg, stdin, progress)
	if err != nil {
		return nil, err
	}
	if typ, ok := strings.CutPrefix(kind, "ur:"); ok && typ != airgap.URTypeBytes {
		return setup.FromKeyUR(typ, payload, st, net)
	}
	text, ok := TextPayload(kind, payload)
	if !ok && kind == airgap.KindJSON {
		text, ok = payload, true
	}
	if !ok {
		return nil, fmt.Errorf("%s holds %s, not a key record", arg, kind)
	}
	return setup.ReadKey(text, st, net)
}
