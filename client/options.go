package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Option configures a Client. Options validate their argument and make New
// fail with a descriptive error when it is invalid.
type Option func(*settings) error

// settings collects the options before New builds the immutable Client.
type settings struct {
	httpClient     *http.Client
	logger         *slog.Logger
	tracerProvider trace.TracerProvider
	headers        http.Header
	userAgent      string
	retry          RetryPolicy
	timeout        time.Duration
	bearer         string
	basicUser      string
	basicPass      string
	basicSet       bool
	tlsConfig      *tls.Config
	signer         RequestSigner
	defaults       EnvDefaults
}

// RequestSigner signs an outgoing request (for example AWS SigV4 for
// SageMaker managed MLflow). SignRequest is called on every attempt, after
// all other headers are set. body is the exact request body for JSON calls;
// for streamed bodies (doRaw) it is nil and the signer may use req.GetBody or
// an unsigned payload. It must be safe for concurrent use.
type RequestSigner interface {
	SignRequest(ctx context.Context, req *http.Request, body []byte) error
}

// RetryPolicy controls retries of transient failures (HTTP 408, 429, 500,
// 502, 503, 504 and network errors). The wait before retry n (1-based) is 0
// for n = 1 and BackoffFactor·2^(n-1) plus a random jitter in
// [0, BackoffJitter) for later retries, capped at MaxBackoff, like urllib3.
// When RespectRetryAfter is set, a Retry-After header on 413, 429 and 503
// answers replaces the computed wait (still capped at MaxBackoff). Every wait
// ends early when the request's context is done.
type RetryPolicy struct {
	MaxRetries        int
	BackoffFactor     time.Duration
	BackoffJitter     time.Duration
	MaxBackoff        time.Duration
	RespectRetryAfter bool
}

// MLflow's limits for the retry environment variables.
const (
	maxRetriesLimit    = 10
	maxBackoffFactor   = 120 * time.Second
	defaultTimeout     = 120 * time.Second
	defaultMaxBackoff  = 120 * time.Second
	defaultMaxRetries  = 7
	defaultBackoff     = 2 * time.Second
	defaultBackoffJitt = time.Second
)

// DefaultRetryPolicy returns MLflow's defaults: 7 retries, backoff factor
// 2 s, jitter 1 s, waits capped at 120 s, Retry-After honoured.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxRetries:        defaultMaxRetries,
		BackoffFactor:     defaultBackoff,
		BackoffJitter:     defaultBackoffJitt,
		MaxBackoff:        defaultMaxBackoff,
		RespectRetryAfter: true,
	}
}

// validate checks p against MLflow's limits.
func (p RetryPolicy) validate() error {
	switch {
	case p.MaxRetries < 0 || p.MaxRetries > maxRetriesLimit:
		return fmt.Errorf("client: retry policy: max retries %d outside [0, %d]", p.MaxRetries, maxRetriesLimit)
	case p.BackoffFactor < 0 || p.BackoffFactor > maxBackoffFactor:
		return fmt.Errorf("client: retry policy: backoff factor %s outside [0, %s]", p.BackoffFactor, maxBackoffFactor)
	case p.BackoffJitter < 0:
		return fmt.Errorf("client: retry policy: negative backoff jitter %s", p.BackoffJitter)
	case p.MaxBackoff < 0:
		return fmt.Errorf("client: retry policy: negative max backoff %s", p.MaxBackoff)
	}
	return nil
}

// WithHTTPClient makes the Client send requests through a copy of hc. hc is
// never mutated; its Transport is shared (and cloned when WithTLSConfig is
// also given, which then requires an *http.Transport).
func WithHTTPClient(hc *http.Client) Option {
	return func(s *settings) error {
		if hc == nil {
			return errors.New("client: WithHTTPClient: nil *http.Client")
		}
		c := *hc
		s.httpClient = &c
		return nil
	}
}

// WithLogger sets the logger for debug lines (retries). The default discards
// everything.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) error {
		if l == nil {
			return errors.New("client: WithLogger: nil logger")
		}
		s.logger = l
		return nil
	}
}

// WithTracerProvider sets the OpenTelemetry TracerProvider used for one span
// per API operation. The default is the global provider (otel.GetTracerProvider)
// at the time New is called.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(s *settings) error {
		if tp == nil {
			return errors.New("client: WithTracerProvider: nil provider")
		}
		s.tracerProvider = tp
		return nil
	}
}

// WithHeader adds a header sent with every request. It may be given several
// times; values for the same key accumulate. Authorization set here is
// replaced by WithBearerToken/WithBasicAuth when those are used too.
func WithHeader(key, value string) Option {
	return func(s *settings) error {
		if !validHeaderName(key) {
			return fmt.Errorf("client: WithHeader: invalid header name %q", key)
		}
		if strings.ContainsAny(value, "\r\n\x00") {
			return fmt.Errorf("client: WithHeader: value for %q contains a control character", key)
		}
		if s.headers == nil {
			s.headers = make(http.Header)
		}
		s.headers.Add(key, value)
		return nil
	}
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// WithUserAgent replaces the default User-Agent "mlwatch-go/<Version>".
func WithUserAgent(ua string) Option {
	return func(s *settings) error {
		if strings.TrimSpace(ua) == "" || strings.ContainsAny(ua, "\r\n\x00") {
			return errors.New("client: WithUserAgent: empty or invalid user agent")
		}
		s.userAgent = ua
		return nil
	}
}

// WithRetryPolicy replaces the retry policy. MaxRetries must be in [0, 10]
// and BackoffFactor in [0, 120s] (MLflow's limits).
func WithRetryPolicy(p RetryPolicy) Option {
	return func(s *settings) error {
		if err := p.validate(); err != nil {
			return err
		}
		s.retry = p
		return nil
	}
}

// WithTimeout sets the time limit of one attempt of a JSON API call
// (default 120 s, MLflow's MLFLOW_HTTP_REQUEST_TIMEOUT). It must be positive.
// Streamed artifact transfers are bounded by their context only.
func WithTimeout(d time.Duration) Option {
	return func(s *settings) error {
		if d <= 0 {
			return fmt.Errorf("client: WithTimeout: non-positive timeout %s", d)
		}
		s.timeout = d
		return nil
	}
}

// WithBearerToken sends "Authorization: Bearer <token>". When basic auth is
// also configured, basic auth wins, as in MLflow.
func WithBearerToken(token string) Option {
	return func(s *settings) error {
		if token == "" || strings.ContainsAny(token, "\r\n\x00") {
			return errors.New("client: WithBearerToken: empty or invalid token")
		}
		s.bearer = token
		return nil
	}
}

// WithBasicAuth sends HTTP basic authentication. It wins over a bearer token.
func WithBasicAuth(user, password string) Option {
	return func(s *settings) error {
		if user == "" {
			return errors.New("client: WithBasicAuth: empty user")
		}
		s.basicUser, s.basicPass, s.basicSet = user, password, true
		return nil
	}
}

// WithTLSConfig sets the TLS configuration (CA pool, client certificates,
// InsecureSkipVerify). cfg is cloned, never mutated.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(s *settings) error {
		if cfg == nil {
			return errors.New("client: WithTLSConfig: nil config")
		}
		s.tlsConfig = cfg.Clone()
		return nil
	}
}

// WithRequestSigner sets a signer called on every attempt of every request.
func WithRequestSigner(sg RequestSigner) Option {
	return func(s *settings) error {
		if sg == nil {
			return errors.New("client: WithRequestSigner: nil signer")
		}
		s.signer = sg
		return nil
	}
}
