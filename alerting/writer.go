package alerting

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Version is the mlwatch version sent in User-Agent headers.
const Version = "0.1.0"

// UserAgent is the User-Agent of every remote-write and webhook request.
const UserAgent = "mlwatch-go/" + Version

// Breach series metric names.
const (
	// MetricBreach is 1 while a check is breached, 0 once cleared.
	MetricBreach = "mlwatch_eval_breach"
	// MetricObserved is the value the check observed.
	MetricObserved = "mlwatch_eval_observed"
	// MetricThreshold is the threshold the check compared against.
	MetricThreshold = "mlwatch_eval_threshold"
)

// reservedHeaders may not be set through WithHeader (remote-write spec).
var reservedHeaders = map[string]bool{
	"Content-Encoding":                  true,
	"Content-Type":                      true,
	"User-Agent":                        true,
	"X-Prometheus-Remote-Write-Version": true,
	"Content-Length":                    true,
	"Authorization":                     true,
	"X-Amz-Date":                        true,
	"X-Amz-Security-Token":              true,
	"Host":                              true,
}

type writerSettings struct {
	hc      *http.Client
	logger  *slog.Logger
	headers http.Header
	retry   RetryPolicy
	now     func() time.Time
	sigv4   *sigv4Settings
	tp      trace.TracerProvider
}

type sigv4Settings struct {
	region string
	creds  aws.CredentialsProvider
}

// WriterOption configures a Writer. Options validate their argument and
// return a *ConfigError when it is unusable.
type WriterOption func(*writerSettings) error

// WithWriterHTTPClient sends requests through a copy of hc (hc itself is
// never modified). Without it a client with a 30 s timeout is used.
func WithWriterHTTPClient(hc *http.Client) WriterOption {
	return func(s *writerSettings) error {
		if hc == nil {
			return &ConfigError{Option: "http_client", Reason: "nil *http.Client"}
		}
		c := *hc
		s.hc = &c
		return nil
	}
}

// WithWriterLogger logs retries and failures to l (silent by default).
func WithWriterLogger(l *slog.Logger) WriterOption {
	return func(s *writerSettings) error {
		if l == nil {
			return &ConfigError{Option: "logger", Reason: "nil *slog.Logger"}
		}
		s.logger = l
		return nil
	}
}

// WithHeader adds a custom header to every request. The remote-write
// reserved headers (Content-Encoding, Content-Type, User-Agent,
// X-Prometheus-Remote-Write-Version) and the signing headers cannot be set
// and give a *ConfigError.
func WithHeader(key, value string) WriterOption {
	return func(s *writerSettings) error {
		k := http.CanonicalHeaderKey(key)
		if k == "" || reservedHeaders[k] {
			return &ConfigError{Option: "header", Reason: fmt.Sprintf("header %q is reserved or empty", key)}
		}
		s.headers.Add(k, value)
		return nil
	}
}

// WithRetry replaces DefaultRetryPolicy.
func WithRetry(p RetryPolicy) WriterOption {
	return func(s *writerSettings) error {
		if err := p.validate(); err != nil {
			return err
		}
		s.retry = p
		return nil
	}
}

// WithSigV4 signs every request with SigV4 for service "aps" in region,
// with credentials from creds (cached).
func WithSigV4(region string, creds aws.CredentialsProvider) WriterOption {
	return func(s *writerSettings) error {
		if region == "" {
			return &ConfigError{Option: "region", Reason: "SigV4 needs a region"}
		}
		if creds == nil {
			return &ConfigError{Option: "credentials", Reason: "SigV4 needs a credentials provider"}
		}
		s.sigv4 = &sigv4Settings{region: region, creds: creds}
		return nil
	}
}

// WithWriterTracerProvider records one span per remote-write request with
// tp (the global provider by default).
func WithWriterTracerProvider(tp trace.TracerProvider) WriterOption {
	return func(s *writerSettings) error {
		if tp == nil {
			return &ConfigError{Option: "tracer_provider", Reason: "nil TracerProvider"}
		}
		s.tp = tp
		return nil
	}
}

// WithWriterClock sets the clock used for sample timestamps (time.Now by
// default); for tests.
func WithWriterClock(now func() time.Time) WriterOption {
	return func(s *writerSettings) error {
		if now == nil {
			return &ConfigError{Option: "clock", Reason: "nil clock"}
		}
		s.now = now
		return nil
	}
}

// Writer pushes series to a Prometheus remote-write 1.0 endpoint (AMP or a
// Prometheus with --web.enable-remote-write-receiver). It is safe for
// concurrent use, except that pushes of the same alert must not race each
// other (samples of one series must arrive in timestamp order).
type Writer struct {
	url     string
	hc      *http.Client
	logger  *slog.Logger
	headers http.Header
	retry   RetryPolicy
	now     func() time.Time
	tracer  trace.Tracer
	pool    sync.Pool // *Encoder

	mu   sync.Mutex
	last map[string]int64 // series key -> last pushed timestamp (ms)
}

var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}$`)
var workspaceRE = regexp.MustCompile(`^ws-[0-9a-zA-Z-]{1,64}$`)

// AMPRemoteWriteURL returns the remote-write URL of an AMP workspace:
// https://aps-workspaces.<region>.amazonaws.com/workspaces/<id>/api/v1/remote_write.
// It returns a *ConfigError when region or workspaceID is malformed.
func AMPRemoteWriteURL(region, workspaceID string) (string, error) {
	if !regionRE.MatchString(region) {
		return "", &ConfigError{Option: "region", Reason: fmt.Sprintf("%q is not an AWS region", truncate(region, 32))}
	}
	if !workspaceRE.MatchString(workspaceID) {
		return "", &ConfigError{Option: "workspace_id", Reason: fmt.Sprintf("%q is not an AMP workspace ID (ws-...)", truncate(workspaceID, 80))}
	}
	return "https://aps-workspaces." + region + ".amazonaws.com/workspaces/" + workspaceID + "/api/v1/remote_write", nil
}

// NewWriter returns a Writer posting to writeURL (http or https, the whole
// remote-write URL, e.g. "http://127.0.0.1:9090/api/v1/write" or an AMP URL
// from AMPRemoteWriteURL). It returns a *ConfigError for a bad URL or option.
func NewWriter(writeURL string, opts ...WriterOption) (*Writer, error) {
	u, err := url.Parse(writeURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &ConfigError{Option: "url", Reason: "need an absolute http(s) remote-write URL"}
	}
	s := writerSettings{
		logger:  slog.New(slog.DiscardHandler),
		headers: http.Header{},
		retry:   DefaultRetryPolicy(),
		now:     time.Now,
	}
	for _, o := range opts {
		if err := o(&s); err != nil {
			return nil, err
		}
	}
	if s.hc == nil {
		s.hc = &http.Client{Timeout: 30 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if s.sigv4 != nil {
		rt, err := NewSigV4Transport(s.hc.Transport, s.sigv4.region, ServiceAPS, s.sigv4.creds)
		if err != nil {
			return nil, err
		}
		rt.now = s.now
		s.hc.Transport = rt
	}
	return &Writer{
		url:     u.String(),
		hc:      s.hc,
		logger:  s.logger,
		headers: s.headers,
		retry:   s.retry,
		now:     s.now,
		tracer:  tracerOf(s.tp),
		last:    map[string]int64{},
	}, nil
}

// NewAMPWriter returns a Writer for an AMP workspace, signing with SigV4
// and credentials from the default AWS chain (environment, shared config,
// web identity, container or instance role: in a SageMaker job its
// execution role). Options given after the defaults win, so
// WithSigV4(region, creds) injects other credentials. ctx bounds loading
// the AWS configuration only.
func NewAMPWriter(ctx context.Context, region, workspaceID string, opts ...WriterOption) (*Writer, error) {
	u, err := AMPRemoteWriteURL(region, workspaceID)
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("alerting: load aws config: %w", err)
	}
	return NewWriter(u, append([]WriterOption{WithSigV4(region, cfg.Credentials)}, opts...)...)
}

// URL returns the remote-write URL.
func (w *Writer) URL() string { return w.url }

// Write validates series (see Encoder.Encode), rejects samples stamped in
// the future (later than the Writer's clock), and sends them in one request.
// It retries 5xx answers, network errors and 429 (honouring Retry-After)
// per the RetryPolicy; any other non-2xx answer is returned at once as a
// *WriteError. series is not modified.
func (w *Writer) Write(ctx context.Context, series []Series) error {
	now := w.now().UnixMilli()
	for i := range series {
		for _, s := range series[i].Samples {
			if s.Timestamp > now {
				return &ValidationError{Field: "timestamp", Rule: "in the future", Value: strconv.FormatInt(s.Timestamp, 10)}
			}
		}
	}
	return w.write(ctx, series)
}

// write encodes and sends series without the future check.
func (w *Writer) write(ctx context.Context, series []Series) error {
	enc, _ := w.pool.Get().(*Encoder)
	if enc == nil {
		enc = new(Encoder)
	}
	defer w.pool.Put(enc)
	body, err := enc.Encode(series)
	if err != nil {
		return err
	}
	ctx, span := startSpan(ctx, w.tracer, "prometheus remote_write",
		attribute.Int("mlwatch.series", len(series)), attribute.Int("http.request.body.size", len(body)))
	status, attempts, err := w.send(ctx, body)
	endSpan(span, status, attempts, err)
	return err
}

// send posts body with retries; it returns the last HTTP status (0 when
// none) and the number of attempts.
func (w *Writer) send(ctx context.Context, body []byte) (status, attempts int, err error) {
	for attempt := 0; ; attempt++ {
		wait, code, err := w.attempt(ctx, body)
		status, attempts = code, attempt+1
		if err == nil {
			return status, attempts, nil
		}
		var we *WriteError
		retryable := ctx.Err() == nil && (!errors.As(err, &we) || we.Temporary())
		if !retryable || attempt >= w.retry.MaxRetries {
			return status, attempts, err
		}
		d := w.retry.backoff(attempt)
		if wait > 0 {
			if wait > w.retry.MaxRetryAfter {
				w.logger.WarnContext(ctx, "alerting: remote write: Retry-After too long, giving up", "retry_after", wait.String(), "attempt", attempts)
				return status, attempts, err
			}
			d = max(d, wait)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
			return status, attempts, err
		}
		w.logger.InfoContext(ctx, "alerting: remote write retry", "attempt", attempts, "wait", d.String(), "error", err.Error())
		if sleep(ctx, d) != nil {
			return status, attempts, err
		}
	}
}

// attempt sends body once; it returns a Retry-After wait when the receiver
// gave one.
func (w *Writer) attempt(ctx context.Context, body []byte) (time.Duration, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, fmt.Errorf("alerting: remote write: %w", err)
	}
	for k, v := range w.headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := w.hc.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("alerting: remote write: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return 0, resp.StatusCode, nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 513))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	we := &WriteError{StatusCode: resp.StatusCode, Message: truncate(strings.TrimSpace(strings.ToValidUTF8(string(msg), "?")), 512)}
	if i := strings.IndexAny(we.Message, "\r\n"); i >= 0 {
		we.Message = we.Message[:i]
	}
	wait, _ := parseRetryAfter(resp.Header.Get("Retry-After"), w.now())
	w.logger.DebugContext(ctx, "alerting: remote write answer", "status", resp.StatusCode, "message", we.Message)
	return wait, resp.StatusCode, we
}
