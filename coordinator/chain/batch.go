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
	"time"

	"github.com/btcsuite/btcd/rpcclient"
)

// rpcclient sends a batch only through its own queueing API, which wants
// one typed command per method and gives no way to read raw results, so the
// bulk reads below (blocks, mempool transactions, coins) use this small
// JSON-RPC batch client over net/http instead. It keeps one connection
// alive between requests. Bitcoin Core and btcd both answer a JSON array of
// requests with an array of responses.

// maxBatchResponse caps one batch's response body: a few full blocks in hex.
const maxBatchResponse = 256 << 20

type batcher struct {
	url        string
	user, pass string
	http       *http.Client
}

func newBatcher(cc *rpcclient.ConnConfig) (*batcher, error) {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
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
		user: cc.User,
		pass: cc.Pass,
		http: &http.Client{Transport: tr, Timeout: 10 * time.Minute},
	}, nil
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
	b := c.bulk
	req, err := http.NewRequest(http.MethodPost, b.url, bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("chain: %s: %w", method, scrub(err, c.pass))
	}
	req.SetBasicAuth(b.user, b.pass)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("chain: %s: %w", method, scrub(err, c.pass))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBatchResponse+1))
	if err != nil {
		return nil, nil, fmt.Errorf("chain: %s: %w", method, scrub(err, c.pass))
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return nil, nil, fmt.Errorf("chain: %s: %w", method, ErrAuth)
	}
	if len(data) > maxBatchResponse {
		return nil, nil, fmt.Errorf("chain: %s: response larger than %d MB", method, maxBatchResponse>>20)
	}
	var resps []batchResponse
	if err := json.Unmarshal(data, &resps); err != nil {
		// A node that refuses the whole batch answers one object.
		var one batchResponse
		if json.Unmarshal(data, &one) == nil && one.Error != nil {
			return nil, nil, fmt.Errorf("chain: %s: %w", method, one.Error)
		}
		return nil, nil, fmt.Errorf("chain: %s: http %d: unexpected batch response: %w", method, resp.StatusCode, err)
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
