package alerting

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// WebhookFormat selects the JSON a chat incoming webhook expects.
type WebhookFormat int

const (
	// WebhookSlack posts {"text": ...} with Slack mrkdwn (Slack incoming
	// webhooks; also accepted by Mattermost and Teams workflows).
	WebhookSlack WebhookFormat = iota + 1
	// WebhookTeams posts a Microsoft Teams MessageCard.
	WebhookTeams
)

// WebhookError is a non-2xx answer from a webhook, after retries when the
// status was 5xx or 429. Message is the body, truncated.
type WebhookError struct {
	// StatusCode is the HTTP status code.
	StatusCode int
	// Message is the response body, truncated to 512 bytes, one line.
	Message string
}

// Error implements error.
func (e *WebhookError) Error() string {
	return fmt.Sprintf("alerting: webhook: status %d: %s", e.StatusCode, e.Message)
}

// Is reports whether target is ErrThrottled and the status was 429.
func (e *WebhookError) Is(target error) bool { return target == ErrThrottled && e.StatusCode == 429 }

// WebhookOption configures a WebhookNotifier.
type WebhookOption func(*webhookSettings) error

type webhookSettings struct {
	hc     *http.Client
	logger *slog.Logger
	retry  RetryPolicy
	now    func() time.Time
	tp     trace.TracerProvider
}

// WithWebhookTracerProvider records one span per webhook post with tp (the
// global provider by default). The span never carries the webhook URL.
func WithWebhookTracerProvider(tp trace.TracerProvider) WebhookOption {
	return func(s *webhookSettings) error {
		if tp == nil {
			return &ConfigError{Option: "tracer_provider", Reason: "nil TracerProvider"}
		}
		s.tp = tp
		return nil
	}
}

// WithWebhookHTTPClient sends through a copy of hc.
func WithWebhookHTTPClient(hc *http.Client) WebhookOption {
	return func(s *webhookSettings) error {
		if hc == nil {
			return &ConfigError{Option: "http_client", Reason: "nil *http.Client"}
		}
		c := *hc
		s.hc = &c
		return nil
	}
}

// WithWebhookRetry replaces the default policy (3 retries, 500ms to 10s) for
// 5xx, 429 and network errors.
func WithWebhookRetry(p RetryPolicy) WebhookOption {
	return func(s *webhookSettings) error {
		if err := p.validate(); err != nil {
			return err
		}
		s.retry = p
		return nil
	}
}

// WithWebhookLogger logs retries to l (silent by default).
func WithWebhookLogger(l *slog.Logger) WebhookOption {
	return func(s *webhookSettings) error {
		if l == nil {
			return &ConfigError{Option: "logger", Reason: "nil *slog.Logger"}
		}
		s.logger = l
		return nil
	}
}

// WebhookNotifier posts alerts to a Slack or Teams incoming webhook, one
// post per model group and severity. It is safe for concurrent use. The
// webhook URL is a secret: it never appears in errors or logs.
type WebhookNotifier struct {
	url    string
	format WebhookFormat
	hc     *http.Client
	logger *slog.Logger
	retry  RetryPolicy
	now    func() time.Time
	tracer trace.Tracer
}

// NewWebhookNotifier returns a notifier posting to webhookURL in format.
// It returns a *ConfigError for a bad URL, format or option.
func NewWebhookNotifier(webhookURL string, format WebhookFormat, opts ...WebhookOption) (*WebhookNotifier, error) {
	u, err := url.Parse(webhookURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &ConfigError{Option: "webhook_url", Reason: "need an absolute http(s) URL"}
	}
	if format != WebhookSlack && format != WebhookTeams {
		return nil, &ConfigError{Option: "format", Reason: "unknown webhook format"}
	}
	s := webhookSettings{
		logger: slog.New(slog.DiscardHandler),
		retry:  RetryPolicy{MaxRetries: 3, MinBackoff: 500 * time.Millisecond, MaxBackoff: 10 * time.Second, MaxRetryAfter: time.Minute},
		now:    time.Now,
	}
	for _, o := range opts {
		if err := o(&s); err != nil {
			return nil, err
		}
	}
	if s.hc == nil {
		s.hc = &http.Client{Timeout: 30 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	return &WebhookNotifier{url: webhookURL, format: format, hc: s.hc, logger: s.logger, retry: s.retry, now: s.now, tracer: tracerOf(s.tp)}, nil
}

// Notify posts the alerts as firing; every alert not delivered is returned
// in a *DeliveryError.
func (n *WebhookNotifier) Notify(ctx context.Context, alerts []Alert) error {
	groups, failed, lastErr := groupAlerts(alerts)
	for _, g := range groups {
		body, err := json.Marshal(n.payload("firing", g))
		if err == nil {
			sctx, span := startSpan(ctx, n.tracer, "webhook post", attribute.Int("mlwatch.alerts", len(g.alerts)),
				attribute.String("mlwatch.severity", string(g.severity)))
			var status, attempts int
			status, attempts, err = n.post(sctx, body)
			endSpan(span, status, attempts, err)
		}
		if err != nil {
			failed = append(failed, g.alerts...)
			lastErr = err
		}
	}
	if len(failed) > 0 {
		return &DeliveryError{Failed: failed, Err: lastErr}
	}
	return nil
}

// payload builds the format's JSON document.
func (n *WebhookNotifier) payload(status string, g *group) any {
	subject := g.subject(status)
	var lines []string
	for _, a := range g.alerts {
		line := fmt.Sprintf("%s %s = %s (threshold %s", a.Model, a.Metric, formatFloat(a.Observed), formatFloat(a.Threshold))
		if finite(a.Baseline) {
			line += ", baseline " + formatFloat(a.Baseline)
		}
		line += ")"
		if a.Country != "" {
			line += " country " + a.Country
		}
		if a.Pipeline != "" {
			line += " pipeline " + a.Pipeline
		}
		if a.Summary != "" {
			line += ": " + a.Summary
		}
		if n.format == WebhookSlack {
			line = slackEscape(line)
			if a.RunURL != "" {
				line += " <" + slackEscape(a.RunURL) + "|run>"
			}
			lines = append(lines, "• "+line)
		} else {
			if a.RunURL != "" {
				line += " [run](" + a.RunURL + ")"
			}
			lines = append(lines, "- "+line)
		}
	}
	if n.format == WebhookSlack {
		return map[string]string{"text": "*" + slackEscape(subject) + "*\n" + strings.Join(lines, "\n")}
	}
	color := "FFA500"
	if g.severity == SeverityCritical {
		color = "D63333"
	}
	return map[string]string{
		"@type":      "MessageCard",
		"@context":   "https://schema.org/extensions",
		"summary":    subject,
		"title":      subject,
		"themeColor": color,
		"text":       strings.Join(lines, "\n\n"),
	}
}

func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// post sends body with bounded retries on 5xx, 429 and network errors; it
// returns the last status (0 when none) and the number of attempts.
func (n *WebhookNotifier) post(ctx context.Context, body []byte) (status, attempts int, err error) {
	for attempt := 0; ; attempt++ {
		wait, code, err := n.attempt(ctx, body)
		status, attempts = code, attempt+1
		if err == nil {
			return status, attempts, nil
		}
		var we *WebhookError
		retryable := ctx.Err() == nil && (!errors.As(err, &we) || we.StatusCode >= 500 || we.StatusCode == 429)
		if !retryable || attempt >= n.retry.MaxRetries || wait > n.retry.MaxRetryAfter {
			return status, attempts, err
		}
		d := max(n.retry.backoff(attempt), wait)
		n.logger.InfoContext(ctx, "alerting: webhook retry", "attempt", attempts, "wait", d.String())
		if sleep(ctx, d) != nil {
			return status, attempts, err
		}
	}
}

func (n *WebhookNotifier) attempt(ctx context.Context, body []byte) (time.Duration, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, errors.New("alerting: webhook: cannot build request")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	resp, err := n.hc.Do(req)
	if err != nil {
		// *url.Error names the URL, which is a secret for webhooks: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, 0, fmt.Errorf("alerting: webhook: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 513))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return 0, resp.StatusCode, nil
	}
	m := strings.TrimSpace(strings.ToValidUTF8(string(msg), "?"))
	if i := strings.IndexAny(m, "\r\n"); i >= 0 {
		m = m[:i]
	}
	wait, _ := parseRetryAfter(resp.Header.Get("Retry-After"), n.now())
	return wait, resp.StatusCode, &WebhookError{StatusCode: resp.StatusCode, Message: truncate(m, 512)}
}
