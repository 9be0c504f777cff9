package alerting

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

// fakeSNS records Publish calls and fails them per a script.
type fakeSNS struct {
	mu    sync.Mutex
	calls []*sns.PublishInput
	fail  func(n int) error
}

func (f *fakeSNS) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.calls)
	f.calls = append(f.calls, in)
	if f.fail != nil {
		if err := f.fail(n); err != nil {
			return nil, err
		}
	}
	return &sns.PublishOutput{MessageId: aws.String("m")}, nil
}

func attrs(in *sns.PublishInput) map[string]string {
	out := map[string]string{}
	for k, v := range in.MessageAttributes {
		if aws.ToString(v.DataType) != "String" {
			out[k] = "bad type " + aws.ToString(v.DataType)
			continue
		}
		out[k] = aws.ToString(v.StringValue)
	}
	return out
}

func TestSNSNotifierMessage(t *testing.T) {
	t.Parallel()
	pub := &fakeSNS{}
	now := time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC)
	n, err := NewSNSNotifier("arn:aws:sns:eu-west-1:111122223333:mlwatch-alerts", pub, WithSNSClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert()
	a.RunURL = "http://mlflow/#/experiments/1/runs/r1"
	b := a
	b.Model, b.Metric, b.Observed = "churn-lgbm", "recall", 0.2
	w := a
	w.Severity = SeverityWarning
	if err := n.Notify(context.Background(), []Alert{a, b, w}); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if len(pub.calls) != 2 {
		t.Fatalf("Publish calls = %d, want 2 (one per model group and severity)", len(pub.calls))
	}
	crit := pub.calls[0]
	if got, want := aws.ToString(crit.Subject), "[FIRING] mlwatch critical breach model_group=churn (2 alerts)"; got != want {
		t.Errorf("subject = %q, want %q", got, want)
	}
	if diff := cmp.Diff(map[string]string{"severity": "critical", "model_group": "churn", "model": "multiple", "status": "firing", "source": "mlwatch"}, attrs(crit)); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	if crit.MessageGroupId != nil || crit.MessageDeduplicationId != nil {
		t.Errorf("standard topic got FIFO fields")
	}
	m, err := ParseMessage([]byte(aws.ToString(crit.Message)))
	if err != nil {
		t.Fatal(err)
	}
	if m.Source != "mlwatch" || m.Status != "firing" || m.GroupLabels["model_group"] != "churn" || len(m.Alerts) != 2 {
		t.Errorf("message = %+v", m)
	}
	got := m.Alerts[0]
	wantAnn := map[string]string{"observed": "0.61", "threshold": "0.7", "baseline": "0.74", "check": "auc_min", "run_id": "r1",
		"run_url": a.RunURL, "summary": "churn-xgb: auc breached its critical threshold (model_group churn, country de, pipeline churn-de-daily)"}
	if diff := cmp.Diff(wantAnn, got.Annotations); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}
	wantLabels := map[string]string{"alertname": AlertName, "country": "de", "metric": "auc", "model": "churn-xgb", "model_group": "churn", "pipeline": "churn-de-daily", "severity": "critical"}
	if diff := cmp.Diff(wantLabels, got.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if !got.StartsAt.Equal(now) {
		t.Errorf("startsAt = %v, want %v", got.StartsAt, now)
	}
	if _, ok := m.CommonLabels["model"]; ok {
		t.Errorf("commonLabels has model although models differ: %v", m.CommonLabels)
	}
	warn := pub.calls[1]
	if got := aws.ToString(warn.Subject); got != "[FIRING] mlwatch warning: churn-xgb auc model_group=churn" {
		t.Errorf("warning subject = %q", got)
	}
	if attrs(warn)["model"] != "churn-xgb" {
		t.Errorf("warning model attribute = %q", attrs(warn)["model"])
	}
}

func TestSNSNotifierFIFO(t *testing.T) {
	t.Parallel()
	pub := &fakeSNS{}
	now := time.Date(2026, 11, 23, 4, 1, 0, 0, time.UTC)
	n, err := NewSNSNotifier("arn:aws:sns:eu-west-1:111122223333:alerts.fifo", pub, WithSNSClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 2 {
		if err := n.Notify(ctx, []Alert{testAlert()}); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(10 * time.Minute)
	if err := n.Notify(ctx, []Alert{testAlert()}); err != nil {
		t.Fatal(err)
	}
	c := pub.calls
	if aws.ToString(c[0].MessageGroupId) != "churn" {
		t.Errorf("MessageGroupId = %q, want model_group", aws.ToString(c[0].MessageGroupId))
	}
	d0, d1, d2 := aws.ToString(c[0].MessageDeduplicationId), aws.ToString(c[1].MessageDeduplicationId), aws.ToString(c[2].MessageDeduplicationId)
	if d0 == "" || d0 != d1 || d0 == d2 || len(d0) > 128 {
		t.Errorf("dedup IDs %q %q %q: want equal within a 5-minute bucket, different later", d0, d1, d2)
	}
}

type apiErr struct{ code string }

func (e apiErr) Error() string                 { return "api error " + e.code }
func (e apiErr) ErrorCode() string             { return e.code }
func (e apiErr) ErrorMessage() string          { return "rate exceeded" }
func (e apiErr) ErrorFault() smithy.ErrorFault { return smithy.FaultServer }

func TestSNSNotifierErrors(t *testing.T) {
	t.Parallel()
	throttled := &snstypes.ThrottledException{Message: aws.String("Rate exceeded")}
	tests := []struct {
		name     string
		fail     func(int) error
		alerts   []Alert
		calls    int
		failed   int
		throttle bool
	}{
		{"throttled then ok", func(n int) error {
			if n < 2 {
				return throttled
			}
			return nil
		}, []Alert{testAlert()}, 3, 0, false},
		{"throttling exhausts retries", func(int) error { return throttled }, []Alert{testAlert()}, 4, 1, true},
		{"generic Throttling code", func(int) error { return apiErr{"Throttling"} }, []Alert{testAlert()}, 4, 1, true},
		{"other error not retried", func(int) error { return apiErr{"AuthorizationError"} }, []Alert{testAlert()}, 1, 1, false},
		{"invalid alert returned, valid sent", nil, []Alert{testAlert(), {Severity: "info", Model: "m"}}, 1, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				pub := &fakeSNS{fail: tt.fail}
				n, err := NewSNSNotifier("arn:aws:sns:us-east-1:123456789012:t", pub)
				if err != nil {
					t.Fatal(err)
				}
				err = n.Notify(context.Background(), tt.alerts)
				if len(pub.calls) != tt.calls {
					t.Errorf("calls = %d, want %d", len(pub.calls), tt.calls)
				}
				var de *DeliveryError
				if tt.failed == 0 {
					if err != nil {
						t.Errorf("err = %v", err)
					}
					return
				}
				if !errors.As(err, &de) || len(de.Failed) != tt.failed {
					t.Fatalf("err = %v, want *DeliveryError with %d failed", err, tt.failed)
				}
				if errors.Is(err, ErrThrottled) != tt.throttle {
					t.Errorf("errors.Is(ErrThrottled) = %v, want %v", !tt.throttle, tt.throttle)
				}
			})
		})
	}
}

func TestSNSNotifierConfigErrors(t *testing.T) {
	t.Parallel()
	for _, arn := range []string{"", "topic", "arn:aws:sns::123456789012:t", "arn:aws:sqs:us-east-1:123456789012:t"} {
		if _, err := NewSNSNotifier(arn, &fakeSNS{}); !errors.Is(err, ErrConfig) {
			t.Errorf("NewSNSNotifier(%q) err = %v, want ErrConfig", arn, err)
		}
		if _, err := NewSNSNotifierFromConfig(context.Background(), arn, WithSNSEndpoint("http://127.0.0.1:1")); !errors.Is(err, ErrConfig) {
			t.Errorf("NewSNSNotifierFromConfig(%q) err = %v, want ErrConfig", arn, err)
		}
	}
	if _, err := NewSNSNotifier("arn:aws:sns:us-east-1:123456789012:t", nil); !errors.Is(err, ErrConfig) {
		t.Errorf("nil publisher: err = %v", err)
	}
	if _, err := NewSNSNotifier("arn:aws:sns:us-east-1:123456789012:t", &fakeSNS{}, WithSNSEndpoint("")); !errors.Is(err, ErrConfig) {
		t.Errorf("empty endpoint: err = %v", err)
	}
}

func TestSanitizeSubject(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a\nb\r\n  c", "a b c"},
		{"Zürich\x00", "Z?rich?"},
		{strings.Repeat("x", 150), strings.Repeat("x", MaxSubjectLen)},
		{"  lead", "lead"},
	}
	for _, tt := range tests {
		if got := SanitizeSubject(tt.in); got != tt.want {
			t.Errorf("SanitizeSubject(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzSanitizeSubject(f *testing.F) {
	f.Add("[FIRING] mlwatch critical: m auc model_group=g")
	f.Add("a\n\tb\u2028c")
	f.Add(strings.Repeat("é", 80))
	f.Fuzz(func(t *testing.T, s string) {
		got := SanitizeSubject(s)
		if len(got) > MaxSubjectLen {
			t.Fatalf("len %d > %d", len(got), MaxSubjectLen)
		}
		for i := 0; i < len(got); i++ {
			if got[i] < 0x20 || got[i] > 0x7e {
				t.Fatalf("non-printable byte %#x in %q", got[i], got)
			}
		}
	})
}

func FuzzParseMessage(f *testing.F) {
	f.Add([]byte(`{"version":"1","source":"alertmanager","status":"firing","groupLabels":{"model_group":"g"},"alerts":[{"status":"firing","labels":{"model":"m"},"startsAt":"2026-11-23T04:00:00.000Z","endsAt":"0001-01-01T00:00:00.000Z"}]}`))
	f.Add([]byte(`{"version":"2"}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err == nil && m.Version != "1" {
			t.Fatalf("accepted version %q", m.Version)
		}
	})
}

func TestSNSNotifierSplitsLargeGroups(t *testing.T) {
	t.Parallel()
	pub := &fakeSNS{}
	n, err := NewSNSNotifier("arn:aws:sns:us-east-1:123456789012:t", pub)
	if err != nil {
		t.Fatal(err)
	}
	var alerts []Alert
	for i := range 2*MaxAlertsPerMessage + 1 {
		a := testAlert()
		a.Metric = "m" + strconv.Itoa(i)
		a.Summary = strings.Repeat("long summary ", 50)
		alerts = append(alerts, a)
	}
	if err := n.Notify(context.Background(), alerts); err != nil {
		t.Fatal(err)
	}
	if len(pub.calls) != 3 {
		t.Fatalf("publishes = %d, want 3", len(pub.calls))
	}
	total := 0
	for _, c := range pub.calls {
		if len(aws.ToString(c.Message)) > 256*1024 {
			t.Errorf("message of %d bytes", len(aws.ToString(c.Message)))
		}
		m, err := ParseMessage([]byte(aws.ToString(c.Message)))
		if err != nil {
			t.Fatal(err)
		}
		total += len(m.Alerts)
	}
	if total != len(alerts) {
		t.Errorf("alerts published = %d, want %d", total, len(alerts))
	}
}

func TestSNSNotifierUnreachableEndpoint(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n, err := NewSNSNotifierFromConfig(ctx, "arn:aws:sns:us-east-1:123456789012:t", WithSNSEndpoint("http://127.0.0.1:1"),
		WithSNSCredentials(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "never-in-errors"}, nil
		})))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = n.Notify(ctx, []Alert{testAlert()})
	var de *DeliveryError
	if !errors.As(err, &de) || len(de.Failed) != 1 {
		t.Fatalf("err = %v, want the alert back in a *DeliveryError", err)
	}
	if strings.Contains(err.Error(), "never-in-errors") || strings.Contains(err.Error(), "\n") {
		t.Errorf("error leaks the secret or spans lines: %v", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("unreachable endpoint took %v: retries not bounded", d)
	}
}
