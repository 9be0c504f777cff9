package client

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
)

// Version is the version of this module, sent in the User-Agent header.
const Version = "0.1.0"

// defaultUserAgent is sent unless WithUserAgent replaces it.
const defaultUserAgent = "mlwatch-go/" + Version

// tracerName is the instrumentation scope of the client's spans.
const tracerName = "github.com/mlwatch/mlwatch/client"

// Client talks to one MLflow tracking server. It is immutable after New and
// safe for concurrent use by many goroutines. It holds idle HTTP connections
// in its transport; there is nothing to close.
type Client struct {
	// Fields read by sibling files of package client (batcher, artifacts).
	logger     *slog.Logger
	tracer     trace.Tracer
	httpClient *http.Client // TLS applied; no per-attempt timeout (doRaw).
	baseURL    *url.URL     // scheme, host and path prefix (no trailing slash), no userinfo.

	base     string       // baseURL.String(), precomputed.
	apiHTTP  *http.Client // httpClient plus the per-attempt timeout (doJSON).
	rcJSON   *retryablehttp.Client
	rcRaw    *retryablehttp.Client
	headers  http.Header // User-Agent, extra headers and Authorization.
	signer   RequestSigner
	retry    RetryPolicy
	timeout  time.Duration
	defaults EnvDefaults

	// Environment used for StartRun's system tags; tests replace them.
	getenv              func(string) string
	sagemakerConfigPath string
	now                 func() time.Time
}

// EnvDefaults are the defaults NewFromEnv read from MLFLOW_EXPERIMENT_NAME,
// MLFLOW_EXPERIMENT_ID and MLFLOW_RUN_ID. They are zero for a Client made by New.
type EnvDefaults struct {
	ExperimentName string
	ExperimentID   string
	RunID          string
}

// New returns a Client for the MLflow tracking server at trackingURI, an
// http or https URI that may carry a path prefix (MLflow behind a proxy,
// e.g. "https://ml.example.com/mlflow"). Credentials embedded in the URI
// (https://user:pass@host) are used as basic auth unless WithBasicAuth or
// WithBearerToken is given, and are removed from TrackingURI. The ARN of a
// SageMaker managed MLflow tracking server or app
// ("arn:aws:sagemaker:<region>:<account>:mlflow-tracking-server/<name>") is
// resolved to its HTTPS endpoint with SigV4 signing from the default AWS
// credential chain and the routing header (sagemaker.go); opts are applied
// after and win. It returns an error when the URI or an option is invalid;
// it sends no request.
func New(trackingURI string, opts ...Option) (*Client, error) {
	s := &settings{retry: DefaultRetryPolicy(), timeout: defaultTimeout}
	trackingURI, opts, err := awsTrackingHook(trackingURI, nil, opts)
	if err != nil {
		return nil, err
	}
	return newClient(trackingURI, s, opts)
}

func newClient(trackingURI string, s *settings, opts []Option) (*Client, error) {
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("client: nil option")
		}
		if err := o(s); err != nil {
			return nil, err
		}
	}
	u, err := url.Parse(strings.TrimSpace(trackingURI))
	if err != nil {
		return nil, errors.New("client: invalid tracking URI")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("client: tracking URI scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("client: tracking URI has no host")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("client: tracking URI must not have a query or fragment")
	}
	if u.User != nil {
		if !s.basicSet && s.bearer == "" {
			pw, _ := u.User.Password()
			s.basicUser, s.basicPass, s.basicSet = u.User.Username(), pw, true
		}
		u.User = nil
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""

	c := &Client{
		baseURL:             u,
		base:                u.String(),
		signer:              s.signer,
		retry:               s.retry,
		timeout:             s.timeout,
		defaults:            s.defaults,
		getenv:              os.Getenv,
		sagemakerConfigPath: sagemakerProcessingConfigPath,
		now:                 time.Now,
	}
	c.logger = s.logger
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	tp := s.tracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	c.tracer = tp.Tracer(tracerName, trace.WithInstrumentationVersion(Version))

	if c.httpClient, err = buildHTTPClient(s); err != nil {
		return nil, err
	}
	api := *c.httpClient
	api.Timeout = s.timeout
	c.apiHTTP = &api

	c.headers = make(http.Header)
	for k, v := range s.headers {
		c.headers[k] = append([]string(nil), v...)
	}
	ua := s.userAgent
	if ua == "" {
		ua = defaultUserAgent
	}
	c.headers.Set("User-Agent", ua)
	switch {
	case s.basicSet:
		r := &http.Request{Header: make(http.Header)}
		r.SetBasicAuth(s.basicUser, s.basicPass)
		c.headers.Set("Authorization", r.Header.Get("Authorization"))
	case s.bearer != "":
		c.headers.Set("Authorization", "Bearer "+s.bearer)
	}
	c.rcJSON = c.newRetryClient(c.apiHTTP)
	c.rcRaw = c.newRetryClient(c.httpClient)
	return c, nil
}

// buildHTTPClient copies the caller's client (or makes a pooled one) and
// applies the TLS configuration to a clone of its transport.
func buildHTTPClient(s *settings) (*http.Client, error) {
	var hc http.Client
	if s.httpClient != nil {
		hc = *s.httpClient
	} else {
		hc = http.Client{Transport: newTransport()}
	}
	hc.CheckRedirect = stripCrossOriginAuth(hc.CheckRedirect)
	if s.tlsConfig != nil {
		rt := hc.Transport
		if rt == nil {
			rt = http.DefaultTransport
		}
		t, ok := rt.(*http.Transport)
		if !ok {
			return nil, errors.New("client: WithTLSConfig needs the HTTP client's Transport to be an *http.Transport")
		}
		t = t.Clone()
		t.TLSClientConfig = s.tlsConfig.Clone()
		hc.Transport = t
	}
	return &hc, nil
}

// newTransport returns a transport like http.DefaultTransport with a pool
// sized like MLflow's (10 connections per host).
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   10,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
}

// TrackingURI returns the tracking URI the client was made with, without
// credentials and without a trailing slash.
func (c *Client) TrackingURI() string { return c.base }

// RunURL returns the MLflow UI link of a run: <base>/#/experiments/<e>/runs/<r>.
func (c *Client) RunURL(experimentID, runID string) string {
	return c.base + "/#/experiments/" + url.PathEscape(experimentID) + "/runs/" + url.PathEscape(runID)
}

// ExperimentURL returns the MLflow UI link of an experiment.
func (c *Client) ExperimentURL(experimentID string) string {
	return c.base + "/#/experiments/" + url.PathEscape(experimentID)
}

// Defaults returns the experiment and run defaults read by NewFromEnv.
func (c *Client) Defaults() EnvDefaults { return c.defaults }

// endpoint builds the absolute URL of an API path ("/api/2.0/mlflow/runs/get"),
// keeping the tracking URI's path prefix.
func (c *Client) endpoint(path string) string {
	if !strings.HasPrefix(path, "/") {
		return c.base + "/" + path
	}
	return c.base + path
}
