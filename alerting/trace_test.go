package alerting

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func spanAttrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestSpans(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "out of order sample", http.StatusBadRequest)
	}))
	defer srv.Close()
	w, err := NewWriter(srv.URL+"/api/v1/write", WithWriterTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	_ = w.Push(context.Background(), Breached, testAlert())
	sn, err := NewSNSNotifier("arn:aws:sns:us-east-1:123456789012:t", &fakeSNS{}, WithSNSTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	if err := sn.Notify(context.Background(), []Alert{testAlert()}); err != nil {
		t.Fatal(err)
	}
	hook, err := NewWebhookNotifier(srv.URL+"/hook/SECRET", WebhookSlack, WithWebhookTracerProvider(tp), WithWebhookRetry(RetryPolicy{}))
	if err != nil {
		t.Fatal(err)
	}
	_ = hook.Notify(context.Background(), []Alert{testAlert()})

	spans := rec.Ended()
	if len(spans) != 3 {
		t.Fatalf("spans = %d, want 3", len(spans))
	}
	rw, pub, wh := spans[0], spans[1], spans[2]
	if rw.Name() != "prometheus remote_write" || rw.Status().Code != codes.Error {
		t.Errorf("remote write span %q status %v", rw.Name(), rw.Status())
	}
	if a := spanAttrs(rw); a["http.response.status_code"].AsInt64() != 400 || a["mlwatch.attempts"].AsInt64() != 1 || a["mlwatch.series"].AsInt64() != 3 {
		t.Errorf("remote write attributes = %v", a)
	}
	if pub.Name() != "sns publish" || pub.Status().Code == codes.Error || spanAttrs(pub)["mlwatch.model_group"].AsString() != "churn" {
		t.Errorf("sns span %q %v %v", pub.Name(), pub.Status(), spanAttrs(pub))
	}
	if wh.Name() != "webhook post" || spanAttrs(wh)["http.response.status_code"].AsInt64() != 400 {
		t.Errorf("webhook span %q %v", wh.Name(), spanAttrs(wh))
	}
	for _, s := range spans {
		for _, kv := range s.Attributes() {
			if strings.Contains(kv.Value.Emit(), "SECRET") || strings.Contains(kv.Value.Emit(), srv.URL) {
				t.Errorf("span %s leaks a URL in %s", s.Name(), kv.Key)
			}
		}
		if strings.Contains(s.Status().Description, "SECRET") {
			t.Errorf("span %s leaks the webhook URL in its status", s.Name())
		}
	}
}
