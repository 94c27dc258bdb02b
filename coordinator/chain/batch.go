package chain

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/btcsuite/btcd/rpcclient"
)

// The JSON-RPC transport: a small client over net/http. rpcclient sends a
// batch only through its queueing API, which wants one typed command per
// method and gives no raw results, and its HTTP mode retries a failed
// request ten times over 22 s without a word; this client keeps one
// connection alive between requests, sends batches (Bitcoin Core and
// btcd both answer a JSON array of requests with an array of responses),
// and gives up on an unreachable node within about retryBudget, saying
// each retry to the log set with SetLog.

// retryBudget bounds how long a request is retried while the node cannot
// be reached.
const retryBudget = 4 * time.Second

// maxBatchResponse caps one batch's response body: a few full blocks in hex.
const maxBatchResponse = 256 << 20

type batcher struct {
	url  string
	http *http.Client

	mu  sync.Mutex
	log func(format string, args ...any)
}

func newBatcher(cc *rpcclient.ConnConfig) (*batcher, error) {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
	}
	scheme := "http"
	if !cc.DisableTLS {
		scheme = "https"
		pool, err := x509.SystemCertPool()
		if err != nil || len(cc.Certificates) > 0 {
			pool = x509.NewCertPool()
		}
		if len(cc.Certificates) > 0 && !pool.AppendCertsFromPEM(cc.Certificates) {
			return nil, errors.New("no certificate in the certificate file")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &batcher{
		url:  scheme + "://" + cc.Host,
		http: &http.Client{Transport: tr, Timeout: 10 * time.Minute},
	}, nil
}

// SetLog has the client say on logf each time it retries a request, and
// why. nil is silent.
func (c *Client) SetLog(logf func(format string, args ...any)) {
	c.bulk.mu.Lock()
	c.bulk.log = logf
	c.bulk.mu.Unlock()
}

func (b *batcher) logf(format string, args ...any) {
	b.mu.Lock()
	log := b.log
	b.mu.Unlock()
	if log != nil {
		log(format, args...)
	}
}

// post sends one request body and returns the response body. A node that
// cannot be reached is tried again, with growing pauses, for about
// retryBudget; an answer of any kind is not retried, except a refusal of
// the credentials when they come from a cookie file that has changed (the
// node restarted).
func (c *Client) post(method string, body []byte) (data []byte, status int, err error) {
	data, status, err = c.postRetrying(method, body)
	if err == nil && status == http.StatusUnauthorized && c.cookie != "" {
		rpc, _ := c.current()
		if _, _, ok := c.reauth(rpc); ok {
			return c.postRetrying(method, body)
		}
	}
	return data, status, err
}

func (c *Client) postRetrying(method string, body []byte) (data []byte, status int, err error) {
	b := c.bulk
	start := time.Now()
	pause := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		c.mu.Lock()
		user, pass := c.user, c.pass
		c.mu.Unlock()
		data, status, err = b.postOnce(body, user, pass)
		if err == nil {
			return data, status, nil
		}
		err = scrub(err, pass)
		if time.Since(start)+pause > retryBudget {
			return nil, 0, fmt.Errorf("%w (tried %d times over %.1f s)", err, attempt, time.Since(start).Seconds())
		}
		b.logf("node: %s: %v; retrying in %v", method, err, pause)
		time.Sleep(pause)
		pause *= 2
	}
}

func (b *batcher) postOnce(body []byte, user, pass string) ([]byte, int, error) {
	req, err := http.NewRequest(http.MethodPost, b.url, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.SetBasicAuth(user, pass)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBatchResponse+1))
	if err != nil {
		return nil, 0, err
	}
	if len(data) > maxBatchResponse {
		return nil, 0, fmt.Errorf("response larger than %d MB", maxBatchResponse>>20)
	}
	return data, resp.StatusCode, nil
}

// single performs one JSON-RPC call and returns its raw result.
func (c *Client) single(method string, params []json.RawMessage) (json.RawMessage, error) {
	if params == nil {
		params = []json.RawMessage{}
	}
	body, err := json.Marshal(struct {
		JSONRPC string            `json:"jsonrpc"`
		ID      int               `json:"id"`
		Method  string            `json:"method"`
		Params  []json.RawMessage `json:"params"`
	}{"1.0", 1, method, params})
	if err != nil {
		return nil, err
	}
	data, status, err := c.post(method, body)
	if err != nil {
		return nil, err
	}
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		return nil, ErrAuth
	}
	var r batchResponse
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("http %d: unexpected response: %w", status, err)
	}
	if r.Error != nil {
		return nil, r.Error
	}
	return r.Result, nil
}

type batchRequest struct {
	JSONRPC string `json:"jsonrpc"`
	ID      int    `json:"id"`
	Method  string `json:"method"`
	Params  []any  `json:"params"`
}

type batchResponse struct {
	ID     int             `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *RPCError       `json:"error"`
}

// batch calls method once for each element of params in one HTTP request.
// results[i] is the raw result of params[i], or nil with errs[i] set to
// the node's *RPCError for that call. err is for the request as a whole.
func (c *Client) batch(method string, params [][]any) (results []json.RawMessage, errs []error, err error) {
	if len(params) == 0 {
		return nil, nil, nil
	}
	reqs := make([]batchRequest, len(params))
	for i, p := range params {
		reqs[i] = batchRequest{JSONRPC: "1.0", ID: i, Method: method, Params: p}
	}
	body, err := json.Marshal(reqs)
	if err != nil {
		return nil, nil, fmt.Errorf("chain: %s: %w", method, err)
	}
	data, status, err := c.post(method, body)
	if err != nil {
		return nil, nil, fmt.Errorf("chain: %s: %w", method, err)
	}
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		return nil, nil, fmt.Errorf("chain: %s: %w", method, ErrAuth)
	}
	var resps []batchResponse
	if err := json.Unmarshal(data, &resps); err != nil {
		// A node that refuses the whole batch answers one object.
		var one batchResponse
		if json.Unmarshal(data, &one) == nil && one.Error != nil {
			return nil, nil, fmt.Errorf("chain: %s: %w", method, one.Error)
		}
		return nil, nil, fmt.Errorf("chain: %s: http %d: unexpected batch response: %w", method, status, err)
	}
	results = make([]json.RawMessage, len(params))
	errs = make([]error, len(params))
	seen := make([]bool, len(params))
	for _, r := range resps {
		if r.ID < 0 || r.ID >= len(params) || seen[r.ID] {
			return nil, nil, fmt.Errorf("chain: %s: batch response with unexpected id %d", method, r.ID)
		}
		seen[r.ID] = true
		if r.Error != nil {
			errs[r.ID] = r.Error
			continue
		}
		results[r.ID] = r.Result
	}
	for i, ok := range seen {
		if !ok {
			return nil, nil, fmt.Errorf("chain: %s: batch response lacks call %d of %d", method, i+1, len(params))
		}
	}
	return results, errs, nil
}

// hexResult decodes a JSON string of hex digits without an intermediate
// Go string.
func hexResult(r json.RawMessage) ([]byte, error) {
	if len(r) < 2 || r[0] != '"' || r[len(r)-1] != '"' {
		return nil, errors.New("result is not a string")
	}
	s := r[1 : len(r)-1]
	out := make([]byte, len(s)/2)
	if _, err := hex.Decode(out, s); err != nil {
		return nil, err
	}
	return out, nil
}
