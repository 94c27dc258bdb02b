package chain

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kinko-project/kinko/internal/regtest"
)

func startNode(t *testing.T) *regtest.Node {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping: starts a real btcd regtest node; run without -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	node, err := regtest.Start(ctx, regtest.Options{})
	if err != nil {
		t.Fatalf("regtest.Start: %v", err)
	}
	t.Cleanup(func() { node.Stop() })
	return node
}

func TestCheckBtcd(t *testing.T) {
	node := startNode(t)
	host, user, pass := node.RPC()
	c, err := Dial(Config{Host: host, User: user, Pass: pass})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n, err := c.Check()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range n.RPCs {
		t.Logf("%+v", r)
	}
	t.Logf("%+v", *n)
	if !n.OK() {
		t.Fatalf("problems: %q", n.Problems())
	}
	best, _ := node.BestHash()
	if n.Chain != "regtest" || n.Height != regtest.MatureHeight || n.Tip != best || !n.Synced || n.IBD != nil {
		t.Errorf("chain %q height %d tip %s synced %v", n.Chain, n.Height, n.Tip, n.Synced)
	}
	if n.RelayFee != 1 || n.MempoolTxs != 0 || n.Filters != "getcfilter" {
		t.Errorf("relay fee %v, mempool %d, filters %q (%s)", n.RelayFee, n.MempoolTxs, n.Filters, n.FiltersNote)
	}
	seen := map[string]bool{}
	for _, r := range n.RPCs {
		seen[r.Method] = r.Answered
	}
	for _, m := range []string{"getblockcount", "getblockhash", "getblock", "getblockheader", "getrawmempool", "getrawtransaction", "testmempoolaccept", "sendrawtransaction", "estimatefee"} {
		if !seen[m] {
			t.Errorf("%s not answered", m)
		}
	}
}

func TestSynced(t *testing.T) {
	now := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	yes, no := true, false
	for _, tc := range []struct {
		n    NodeCheck
		want bool
	}{
		{NodeCheck{Height: 10, Headers: 10, IBD: &no}, true},
		{NodeCheck{Height: 10, Headers: 10, IBD: &yes}, false},
		{NodeCheck{Height: 10, Headers: 12, IBD: &no}, false},
		{NodeCheck{Height: 10, Headers: -1, TipTime: now.Add(-time.Hour)}, true},
		{NodeCheck{Height: 10, Headers: 10, TipTime: now.Add(-25 * time.Hour)}, false},
		{NodeCheck{Height: 10, Headers: 10}, false},
	} {
		if got, note := synced(&tc.n, now); got != tc.want {
			t.Errorf("%+v: synced %v (%s), want %v", tc.n, got, note, tc.want)
		}
	}
}

// cookieProxy stands for a Bitcoin Core node that writes a new cookie at
// each start: it accepts only the current cookie's credentials, and
// forwards to btcd with btcd's own.
type cookieProxy struct {
	mu   sync.Mutex
	pass string
	path string
}

func (p *cookieProxy) restart(t *testing.T, pass string) {
	p.mu.Lock()
	p.pass = pass
	p.mu.Unlock()
	tmp := p.path + ".tmp"
	if err := os.WriteFile(tmp, []byte("__cookie__:"+pass), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p.path); err != nil {
		t.Fatal(err)
	}
}

func TestCookie(t *testing.T) {
	node := startNode(t)
	host, user, pass := node.RPC()
	dir := t.TempDir()

	t.Run("btcd's own credentials in cookie form", func(t *testing.T) {
		cookie := filepath.Join(dir, "btcd.cookie")
		if err := os.WriteFile(cookie, []byte(user+":"+pass+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Dial(Config{Host: host, CookieFile: cookie})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if h, err := c.Height(); err != nil || h != regtest.MatureHeight {
			t.Fatalf("Height = %d, %v", h, err)
		}
	})

	t.Run("errors name the file, never the password", func(t *testing.T) {
		for name, content := range map[string]string{
			"wrong":   user + ":" + pass + "x",
			"nocolon": pass,
			"empty":   "",
		} {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Dial(Config{Host: host, CookieFile: p})
			if err == nil {
				t.Fatalf("%s: Dial succeeded", name)
			}
			if strings.Contains(err.Error(), pass) {
				t.Fatalf("%s: error leaks the password: %v", name, err)
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("%s: error does not name the file: %v", name, err)
			}
			t.Logf("%s: %v", name, err)
		}
		if _, err := Dial(Config{Host: host, CookieFile: filepath.Join(dir, "missing")}); !errors.Is(err, os.ErrNotExist) || !errors.Is(err, ErrCookie) {
			t.Errorf("missing cookie: %v", err)
		}
	})

	t.Run("re-read when refused", func(t *testing.T) {
		p := &cookieProxy{path: filepath.Join(dir, ".cookie")}
		target, _ := url.Parse("http://" + host)
		rp := httputil.NewSingleHostReverseProxy(target)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.mu.Lock()
			want := "Basic " + base64.StdEncoding.EncodeToString([]byte("__cookie__:"+p.pass))
			p.mu.Unlock()
			if r.Header.Get("Authorization") != want {
				w.WriteHeader(http.StatusUnauthorized) // as Core does: no body
				return
			}
			r.SetBasicAuth(user, pass)
			rp.ServeHTTP(w, r)
		}))
		defer srv.Close()
		p.restart(t, "first-cookie-password")
		c, err := Dial(Config{Host: strings.TrimPrefix(srv.URL, "http://"), CookieFile: p.path})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// The node restarts with a new cookie: the next call re-reads it.
		p.restart(t, "second-cookie-password")
		if h, err := c.Height(); err != nil || h != regtest.MatureHeight {
			t.Fatalf("Height after a new cookie = %d, %v", h, err)
		}
		// Credentials refused and the cookie unchanged: ErrAuth.
		p.mu.Lock()
		p.pass = "third"
		p.mu.Unlock()
		if _, err := c.Height(); err == nil || !strings.Contains(err.Error(), ErrAuth.Error()) {
			t.Fatalf("Height with a stale cookie: %v; want ErrAuth", err)
		}
	})
}

// FuzzParseCookie: a cookie parses to user and password whose join is the
// first line, and the user holds no colon.
func FuzzParseCookie(f *testing.F) {
	f.Add([]byte("__cookie__:0123abcd\n"))
	f.Add([]byte("user:pa:ss\r\nsecond"))
	f.Add([]byte(":x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		user, pass, ok := parseCookie(b)
		if !ok {
			return
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if !strings.HasPrefix(line, user+":"+pass) || strings.Contains(user, ":") || user == "" || pass == "" {
			t.Fatalf("%q: user %q pass %q", b, user, pass)
		}
	})
}

func TestProblems(t *testing.T) {
	n := &NodeCheck{Synced: true, RPCs: []RPCCheck{
		{Method: "getblock", Required: true, Answered: true, Note: "ok"},
		{Method: "estimatesmartfee", Required: false, Answered: false, Note: "rpc error -32601: Method not found"},
	}}
	if !n.OK() {
		t.Fatalf("problems: %q", n.Problems())
	}
	n.RPCs = append(n.RPCs, RPCCheck{Method: "testmempoolaccept", Required: true, Note: "rpc error -32601: Method not found"})
	n.Synced, n.SyncNote = false, "in initial block download"
	p := n.Problems()
	if len(p) != 2 || !strings.Contains(p[0], "initial block download") || !strings.Contains(p[1], "testmempoolaccept") {
		t.Fatalf("problems: %q", p)
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, true},
		{&RPCError{Code: -5, Message: "No such mempool or blockchain transaction"}, true},
		{&RPCError{Code: -32601, Message: "Method not found"}, false},
		{&RPCError{Code: -1, Message: "Command unimplemented"}, false},
		{errors.New("connection refused"), false},
	} {
		if got := answered(tc.err); got != tc.want {
			t.Errorf("answered(%v) = %v", tc.err, got)
		}
	}
}
