package faultproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config says which fraction of requests gets which fault. Fractions are in
// [0, 1] and their sum must not exceed 1; each request gets at most one fault.
type Config struct {
	// ErrorRate is the fraction answered with 503 or 429 (alternately) without
	// forwarding. The body is an MLflow-style JSON error.
	ErrorRate float64
	// ResetRate is the fraction whose client connection is reset. Half of
	// them are reset before forwarding, half after the upstream answered
	// (the server stored the data but the client never learns it).
	ResetRate float64
	// SlowRate is the fraction forwarded and then answered only after
	// SlowDelay (or when the client gives up, whichever is first).
	SlowRate float64
	// SlowDelay is the delay of slow answers; choose it above the client's
	// per-attempt timeout.
	SlowDelay time.Duration
	// Seed makes the fault sequence reproducible.
	Seed uint64
	// PathPrefix limits faults to request paths with this prefix (empty: all).
	PathPrefix string
}

func (c Config) validate() error {
	for _, r := range []float64{c.ErrorRate, c.ResetRate, c.SlowRate} {
		if r < 0 || r > 1 {
			return errors.New("faultproxy: rates must be in [0, 1]")
		}
	}
	if c.ErrorRate+c.ResetRate+c.SlowRate > 1 {
		return errors.New("faultproxy: rates sum above 1")
	}
	if c.SlowRate > 0 && c.SlowDelay <= 0 {
		return errors.New("faultproxy: slow rate needs a positive slow delay")
	}
	return nil
}

// Stats counts what the proxy did. Requests = Forwarded + Errors + ResetsBefore.
type Stats struct {
	Requests, Forwarded, Errors, ResetsBefore, ResetsAfter, Slow int64
}

// Proxy is a fault-injecting reverse proxy on 127.0.0.1. It is safe for
// concurrent use. Close releases its listener and goroutines.
type Proxy struct {
	upstream *url.URL
	client   *http.Client
	addr     string

	mu   sync.Mutex
	cfg  Config
	rng  *rand.Rand
	ln   net.Listener
	srv  *http.Server
	down bool
	n    uint64
	done chan struct{}

	requests, forwarded, errs, resetsBefore, resetsAfter, slow atomic.Int64
}

// New starts a proxy in front of upstream (an http URL on a loopback host)
// with the given fault configuration. It listens on a free port of
// 127.0.0.1 until Close.
func New(upstream string, cfg Config) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: parse upstream: %w", err)
	}
	if u.Scheme != "http" {
		return nil, errors.New("faultproxy: upstream must be an http url")
	}
	if !isLoopback(u.Hostname()) {
		return nil, errors.New("faultproxy: upstream must be a loopback address")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := &Proxy{
		upstream: u,
		client: &http.Client{Transport: &http.Transport{
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     30 * time.Second,
		}},
		cfg:  cfg,
		rng:  rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		done: make(chan struct{}),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	return p, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// URL returns the proxy's base URL, e.g. "http://127.0.0.1:40123". It stays
// the same across SetDown calls.
func (p *Proxy) URL() string { return "http://" + p.addr }

// SetConfig replaces the fault configuration for later requests.
func (p *Proxy) SetConfig(cfg Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg = cfg
	p.rng = rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	return nil
}

// SetDown(true) closes the listener and every open connection, so clients
// get "connection refused" as from a stopped server; SetDown(false) listens
// again on the same address.
func (p *Proxy) SetDown(down bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if down == p.down {
		return nil
	}
	if down {
		p.down = true
		srv := p.srv
		p.srv, p.ln = nil, nil
		return srv.Close()
	}
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port may linger briefly after Close
		ln, err = net.Listen("tcp", p.addr)
		if err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("faultproxy: listen again: %w", err)
	}
	p.down = false
	p.serveLocked(ln)
	return nil
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serveLocked(ln)
}

func (p *Proxy) serveLocked(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(p.handle), ReadHeaderTimeout: 10 * time.Second}
	p.ln, p.srv = ln, srv
	go func() { _ = srv.Serve(ln) }()
}

// Stats returns the counters so far.
func (p *Proxy) Stats() Stats {
	return Stats{
		Requests: p.requests.Load(), Forwarded: p.forwarded.Load(), Errors: p.errs.Load(),
		ResetsBefore: p.resetsBefore.Load(), ResetsAfter: p.resetsAfter.Load(), Slow: p.slow.Load(),
	}
}

// Close stops the proxy. It is safe to call more than once.
func (p *Proxy) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		return nil
	default:
	}
	close(p.done)
	p.down = true
	if p.srv != nil {
		_ = p.srv.Close()
		p.srv, p.ln = nil, nil
	}
	p.client.CloseIdleConnections()
	return nil
}

type fault int

const (
	faultNone fault = iota
	faultError
	faultResetBefore
	faultResetAfter
	faultSlow
)

func (p *Proxy) pick(path string) (fault, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cfg.PathPrefix != "" && !strings.HasPrefix(path, p.cfg.PathPrefix) {
		return faultNone, 0
	}
	p.n++
	x := p.rng.Float64()
	c := p.cfg
	switch {
	case x < c.ErrorRate:
		if p.n%2 == 0 {
			return faultError, http.StatusTooManyRequests
		}
		return faultError, http.StatusServiceUnavailable
	case x < c.ErrorRate+c.ResetRate/2:
		return faultResetBefore, 0
	case x < c.ErrorRate+c.ResetRate:
		return faultResetAfter, 0
	case x < c.ErrorRate+c.ResetRate+c.SlowRate:
		return faultSlow, 0
	}
	return faultNone, 0
}

func (p *Proxy) handle(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	f, status := p.pick(r.URL.Path)
	switch f {
	case faultError:
		p.errs.Add(1)
		code := "TEMPORARILY_UNAVAILABLE"
		if status == http.StatusTooManyRequests {
			code = "REQUEST_LIMIT_EXCEEDED"
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error_code":%q,"message":"faultproxy: injected %d"}`, code, status)
		return
	case faultResetBefore:
		p.resetsBefore.Add(1)
		reset(w)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	resp, err := p.forward(r, body)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprintf(w, `{"error_code":"TEMPORARILY_UNAVAILABLE","message":"faultproxy: upstream: %s"}`, jsonSafe(err.Error()))
		return
	}
	p.forwarded.Add(1)
	switch f {
	case faultResetAfter:
		p.resetsAfter.Add(1)
		reset(w)
		return
	case faultSlow:
		p.slow.Add(1)
		p.mu.Lock()
		d := p.cfg.SlowDelay
		p.mu.Unlock()
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		case <-p.done:
			t.Stop()
			return
		}
	}
	for k, vs := range resp.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (p *Proxy) forward(r *http.Request, body []byte) (*answer, error) {
	u := *p.upstream
	u.Path = r.URL.Path
	u.RawPath = r.URL.RawPath
	u.RawQuery = r.URL.RawQuery
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, vs := range r.Header {
		if strings.EqualFold(k, "Connection") {
			continue
		}
		req.Header[k] = append([]string(nil), vs...)
	}
	req.Host = p.upstream.Host
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	h := resp.Header.Clone()
	h.Del("Content-Length")
	h.Del("Connection")
	return &answer{status: resp.StatusCode, header: h, body: b}, nil
}

// reset closes the client connection with SO_LINGER 0, so the client sees
// "connection reset by peer".
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func jsonSafe(s string) string {
	return strings.NewReplacer(`"`, `'`, `\`, `/`, "\n", " ").Replace(s)
}
