package regtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/kinko-project/kinko/internal/flock"
)

const (
	btcdModule = "github.com/btcsuite/btcd"
	// btcdFallbackVersion is used when the running binary carries no
	// module information about btcd (it always does when this package is
	// linked in, since rpcclient lives in the btcd module).
	btcdFallbackVersion = "v0.26.2"
	// BinaryEnv names an environment variable that, when set, points at a
	// prebuilt btcd binary to use instead of building one.
	BinaryEnv = "KINKO_BTCD"
)

// btcdVersion reports the version of the btcd module this binary was built
// against, which is the version pinned in go.mod.
func btcdVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == btcdModule {
				if m.Replace != nil && m.Replace.Version != "" {
					return m.Replace.Version
				}
				if m.Version != "" && m.Version != "(devel)" {
					return m.Version
				}
			}
		}
	}
	return btcdFallbackVersion
}

// Binary returns the path of a btcd executable, building it on first use
// into os.UserCacheDir()/kinko/btcd-<version>. Concurrent callers (several
// test binaries at once) are serialised by a lock file, and the binary is
// written under a temporary name and renamed into place, so a half-written
// binary is never executed.
func Binary(ctx context.Context) (string, error) {
	if p := os.Getenv(BinaryEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("regtest: %s: %w", BinaryEnv, err)
		}
		return p, nil
	}
	version := btcdVersion()
	dir, err := cacheDir()
	if err != nil {
		return "", err
	}
	name := "btcd-" + version
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	bin := filepath.Join(dir, name)
	if isExecutable(bin) {
		return bin, nil
	}

	unlock, err := flock.Lock(ctx, filepath.Join(dir, "btcd-"+version+".lock"))
	if err != nil {
		return "", fmt.Errorf("regtest: lock btcd build: %w", err)
	}
	defer unlock()
	if isExecutable(bin) { // built by someone else while we waited
		return bin, nil
	}

	goTool, err := goBinary()
	if err != nil {
		return "", err
	}
	tmp := fmt.Sprintf("%s.tmp-%d-%s", bin, os.Getpid(), randHex(4))
	defer os.Remove(tmp)

	if root, ok := moduleRoot(ctx, goTool); ok {
		// Build from the kinko module so that go.mod/go.sum pin btcd
		// and all of its dependencies.
		cmd := exec.CommandContext(ctx, goTool, "build", "-o", tmp, btcdModule)
		cmd.Dir = root
		if err := runGo(cmd); err != nil {
			return "", err
		}
	} else {
		// Not inside the module (e.g. a demo binary run elsewhere):
		// install the pinned version through the module proxy.
		gobin, err := os.MkdirTemp(dir, "gobin-")
		if err != nil {
			return "", fmt.Errorf("regtest: %w", err)
		}
		defer os.RemoveAll(gobin)
		cmd := exec.CommandContext(ctx, goTool, "install", btcdModule+"@"+version)
		cmd.Dir = gobin
		cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOWORK=off")
		if err := runGo(cmd); err != nil {
			return "", err
		}
		if err := os.Rename(filepath.Join(gobin, "btcd"+exeSuffix()), tmp); err != nil {
			return "", fmt.Errorf("regtest: %w", err)
		}
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", fmt.Errorf("regtest: install btcd binary: %w", err)
	}
	return bin, nil
}

func exeSuffix() string {
	if runtime.GOOS == "windows" {
		return ".exe"
	}
	return ""
}

func runGo(cmd *exec.Cmd) error {
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("regtest: %s: %w\n%s", strings.Join(cmd.Args, " "), err, out.Bytes())
	}
	return nil
}

func cacheDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "kinko")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("regtest: cache dir: %w", err)
	}
	return dir, nil
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
		return false
	}
	return runtime.GOOS == "windows" || fi.Mode().Perm()&0o111 != 0
}

// goBinary finds the go command: $PATH first, then the toolchain this
// binary was built with.
func goBinary() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go"+exeSuffix())
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", errors.New("regtest: go command not found (needed to build btcd); set " + BinaryEnv + " to a btcd binary")
}

// moduleRoot finds the directory of a go.mod that requires btcd: walking
// up from the working directory, then asking `go env GOMOD`.
func moduleRoot(ctx context.Context, goTool string) (string, bool) {
	requiresBtcd := func(gomod string) bool {
		b, err := os.ReadFile(gomod)
		return err == nil && bytes.Contains(b, []byte(btcdModule+" "))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; {
			if gm := filepath.Join(d, "go.mod"); fileExists(gm) {
				if requiresBtcd(gm) {
					return d, true
				}
				break
			}
			parent := filepath.Dir(d)
			if parent == d {
				break
			}
			d = parent
		}
	}
	out, err := exec.CommandContext(ctx, goTool, "env", "GOMOD").Output()
	if err != nil {
		return "", false
	}
	gm := strings.TrimSpace(string(out))
	if gm == "" || gm == os.DevNull || !requiresBtcd(gm) {
		return "", false
	}
	return filepath.Dir(gm), true
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}
