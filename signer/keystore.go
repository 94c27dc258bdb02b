package signer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/kinko-project/kinko/wallet"
	"github.com/kinko-project/kinko/wallet/bip39"
)

// DefaultWorkFactor is the scrypt cost (log2 N) used for new keystores.
// It costs about a second and 256 MiB on a laptop, once per unlock.
const DefaultWorkFactor = 18

// MinWorkFactor is the lowest scrypt cost a keystore may be written with.
// Values below the default exist for tests only.
const MinWorkFactor = 10

// maxKeystoreSize caps how much of a keystore file is read.
const maxKeystoreSize = 16 << 20

// Errors a caller may branch on.
var (
	// ErrWrongPassword is returned when the keystore cannot be decrypted
	// with the password given.
	ErrWrongPassword = errors.New("wrong password, or not a kinko keystore")
	// ErrKeystoreExists is returned when creating a keystore over an
	// existing file, which is never overwritten.
	ErrKeystoreExists = errors.New("keystore file already exists")
)

// Keystore is a signer's seed and registrations, encrypted at rest with
// age's scrypt recipient (passphrase-based, authenticated). Everything the
// signer relies on, registered wallets and signing history included, lives
// inside the encrypted file, so an edit on disk is detected on unlock.
type Keystore struct {
	path       string
	password   string
	workFactor int
	data       keystoreData
}

type keystoreData struct {
	Version    int                `json:"version"`
	Mnemonic   string             `json:"mnemonic"`
	Passphrase string             `json:"passphrase,omitempty"`
	Created    time.Time          `json:"created"`
	Wallets    []RegisteredWallet `json:"wallets,omitempty"`
	// Destinations are registered wallets the signer may pay but never
	// signs for.
	Destinations []RegisteredWallet `json:"destinations,omitempty"`
	History      History            `json:"history,omitempty"`
}

// keystoreVersion is written by this code. Version 1 (no destinations,
// no allow-wallet policy, history without a hash chain) is read and
// rewritten as version 2 at the next save, so that an older signer, which
// would drop what it does not know on saving, refuses the file instead.
const keystoreVersion = 2

// RegisteredWallet is a wallet the signer agreed to sign for, with an
// optional signing policy, or a destination it may pay (never with a
// policy).
type RegisteredWallet struct {
	Name       string    `json:"name"`
	Descriptor string    `json:"descriptor"`
	Network    string    `json:"network"`
	Policy     *Policy   `json:"policy,omitempty"`
	Registered time.Time `json:"registered"`
}

// CreateKeystore writes a new keystore holding mnemonic (checked against
// BIP-39) and the optional BIP-39 passphrase, encrypted with password.
// The file is created with mode 0600 and O_EXCL: an existing file is never
// overwritten. workFactor 0 means [DefaultWorkFactor].
func CreateKeystore(path, password, mnemonic, passphrase string, workFactor int) (*Keystore, error) {
	if err := bip39.Validate(mnemonic); err != nil {
		return nil, fmt.Errorf("recovery words: %w", err)
	}
	if password == "" {
		return nil, errors.New("empty keystore password")
	}
	if workFactor == 0 {
		workFactor = DefaultWorkFactor
	}
	if workFactor < MinWorkFactor || workFactor > 22 {
		return nil, fmt.Errorf("scrypt work factor %d out of range %d..22", workFactor, MinWorkFactor)
	}
	ks := &Keystore{path: path, password: password, workFactor: workFactor, data: keystoreData{
		Version: keystoreVersion, Mnemonic: mnemonic, Passphrase: passphrase, Created: time.Now().UTC().Truncate(time.Second),
	}}
	blob, err := ks.seal()
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%s: %w", path, ErrKeystoreExists)
	}
	if err != nil {
		return nil, fmt.Errorf("create keystore: %w", err)
	}
	if _, err := f.Write(blob); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("write keystore: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("write keystore: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write keystore: %w", err)
	}
	return ks, nil
}

// OpenKeystore decrypts the keystore at path.
func OpenKeystore(path, password string) (*Keystore, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open keystore: %w", err)
	}
	defer f.Close()
	blob, err := io.ReadAll(io.LimitReader(f, maxKeystoreSize+1))
	if err != nil {
		return nil, fmt.Errorf("read keystore: %w", err)
	}
	if len(blob) > maxKeystoreSize {
		return nil, fmt.Errorf("keystore %s is larger than %d bytes", path, maxKeystoreSize)
	}
	id, err := age.NewScryptIdentity(password)
	if err != nil {
		return nil, fmt.Errorf("keystore password: %w", err)
	}
	r, err := age.Decrypt(bytes.NewReader(blob), id)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return nil, fmt.Errorf("%s: %w", path, ErrWrongPassword)
		}
		return nil, fmt.Errorf("%s: decrypt keystore (edited or damaged?): %w", path, err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, maxKeystoreSize))
	if err != nil {
		return nil, fmt.Errorf("%s: keystore fails its authentication (edited or damaged): %w", path, err)
	}
	ks := &Keystore{path: path, password: password, workFactor: workFactorOf(blob)}
	if err := json.Unmarshal(plain, &ks.data); err != nil {
		return nil, fmt.Errorf("%s: keystore contents: %w", path, err)
	}
	if ks.data.Version != 1 && ks.data.Version != keystoreVersion {
		return nil, fmt.Errorf("%s: keystore version %d is not supported", path, ks.data.Version)
	}
	ks.data.Version = keystoreVersion
	ks.data.History.upgradeLegacy()
	if err := bip39.Validate(ks.data.Mnemonic); err != nil {
		return nil, fmt.Errorf("%s: keystore seed: %w", path, err)
	}
	return ks, nil
}

// workFactorOf reads the scrypt cost from the keystore's age header
// ("-> scrypt SALT LOGN"), so that saving keeps the cost the keystore was
// created with rather than raising or lowering it; DefaultWorkFactor if
// the header does not say or is out of range.
func workFactorOf(blob []byte) int {
	lines := bytes.SplitN(blob, []byte("\n"), 3)
	if len(lines) < 3 {
		return DefaultWorkFactor
	}
	f := strings.Fields(string(lines[1]))
	if len(f) != 4 || f[0] != "->" || f[1] != "scrypt" {
		return DefaultWorkFactor
	}
	n, err := strconv.Atoi(f[3])
	if err != nil || n < MinWorkFactor || n > 22 {
		return DefaultWorkFactor
	}
	return n
}

func (ks *Keystore) seal() ([]byte, error) {
	plain, err := json.Marshal(&ks.data)
	if err != nil {
		return nil, err
	}
	rcpt, err := age.NewScryptRecipient(ks.password)
	if err != nil {
		return nil, fmt.Errorf("keystore password: %w", err)
	}
	rcpt.SetWorkFactor(ks.workFactor)
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, rcpt)
	if err != nil {
		return nil, fmt.Errorf("encrypt keystore: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return nil, fmt.Errorf("encrypt keystore: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encrypt keystore: %w", err)
	}
	return buf.Bytes(), nil
}

// Save writes the keystore back atomically: a new 0600 file beside it,
// synced, then renamed over the old one.
func (ks *Keystore) Save() error {
	blob, err := ks.seal()
	if err != nil {
		return err
	}
	dir := filepath.Dir(ks.path)
	tmp, err := os.CreateTemp(dir, ".kinko-keystore-*")
	if err != nil {
		return fmt.Errorf("save keystore: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("save keystore: %w", err)
	}
	if _, err := tmp.Write(blob); err != nil {
		tmp.Close()
		return fmt.Errorf("save keystore: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save keystore: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save keystore: %w", err)
	}
	if err := os.Rename(tmp.Name(), ks.path); err != nil {
		return fmt.Errorf("save keystore: %w", err)
	}
	return nil
}

// Master returns the BIP-32 master key of the keystore's seed on net.
func (ks *Keystore) Master(net *wallet.Network) (*wallet.ExtendedKey, error) {
	seed := bip39.Seed(ks.data.Mnemonic, ks.data.Passphrase)
	defer clear(seed)
	return wallet.NewMaster(seed, net)
}

// Fingerprint returns the master key fingerprint, which does not depend
// on the network.
func (ks *Keystore) Fingerprint() (wallet.Fingerprint, error) {
	m, err := ks.Master(wallet.Mainnet)
	if err != nil {
		return wallet.Fingerprint{}, err
	}
	defer m.Zero()
	return m.Fingerprint(), nil
}

// Wallets returns the registered wallets.
func (ks *Keystore) Wallets() []RegisteredWallet { return ks.data.Wallets }

// History returns what the signer has signed, oldest first.
func (ks *Keystore) History() History { return ks.data.History }

// parse returns the wallet's descriptor on its own network (regtest and
// signet share testnet's key versions, so the name is kept beside it).
func (rw *RegisteredWallet) parse() (*wallet.Descriptor, error) {
	net, err := wallet.ParseNetwork(rw.Network)
	if err != nil {
		return nil, fmt.Errorf("registered wallet %q: %w", rw.Name, err)
	}
	d, err := wallet.ParseDescriptor(rw.Descriptor, net)
	if err != nil {
		return nil, fmt.Errorf("registered wallet %q: %w", rw.Name, err)
	}
	return d, nil
}
