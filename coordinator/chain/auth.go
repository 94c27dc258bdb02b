package chain

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/btcsuite/btcd/rpcclient"
)

// Bitcoin Core's cookie authentication: unless rpcauth or rpcpassword is
// set, Core writes "__cookie__:PASSWORD" to a file named .cookie in its
// data directory at each start (and removes it at shutdown), so the
// password changes whenever the node restarts.

// ErrCookie is returned when a cookie file cannot be read or is not
// "user:password".
var ErrCookie = errors.New("cannot use the rpc cookie file")

// maxCookieSize bounds a cookie file: Core's is 75 bytes.
const maxCookieSize = 4096

// ReadCookie reads "user:password" from a cookie file. Errors name the
// file, never its content.
func ReadCookie(path string) (user, pass string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", fmt.Errorf("%w: %w", ErrCookie, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCookieSize+1))
	if err != nil {
		return "", "", fmt.Errorf("%w: %s: %w", ErrCookie, path, err)
	}
	if len(b) > maxCookieSize {
		return "", "", fmt.Errorf("%w: %s: larger than %d bytes", ErrCookie, path, maxCookieSize)
	}
	user, pass, ok := parseCookie(b)
	if !ok {
		return "", "", fmt.Errorf("%w: %s: not in the form user:password", ErrCookie, path)
	}
	return user, pass, nil
}

// parseCookie splits a cookie's first line at its first colon; trailing
// white space is not part of the password.
func parseCookie(b []byte) (user, pass string, ok bool) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	user, pass, ok = strings.Cut(strings.TrimRight(string(line), "\r \t"), ":")
	if !ok || user == "" || pass == "" {
		return "", "", false
	}
	return user, pass, true
}

// CoreCookieFile returns where Bitcoin Core keeps its cookie by default
// for a network ("mainnet", "testnet", "testnet4", "signet" or "regtest"):
// under ~/.bitcoin on Linux and BSD, ~/Library/Application Support/Bitcoin
// on macOS, %LOCALAPPDATA%\Bitcoin on Windows, in the network's
// subdirectory (testnet3 for "testnet").
func CoreCookieFile(network string) (string, error) {
	sub, ok := map[string]string{
		"mainnet": "", "testnet": "testnet3", "testnet4": "testnet4", "signet": "signet", "regtest": "regtest",
	}[network]
	if !ok {
		return "", fmt.Errorf("chain: no default cookie for network %q", network)
	}
	var base string
	switch runtime.GOOS {
	case "windows":
		base = os.Getenv("LOCALAPPDATA")
		if base == "" {
			return "", errors.New("chain: %LOCALAPPDATA% is not set")
		}
		base = filepath.Join(base, "Bitcoin")
	default:
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("chain: %w", err)
		}
		base = filepath.Join(home, ".bitcoin")
		if runtime.GOOS == "darwin" {
			base = filepath.Join(home, "Library", "Application Support", "Bitcoin")
		}
	}
	return filepath.Join(base, sub, ".cookie"), nil
}

// CoreRPCPort returns Bitcoin Core's default RPC port for a network, as
// CoreCookieFile names networks; 0 for an unknown one.
func CoreRPCPort(network string) int {
	return map[string]int{"mainnet": 8332, "testnet": 18332, "testnet4": 48332, "signet": 38332, "regtest": 18443}[network]
}

// newRPC makes an rpcclient for cc with the given credentials.
func newRPC(cc rpcclient.ConnConfig, user, pass string) (*rpcclient.Client, error) {
	cc.User, cc.Pass = user, pass
	return rpcclient.New(&cc, nil)
}

// current returns the rpcclient in use and the password to scrub from its
// errors.
func (c *Client) current() (*rpcclient.Client, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rpc, c.pass
}

// reauth re-reads the cookie after the node refused the credentials of
// failed (the node restarted and wrote a new one). ok is true when the
// cookie changed and a new rpcclient now uses it.
func (c *Client) reauth(failed *rpcclient.Client) (rpc *rpcclient.Client, pass string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rpc != failed { // another call re-read it meanwhile
		return c.rpc, c.pass, true
	}
	user, pass, err := ReadCookie(c.cookie)
	if err != nil || (user == c.user && pass == c.pass) {
		return c.rpc, c.pass, false
	}
	rpc, err = newRPC(c.cc, user, pass)
	if err != nil {
		return c.rpc, c.pass, false
	}
	// Calls may still be under way on the old client: it is shut down
	// by Close.
	c.retired = append(c.retired, c.rpc)
	c.rpc, c.user, c.pass = rpc, user, pass
	return rpc, pass, true
}

// isUnauthorized reports whether err is rpcclient's HTTP 401.
func isUnauthorized(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "status code: 401")
}
