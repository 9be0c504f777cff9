package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// SNSPublisher is the part of *sns.Client that SNSNotifier uses; tests
// inject their own.
type SNSPublisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

type snsSettings struct {
	logger   *slog.Logger
	retry    RetryPolicy
	now      func() time.Time
	endpoint string
	region   string
	creds    aws.CredentialsProvider
	tp       trace.TracerProvider
}

// SNSOption configures an SNSNotifier. Options validate their argument and
// return a *ConfigError when it is unusable.
type SNSOption func(*snsSettings) error

// WithSNSLogger logs throttling retries to l (silent by default).
func WithSNSLogger(l *slog.Logger) SNSOption {
	return func(s *snsSettings) error {
		if l == nil {
			return &ConfigError{Option: "logger", Reason: "nil *slog.Logger"}
		}
		s.logger = l
		return nil
	}
}

// WithSNSRetry sets how SNS throttling errors are retried (default: 3
// retries, 200ms to 5s backoff). Other errors are never retried by the
// notifier (the AWS SDK's own retryer still handles transient errors).
func WithSNSRetry(p RetryPolicy) SNSOption {
	return func(s *snsSettings) error {
		if err := p.validate(); err != nil {
			return err
		}
		s.retry = p
		return nil
	}
}

// WithSNSTracerProvider records one span per SNS publish with tp (the
// global provider by default).
func WithSNSTracerProvider(tp trace.TracerProvider) SNSOption {
	return func(s *snsSettings) error {
		if tp == nil {
			return &ConfigError{Option: "tracer_provider", Reason: "nil TracerProvider"}
		}
		s.tp = tp
		return nil
	}
}

// WithSNSClock sets the clock (time.Now by default); for tests.
func WithSNSClock(now func() time.Time) SNSOption {
	return func(s *snsSettings) error {
		if now == nil {
			return &ConfigError{Option: "clock", Reason: "nil clock"}
		}
		s.now = now
		return nil
	}
}

// WithSNSEndpoint sends to endpoint instead of the regional SNS endpoint
// (NewSNSNotifierFromConfig only), e.g. "http://127.0.0.1:15000" for moto.
// Tests must always set it (or AWS_ENDPOINT_URL_SNS) so that nothing can
// reach real AWS.
func WithSNSEndpoint(endpoint string) SNSOption {
	return func(s *snsSettings) error {
		if endpoint == "" {
			return &ConfigError{Option: "endpoint", Reason: "empty SNS endpoint"}
		}
		s.endpoint = endpoint
		return nil
	}
}

// WithSNSCredentials uses creds instead of the default AWS credential chain
// (NewSNSNotifierFromConfig only).
func WithSNSCredentials(creds aws.CredentialsProvider) SNSOption {
	return func(s *snsSettings) error {
		if creds == nil {
			return &ConfigError{Option: "credentials", Reason: "nil credentials provider"}
		}
		s.creds = creds
		return nil
	}
}

// SNSNotifier publishes alerts to an SNS topic, one message per model group
// and severity: a JSON Message body, a human ASCII subject under 100
// characters, and String message attributes severity, model_group, model,
// status and source for subscription filter policies. FIFO topics (".fifo")
// get MessageGroupId = model_group and a MessageDeduplicationId derived
// from the alerts' keys and a 5-minute time bucket. It is safe for
// concurrent use.
type SNSNotifier struct {
	topicARN string
	fifo     bool
	pub      SNSPublisher
	logger   *slog.Logger
	retry    RetryPolicy
	now      func() time.Time
	tracer   trace.Tracer
}

func newSNSSettings(opts []SNSOption) (snsSettings, error) {
	s := snsSettings{
		logger: slog.New(slog.DiscardHandler),
		retry:  RetryPolicy{MaxRetries: 3, MinBackoff: 200 * time.Millisecond, MaxBackoff: 5 * time.Second},
		now:    time.Now,
	}
	for _, o := range opts {
		if err := o(&s); err != nil {
			return s, err
		}
	}
	return s, nil
}

// NewSNSNotifier returns a notifier publishing to topicARN through pub
// (usually an *sns.Client). It returns a *ConfigError when topicARN is
// missing or malformed or pub is nil.
func NewSNSNotifier(topicARN string, pub SNSPublisher, opts ...SNSOption) (*SNSNotifier, error) {
	_, fifo, err := parseTopicARN(topicARN)
	if err != nil {
		return nil, err
	}
	if pub == nil {
		return nil, &ConfigError{Option: "publisher", Reason: "nil SNS publisher"}
	}
	s, err := newSNSSettings(opts)
	if err != nil {
		return nil, err
	}
	return &SNSNotifier{topicARN: topicARN, fifo: fifo, pub: pub, logger: s.logger, retry: s.retry, now: s.now, tracer: tracerOf(s.tp)}, nil
}

// NewSNSNotifierFromConfig returns a notifier with an *sns.Client built from
// the default AWS configuration (config.LoadDefaultConfig: environment,
// shared files, container or instance role), in the topic's region, with
// WithSNSEndpoint and WithSNSCredentials applied. ctx bounds loading the
// configuration only. It returns a *ConfigError when topicARN is missing or
// malformed (the region comes from the ARN, so it cannot be missing then).
func NewSNSNotifierFromConfig(ctx context.Context, topicARN string, opts ...SNSOption) (*SNSNotifier, error) {
	region, _, err := parseTopicARN(topicARN)
	if err != nil {
		return nil, err
	}
	s, err := newSNSSettings(opts)
	if err != nil {
		return nil, err
	}
	loadOpts := []func(*config.LoadOptions) error{config.WithRegion(region)}
	if s.creds != nil {
		loadOpts = append(loadOpts, config.WithCredentialsProvider(s.creds))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("alerting: load aws config: %w", err)
	}
	client := sns.NewFromConfig(cfg, func(o *sns.Options) {
		if s.endpoint != "" {
			o.BaseEndpoint = aws.String(s.endpoint)
		}
	})
	return NewSNSNotifier(topicARN, client, opts...)
}

// TopicARN returns the topic the notifier publishes to.
func (n *SNSNotifier) TopicARN() string { return n.topicARN }

// Notify publishes the alerts as firing, one message per model group and
// severity. Invalid alerts are not sent. SNS throttling errors are retried
// with backoff a bounded number of times; other errors are not retried.
// Every alert not delivered (invalid, throttled, failed) is returned in a
// *DeliveryError; a throttled one also matches ErrThrottled.
func (n *SNSNotifier) Notify(ctx context.Context, alerts []Alert) error {
	return n.notify(ctx, "firing", alerts)
}

// NotifyResolved publishes the alerts as resolved, the same way as Notify.
func (n *SNSNotifier) NotifyResolved(ctx context.Context, alerts []Alert) error {
	return n.notify(ctx, "resolved", alerts)
}

func (n *SNSNotifier) notify(ctx context.Context, status string, alerts []Alert) error {
	groups, failed, firstErr := groupAlerts(alerts)
	var lastErr error = firstErr
	for _, g := range groups {
		in, err := n.publishInput(status, g)
		if err == nil {
			sctx, span := startSpan(ctx, n.tracer, "sns publish", attribute.String("messaging.system", "aws_sns"),
				attribute.Int("mlwatch.alerts", len(g.alerts)), attribute.String("mlwatch.severity", string(g.severity)),
				attribute.String("mlwatch.model_group", g.modelGroup))
			var attempts int
			attempts, err = n.publish(sctx, in)
			endSpan(span, 0, attempts, err)
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

// publishInput builds the SNS request of one group.
func (n *SNSNotifier) publishInput(status string, g *group) (*sns.PublishInput, error) {
	now := n.now()
	body, err := json.Marshal(newMessage(status, now, g.alerts...))
	if err != nil {
		return nil, fmt.Errorf("alerting: encode message: %w", err)
	}
	if len(body) > 256*1024 {
		return nil, fmt.Errorf("alerting: message of %d bytes exceeds the SNS limit of 256 KiB", len(body))
	}
	str := func(v string) snstypes.MessageAttributeValue {
		return snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	in := &sns.PublishInput{
		TopicArn: aws.String(n.topicARN),
		Subject:  aws.String(g.subject(status)),
		Message:  aws.String(string(body)),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"severity":    str(string(g.severity)),
			"model_group": str(g.modelGroup),
			"model":       str(g.modelAttr()),
			"status":      str(status),
			"source":      str("mlwatch"),
		},
	}
	if n.fifo {
		keys := []string{status, strconv.FormatInt(now.Truncate(5*time.Minute).Unix(), 10)}
		for _, a := range g.alerts {
			keys = append(keys, a.Key())
		}
		in.MessageGroupId = aws.String(g.modelGroup)
		in.MessageDeduplicationId = aws.String(hashKey(keys...))
	}
	return in, nil
}

// publish sends one message, retrying throttling errors; it returns the
// number of attempts.
func (n *SNSNotifier) publish(ctx context.Context, in *sns.PublishInput) (int, error) {
	for attempt := 0; ; attempt++ {
		_, err := n.pub.Publish(ctx, in)
		if err == nil {
			return attempt + 1, nil
		}
		if !isThrottle(err) {
			return attempt + 1, fmt.Errorf("alerting: sns publish: %w", err)
		}
		err = fmt.Errorf("alerting: sns publish: %w: %w", ErrThrottled, err)
		if attempt >= n.retry.MaxRetries {
			return attempt + 1, err
		}
		d := n.retry.backoff(attempt)
		n.logger.InfoContext(ctx, "alerting: sns throttled, retrying", "attempt", attempt+1, "wait", d.String())
		if sleep(ctx, d) != nil {
			return attempt + 1, err
		}
	}
}

// isThrottle reports whether err is an AWS throttling error.
func isThrottle(err error) bool {
	var te *snstypes.ThrottledException
	if errors.As(err, &te) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		_, ok := retry.DefaultThrottleErrorCodes[ae.ErrorCode()]
		return ok || ae.ErrorCode() == "Throttled"
	}
	return false
}
