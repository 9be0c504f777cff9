//go:build integration

package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/mlwatch/mlwatch/internal/bench/alerting/sqsink"
)

const e2eTopic = "mlwatch-alerts"

func mustEnv(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run the integration tests through `make test` (or export the lines of scripts/teststack.sh env)", name)
	}
	return v
}

var groupSeq atomic.Int64

// freshGroup returns a model_group unique to this test run: the stack is
// shared and Alertmanager remembers groups.
func freshGroup(prefix string) string {
	return fmt.Sprintf("e2e-%s-%s-%d", prefix, strconv.FormatInt(time.Now().UnixNano()%1e12, 36), groupSeq.Add(1))
}

// e2e holds what one end-to-end test needs.
type e2e struct {
	w     *Writer
	sink  *sqsink.Sink
	group string
}

func setupE2E(t *testing.T, prefix string) *e2e {
	t.Helper()
	moto := mustEnv(t, "MLWATCH_TEST_MOTO_URL")
	prom := mustEnv(t, "MLWATCH_TEST_PROMETHEUS_URL")
	mustEnv(t, "MLWATCH_TEST_ALERTMANAGER_URL")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitAlertmanagerDiscovered(t, ctx, prom)
	g := freshGroup(prefix)
	sink, err := sqsink.New(ctx, moto, e2eTopic, g, g)
	if err != nil {
		t.Fatalf("SNS/SQS on moto at %s: %v", moto, err)
	}
	t.Cleanup(func() { _ = sink.Close(context.Background()) })
	w, err := NewWriter(prom+"/api/v1/write", WithRetry(RetryPolicy{MaxRetries: 2, MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, MaxRetryAfter: 5 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	return &e2e{w: w, sink: sink, group: g}
}

// waitAlertmanagerDiscovered gates on Prometheus listing the Alertmanager
// (otherwise the first alert can be lost for a resend delay; reference C2).
func waitAlertmanagerDiscovered(t *testing.T, ctx context.Context, prom string) {
	t.Helper()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, prom+"/api/v1/alertmanagers", nil)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err == nil {
			var body struct {
				Data struct {
					Active []struct{ URL string } `json:"activeAlertmanagers"`
				} `json:"data"`
			}
			derr := json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if derr == nil && len(body.Data.Active) > 0 {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("Prometheus at %s has not discovered an Alertmanager (GET /api/v1/alertmanagers): %v", prom, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (e *e2e) alert(model, metric string, sev Severity) Alert {
	return Alert{Name: metric + "_min", Severity: sev, Model: model, ModelGroup: e.group, Country: "de", Metric: metric,
		Pipeline: model + "-de-daily", RunID: "run-1", Observed: 0.61, Threshold: 0.7, Baseline: 0.74}
}

// expect waits up to within for n envelopes and checks no more arrive in that time.
func (e *e2e) expect(t *testing.T, n int, within time.Duration) []sqsink.Envelope {
	t.Helper()
	got, err := e.sink.Receive(context.Background(), within, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < n {
		t.Fatalf("model_group %s: got %d SNS message(s) in SQS within %v, want %d: %v", e.group, len(got), within, n, subjects(got))
	}
	return got
}

// expectNone checks that nothing arrives for d.
func (e *e2e) expectNone(t *testing.T, d time.Duration, why string) {
	t.Helper()
	got, err := e.sink.Receive(context.Background(), d, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) > 0 {
		t.Fatalf("%s: got %d unexpected message(s): %v", why, len(got), subjects(got))
	}
}

func subjects(es []sqsink.Envelope) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Subject)
	}
	return out
}

func parseEnvelope(t *testing.T, env sqsink.Envelope) *Message {
	t.Helper()
	m, err := ParseMessage([]byte(env.Message))
	if err != nil {
		t.Fatalf("SNS message body is not a mlwatch Message: %v\n%s", err, env.Message)
	}
	return m
}

func (e *e2e) push(t *testing.T, st BreachState, alerts ...Alert) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.w.Push(ctx, st, alerts...); err != nil {
		t.Fatalf("Push: %v", err)
	}
}

// Timing of the local stack: rule evaluation 1s, resend 1s, group_wait 1s,
// group_interval 5s. A first message takes ~2s; changes wait for the next
// group_interval tick (<= 5s).
const (
	firstWithin  = 15 * time.Second
	changeWithin = 15 * time.Second
)

func TestE2EBreachFiresDedupsAndResolves(t *testing.T) {
	t.Parallel()
	e := setupE2E(t, "fire")
	a := e.alert("churn-xgb", "auc", SeverityCritical)
	e.push(t, Breached, a)
	env := e.expect(t, 1, firstWithin)[0]

	if want := "[FIRING] mlwatch critical breach model_group=" + e.group; env.Subject != want {
		t.Errorf("subject = %q, want %q", env.Subject, want)
	}
	if len(env.Subject) >= 100 {
		t.Errorf("subject has %d characters, SNS needs < 100", len(env.Subject))
	}
	for k, want := range map[string]string{"severity": "critical", "model_group": e.group, "model": "churn-xgb", "status": "firing", "source": "alertmanager"} {
		if got := env.Attr(k); got != want {
			t.Errorf("attribute %s = %q, want %q", k, got, want)
		}
	}
	m := parseEnvelope(t, env)
	if m.Source != "alertmanager" || m.Status != "firing" || m.GroupLabels["model_group"] != e.group || len(m.Alerts) != 1 {
		t.Fatalf("message = %+v", m)
	}
	got := m.Alerts[0]
	for k, want := range map[string]string{"alertname": AlertName, "model": "churn-xgb", "model_group": e.group, "metric": "auc",
		"severity": "critical", "country": "de", "pipeline": "churn-xgb-de-daily"} {
		if got.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, got.Labels[k], want)
		}
	}
	if _, ok := got.Labels["run_id"]; ok {
		t.Error("run_id reached the alert labels")
	}
	if got.Annotations["observed"] != "0.61" || got.Annotations["threshold"] != "0.7" {
		t.Errorf("annotations = %v, want observed 0.61, threshold 0.7", got.Annotations)
	}
	if !strings.Contains(got.Annotations["summary"], "churn-xgb: auc breached its critical threshold") {
		t.Errorf("summary = %q", got.Annotations["summary"])
	}

	// Re-pushing the firing breach sends nothing new (dedup; repeat_interval 1h).
	for range 3 {
		time.Sleep(2 * time.Second)
		e.push(t, Breached, a)
	}
	e.expectNone(t, 6*time.Second, "re-pushed breach")

	// Clearing (0) resolves.
	e.push(t, Cleared, a)
	env = e.expect(t, 1, changeWithin)[0]
	if want := "[RESOLVED] mlwatch critical breach model_group=" + e.group; env.Subject != want {
		t.Errorf("subject = %q, want %q", env.Subject, want)
	}
	if m := parseEnvelope(t, env); m.Status != "resolved" || m.Alerts[0].Status != "resolved" {
		t.Errorf("resolved message = %+v", m)
	}
}

func TestE2ETwoModelsOneMessage(t *testing.T) {
	t.Parallel()
	e := setupE2E(t, "group")
	e.push(t, Breached, e.alert("m-a", "auc", SeverityWarning), e.alert("m-b", "rmse", SeverityWarning))
	envs := e.expect(t, 1, firstWithin)
	if len(envs) != 1 {
		t.Fatalf("got %d messages, want one combined: %v", len(envs), subjects(envs))
	}
	m := parseEnvelope(t, envs[0])
	models := map[string]bool{}
	for _, a := range m.Alerts {
		models[a.Labels["model"]] = true
	}
	if len(m.Alerts) != 2 || !models["m-a"] || !models["m-b"] {
		t.Errorf("alerts = %+v, want m-a and m-b in one message", m.Alerts)
	}
	if envs[0].Attr("model") != "multiple" || envs[0].Attr("severity") != "warning" {
		t.Errorf("attributes model=%q severity=%q", envs[0].Attr("model"), envs[0].Attr("severity"))
	}
	e.expectNone(t, 6*time.Second, "second message for the same group")
	e.push(t, Ended, e.alert("m-a", "auc", SeverityWarning), e.alert("m-b", "rmse", SeverityWarning))
	env := e.expect(t, 1, changeWithin)[0]
	if !strings.HasPrefix(env.Subject, "[RESOLVED]") {
		t.Errorf("after stale markers: subject %q, want [RESOLVED]", env.Subject)
	}
}

func TestE2ECriticalInhibitsWarning(t *testing.T) {
	t.Parallel()
	e := setupE2E(t, "inhibit")
	e.push(t, Breached, e.alert("m-x", "auc", SeverityCritical), e.alert("m-x", "auc", SeverityWarning))
	envs := e.expect(t, 1, firstWithin)
	more, err := e.sink.Receive(context.Background(), 7*time.Second, 0)
	if err != nil {
		t.Fatal(err)
	}
	envs = append(envs, more...)
	if len(envs) != 1 {
		t.Fatalf("got %d messages, want only the critical: %v", len(envs), subjects(envs))
	}
	m := parseEnvelope(t, envs[0])
	if envs[0].Attr("severity") != "critical" || len(m.Alerts) != 1 || m.Alerts[0].Labels["severity"] != "critical" {
		t.Errorf("message = %v %+v, want only the critical alert", subjects(envs), m.Alerts)
	}
	e.push(t, Ended, e.alert("m-x", "auc", SeverityCritical), e.alert("m-x", "auc", SeverityWarning))
}

func TestE2EStaleMarkerResolves(t *testing.T) {
	t.Parallel()
	e := setupE2E(t, "stale")
	a := e.alert("m-s", "f1", SeverityCritical)
	e.push(t, Breached, a)
	e.expect(t, 1, firstWithin)
	e.push(t, Ended, a)
	env := e.expect(t, 1, changeWithin)[0]
	m := parseEnvelope(t, env)
	if !strings.HasPrefix(env.Subject, "[RESOLVED]") || m.Status != "resolved" {
		t.Errorf("subject %q status %q, want resolved", env.Subject, m.Status)
	}
}

func TestE2EDirectSNS(t *testing.T) {
	t.Parallel()
	moto := mustEnv(t, "MLWATCH_TEST_MOTO_URL")
	g := freshGroup("direct")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sink, err := sqsink.New(ctx, moto, e2eTopic, g, g)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close(context.Background()) })
	n, err := NewSNSNotifierFromConfig(ctx, sink.TopicARN, WithSNSEndpoint(moto),
		WithSNSCredentials(credentials.NewStaticCredentialsProvider("testing", "testing", "")))
	if err != nil {
		t.Fatal(err)
	}
	a := Alert{Name: "auc_min", Severity: SeverityCritical, Model: "direct-m", ModelGroup: g, Metric: "auc", RunID: "abc123",
		RunURL: "http://127.0.0.1:15500/#/experiments/1/runs/abc123", Observed: 0.5, Threshold: 0.7, Baseline: 0.72}
	if err := n.Notify(ctx, []Alert{a}); err != nil {
		t.Fatal(err)
	}
	envs, err := sink.Receive(ctx, 10*time.Second, 1)
	if err != nil || len(envs) != 1 {
		t.Fatalf("direct publish: got %d messages, %v", len(envs), err)
	}
	env := envs[0]
	if want := "[FIRING] mlwatch critical: direct-m auc model_group=" + g; env.Subject != want {
		t.Errorf("subject = %q, want %q", env.Subject, want)
	}
	for k, want := range map[string]string{"severity": "critical", "model_group": g, "model": "direct-m", "status": "firing", "source": "mlwatch"} {
		if env.Attr(k) != want || env.MessageAttributes[k].Type != "String" {
			t.Errorf("attribute %s = %+v, want String %q", k, env.MessageAttributes[k], want)
		}
	}
	m := parseEnvelope(t, env)
	ann := m.Alerts[0].Annotations
	if m.Source != "mlwatch" || ann["run_id"] != "abc123" || ann["run_url"] != a.RunURL || ann["observed"] != "0.5" || ann["baseline"] != "0.72" {
		t.Errorf("message = %+v", m)
	}
	// A topic that does not exist: the alert comes back, not dropped.
	missing, err := NewSNSNotifierFromConfig(ctx, "arn:aws:sns:us-east-1:123456789012:mlwatch-no-such-topic", WithSNSEndpoint(moto),
		WithSNSCredentials(credentials.NewStaticCredentialsProvider("testing", "testing", "")))
	if err != nil {
		t.Fatal(err)
	}
	err = missing.Notify(ctx, []Alert{a})
	var de *DeliveryError
	if !errors.As(err, &de) || len(de.Failed) != 1 {
		t.Errorf("publish to a missing topic: err = %v, want the alert back in a *DeliveryError", err)
	}
}

func TestE2EReceiverRejectsOutOfOrder(t *testing.T) {
	t.Parallel()
	prom := mustEnv(t, "MLWATCH_TEST_PROMETHEUS_URL")
	w, err := NewWriter(prom + "/api/v1/write")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	labels := []Label{{"__name__", "mlwatch_e2e_probe"}, {"run", freshGroup("ooo")}}
	now := time.Now().UnixMilli()
	if err := w.Write(ctx, []Series{{Labels: labels, Samples: []Sample{{1, now}}}}); err != nil {
		t.Fatalf("first write: %v", err)
	}
	start := time.Now()
	err = w.Write(ctx, []Series{{Labels: labels, Samples: []Sample{{1, now - 60_000}}}})
	var we *WriteError
	if !errors.As(err, &we) || we.StatusCode != 400 || !strings.Contains(we.Message, "out of order") {
		t.Fatalf("out-of-order write: err = %v, want *WriteError 400 with the receiver's message", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a 400 took %v: it must not be retried", d)
	}
}
