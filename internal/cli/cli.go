// Package cli holds what kinko's two commands share: exit codes, error
// printing, flag parsing, input and output by path or "-", secrets read
// from files or the terminal, and confirmation prompts. It links no
// networking code: the air-gapped signer uses it.
package cli

import (
	"bufio"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"
)

// Exit codes, documented in the README.
const (
	ExitOK       = 0
	ExitError    = 1 // any other failure
	ExitUsage    = 2 // bad command line
	ExitRefused  = 3 // input refused after verification (a PSBT, a wallet)
	ExitDeclined = 4 // the operator answered no
	ExitNode     = 5 // the node could not be reached or rejected the transaction
	ExitBand     = 6 // the treasury's hot wallet is outside its band
	ExitStore    = 7 // the local store could not be read or written
)

// Error carries an exit code and a hint for the operator.
type Error struct {
	Code int
	Err  error
	Hint string
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Usagef returns a usage error.
func Usagef(format string, args ...any) error {
	return &Error{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// WithHint wraps err with an exit code and a hint.
func WithHint(code int, err error, hint string) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err, Hint: hint}
}

// Report prints err as "prog: error: …" with a hint line when there is
// one, and returns the exit code.
func Report(w io.Writer, prog string, err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	code := ExitError
	hint := ""
	var e *Error
	if errors.As(err, &e) {
		code, hint = e.Code, e.Hint
	}
	fmt.Fprintf(w, "%s: error: %v\n", prog, err)
	if hint != "" {
		fmt.Fprintf(w, "%s: hint: %s\n", prog, hint)
	}
	return code
}

// Parse parses flags that may come before, between or after positional
// arguments, and returns the positional ones. "--" ends flag parsing.
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(os.Stdout, "Flags of %s:\n", fs.Name())
				fs.SetOutput(os.Stdout)
				fs.PrintDefaults()
				return nil, err
			}
			return nil, Usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// Strings is a flag that may be given several times.
type Strings []string

func (s *Strings) String() string     { return strings.Join(*s, ",") }
func (s *Strings) Set(v string) error { *s = append(*s, v); return nil }

// MaxInput caps how much is read from any input file or stdin.
const MaxInput = 64 << 20

// ReadInput reads path, or stdin for "-", refusing more than max bytes.
func ReadInput(path string, stdin io.Reader, max int64) ([]byte, error) {
	var r io.Reader
	if path == "-" || path == "" {
		r = stdin
		path = "standard input"
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > max {
			return nil, fmt.Errorf("%s is %d bytes, more than the %d allowed", path, st.Size(), max)
		}
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is more than the %d bytes allowed", path, max)
	}
	return b, nil
}

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// WriteOutput writes data to path, or to stdout for "-". Binary data is
// not written to a terminal. An existing file is not overwritten unless
// force is set. The file appears whole or not at all: data goes to a
// temporary file in the same directory, synced, then put in place, so a
// crash or a full disk leaves no empty or partial file under path.
func WriteOutput(path string, data []byte, stdout io.Writer, binary, force bool) error {
	if path == "-" || path == "" {
		if f, ok := stdout.(*os.File); ok && binary && IsTerminal(f) {
			return WithHint(ExitUsage, errors.New("refusing to write binary output to a terminal"), "use -o FILE, or --base64")
		}
		_, err := stdout.Write(data)
		return err
	}
	exists := func() error {
		return WithHint(ExitError, fmt.Errorf("%s exists", path), "choose another name, or remove it first")
	}
	if _, err := os.Lstat(path); err == nil && !force {
		return exists()
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a rename or link, a no-op or the spare name
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if force {
		return os.Rename(tmp, path)
	}
	// A hard link puts the file in place only if path does not exist.
	err = os.Link(tmp, path)
	if errors.Is(err, fs.ErrExist) {
		return exists()
	}
	if err != nil {
		// No hard links here (a FAT-formatted stick): check, then rename.
		if _, serr := os.Lstat(path); serr == nil {
			return exists()
		}
		return os.Rename(tmp, path)
	}
	return nil
}

// ReadSecretFile reads a secret (a password, recovery words) from a file:
// its first line, without the line ending. It warns on w when the file is
// readable by others.
func ReadSecretFile(path string, w io.Writer) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().Perm()&0o077 != 0 && st.Mode().IsRegular() {
		fmt.Fprintf(w, "warning: %s is readable by other users (mode %v)\n", path, st.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return "", err
	}
	s := string(b)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if s == "" {
		return "", fmt.Errorf("%s holds an empty first line", path)
	}
	return s, nil
}

// TTY is the controlling terminal, for prompts and secrets: never stdin,
// which may carry data.
type TTY struct {
	in  *os.File
	out *os.File
}

// OpenTTY opens the controlling terminal, or fails when there is none.
func OpenTTY() (*TTY, error) {
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, WithHint(ExitUsage, errors.New("no terminal to ask on"), "give --yes, or the secret with its --…-file flag")
	}
	if !term.IsTerminal(int(f.Fd())) {
		f.Close()
		return nil, errors.New("no terminal to ask on")
	}
	return &TTY{in: f, out: f}, nil
}

// Close closes the terminal.
func (t *TTY) Close() error { return t.in.Close() }

// Writer is where prompts and secrets meant for the operator's eyes go.
func (t *TTY) Writer() io.Writer { return t.out }

// Password asks for a secret without echo.
func (t *TTY) Password(prompt string) (string, error) {
	fmt.Fprint(t.out, prompt)
	b, err := term.ReadPassword(int(t.in.Fd()))
	fmt.Fprintln(t.out)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Line asks for one line, echoed.
func (t *TTY) Line(prompt string) (string, error) {
	fmt.Fprint(t.out, prompt)
	s, err := bufio.NewReader(t.in).ReadString('\n')
	if err != nil && s == "" {
		return "", err
	}
	return strings.TrimSpace(s), nil
}

// ErrDeclined is returned when the operator does not answer yes.
var ErrDeclined = errors.New("declined")

// Confirm asks a yes/no question whose default is no.
func (t *TTY) Confirm(prompt string) error {
	ans, err := t.Line(prompt + " [y/N] ")
	if err != nil {
		return err
	}
	switch strings.ToLower(ans) {
	case "y", "yes":
		return nil
	}
	return WithHint(ExitDeclined, ErrDeclined, "nothing was done")
}

// Base64Line encodes b as one line of standard base64.
func Base64Line(b []byte) []byte {
	return []byte(base64.StdEncoding.EncodeToString(b) + "\n")
}

func newFlagSet(name string) *flag.FlagSet { return flag.NewFlagSet(name, flag.ContinueOnError) }
