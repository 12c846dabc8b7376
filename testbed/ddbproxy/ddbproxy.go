// Package ddbproxy is an HTTP proxy in front of DynamoDB Local for tests and
// benchmarks: it holds every request for a set latency (what a call to AWS
// costs from a laptop), and it can refuse BatchExecuteStatement the way an
// engine whose PartiQL support is partial does: the whole call (an HTTP 500
// or a ValidationException, as other emulators' parsers answer), or chosen
// statements of a call (a per-statement error in the response, as DynamoDB
// reports a statement it cannot run). Everything else passes through
// unchanged; a body the proxy rewrites gets a fresh x-amz-crc32, so clients
// that check it (as the SDK does against AWS) still can.
package ddbproxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

const targetPrefix = "DynamoDB_20120810."

// Refusal is an error the proxy answers with.
type Refusal struct {
	// Status is the HTTP status of a refused call (500, 400); unused for
	// statements.
	Status int
	// Code is the error's code: for a call the exception name
	// ("InternalServerError", "ValidationException"), for a statement a
	// BatchStatementError code ("ValidationError").
	Code    string
	Message string
}

// Proxy is the proxy. Create it with New.
type Proxy struct {
	upstream *url.URL
	rp       *httputil.ReverseProxy
	latency  time.Duration

	mu         sync.Mutex
	refuseCall *Refusal
	loseAnswer *Refusal
	refuseStmt func(statement string) *Refusal
	calls      map[string]int
	refused    struct{ calls, statements int }
}

// Option configures a Proxy.
type Option func(*Proxy)

// WithLatency holds each request for d before it is passed on.
func WithLatency(d time.Duration) Option { return func(p *Proxy) { p.latency = d } }

// RefuseBatchCalls answers every BatchExecuteStatement call with the
// refusal (nothing reaches DynamoDB).
func RefuseBatchCalls(r Refusal) Option { return func(p *Proxy) { p.refuseCall = &r } }

// LoseBatchAnswers runs every BatchExecuteStatement call and then answers
// it with the refusal instead of its result, as a server that fails after
// making the writes (or a connection lost on the way back) does: the
// client cannot tell whether the writes were made.
func LoseBatchAnswers(r Refusal) Option { return func(p *Proxy) { p.loseAnswer = &r } }

// RefuseStatements answers the statements of BatchExecuteStatement calls
// for which refuse returns a refusal with that error, in their place in
// the response; the other statements of the call run.
func RefuseStatements(refuse func(statement string) *Refusal) Option {
	return func(p *Proxy) { p.refuseStmt = refuse }
}

// New returns a proxy to the DynamoDB endpoint upstream
// (http://127.0.0.1:8000).
func New(upstream string, opts ...Option) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("ddbproxy: upstream %q is not a URL", upstream)
	}
	p := &Proxy{upstream: u, rp: httputil.NewSingleHostReverseProxy(u), calls: map[string]int{}}
	for _, o := range opts {
		o(p)
	}
	return p, nil
}

// Calls returns how many calls of an operation ("BatchExecuteStatement",
// "UpdateItem") the proxy received.
func (p *Proxy) Calls(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[op]
}

// Refused returns how many calls and how many statements the proxy refused.
func (p *Proxy) Refused() (calls, statements int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refused.calls, p.refused.statements
}

// ServeHTTP passes a request on, or refuses it.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.latency > 0 {
		time.Sleep(p.latency)
	}
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	p.mu.Lock()
	p.calls[op]++
	call, stmt, lose := p.refuseCall, p.refuseStmt, p.loseAnswer
	if op == "BatchExecuteStatement" && (call != nil || lose != nil) {
		p.refused.calls++
	}
	p.mu.Unlock()
	switch {
	case op != "BatchExecuteStatement" || (call == nil && stmt == nil && lose == nil):
		p.rp.ServeHTTP(w, r)
	case call != nil:
		writeError(w, *call)
	case lose != nil:
		body, err := io.ReadAll(r.Body)
		if err == nil {
			_, _, err = p.forward(r, body)
		}
		if err != nil {
			writeError(w, Refusal{Status: 500, Code: "InternalServerError", Message: "ddbproxy: " + err.Error()})
			return
		}
		writeError(w, *lose)
	default:
		p.batch(w, r, stmt)
	}
}

// batch runs the statements refuse lets through and answers the others
// with their refusal, each response in its statement's place.
func (p *Proxy) batch(w http.ResponseWriter, r *http.Request, refuse func(string) *Refusal) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, Refusal{Status: 500, Code: "InternalServerError", Message: "ddbproxy: read request: " + err.Error()})
		return
	}
	var in map[string]json.RawMessage
	var stmts []json.RawMessage
	if json.Unmarshal(body, &in) != nil || json.Unmarshal(in["Statements"], &stmts) != nil {
		writeError(w, Refusal{Status: 400, Code: "SerializationException", Message: "ddbproxy: the request is not BatchExecuteStatement's JSON"})
		return
	}
	responses := make([]json.RawMessage, len(stmts))
	var pass []json.RawMessage
	var passAt []int
	for i, s := range stmts {
		var st struct{ Statement string }
		_ = json.Unmarshal(s, &st)
		if ref := refuse(st.Statement); ref != nil {
			responses[i], _ = json.Marshal(map[string]any{"Error": map[string]string{"Code": ref.Code, "Message": ref.Message}})
			p.mu.Lock()
			p.refused.statements++
			p.mu.Unlock()
			continue
		}
		pass, passAt = append(pass, s), append(passAt, i)
	}
	if len(pass) > 0 {
		in["Statements"], _ = json.Marshal(pass)
		fwd, _ := json.Marshal(in)
		status, out, err := p.forward(r, fwd)
		if err != nil {
			writeError(w, Refusal{Status: 500, Code: "InternalServerError", Message: "ddbproxy: " + err.Error()})
			return
		}
		var res struct{ Responses []json.RawMessage }
		if status != http.StatusOK || json.Unmarshal(out, &res) != nil || len(res.Responses) != len(pass) {
			writeBody(w, status, out) // an error of the call: passed on as it is
			return
		}
		for j, i := range passAt {
			responses[i] = res.Responses[j]
		}
	}
	out, _ := json.Marshal(map[string]any{"Responses": responses})
	writeBody(w, http.StatusOK, out)
}

// forward sends a rewritten request body upstream. DynamoDB Local does not
// check request signatures, so the changed body needs no new one.
func (p *Proxy) forward(r *http.Request, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.upstream.String()+r.URL.Path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for k, v := range r.Header {
		if k != "Content-Length" {
			req.Header[k] = v
		}
	}
	req.ContentLength = int64(len(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

func writeError(w http.ResponseWriter, r Refusal) {
	out, _ := json.Marshal(map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#" + r.Code, "message": r.Message})
	writeBody(w, r.Status, out)
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
