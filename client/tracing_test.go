package client

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func spanAttrs(s sdktrace.ReadOnlySpan) map[string]string {
	m := map[string]string{}
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value.Emit()
	}
	return m
}

func TestSpansPerOperation(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	c, mux := setup(t, WithTracerProvider(tp), WithBearerToken("super-secret-token"))
	var calls atomic.Int32
	mux.HandleFunc("/api/2.0/mlflow/runs/log-batch", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			mlflowError(w, 503, "TEMPORARILY_UNAVAILABLE", "busy")
			return
		}
		writeJSON(w, 200, map[string]any{})
	})
	mux.HandleFunc("/api/2.0/mlflow/runs/get", func(w http.ResponseWriter, r *http.Request) {
		mlflowError(w, 404, "RESOURCE_DOES_NOT_EXIST", "Run with id=r1 not found")
	})
	ctx := context.Background()
	if err := c.LogBatch(ctx, "r1", Batch{Params: []Param{{"secret_param", "hunter2"}}, Metrics: []Metric{{Key: "auc", Value: 0.123456, Timestamp: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetRun(ctx, "r1"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	tests := []struct {
		name   string
		attrs  map[string]string
		status codes.Code
	}{
		{"mlflow runs/log-batch", map[string]string{"mlflow.endpoint": "/api/2.0/mlflow/runs/log-batch", "http.request.method": "POST",
			"http.response.status_code": "200", "mlwatch.attempts": "2"}, codes.Unset},
		{"mlflow runs/get", map[string]string{"mlflow.endpoint": "/api/2.0/mlflow/runs/get", "http.request.method": "GET",
			"http.response.status_code": "404", "mlwatch.attempts": "1", "mlflow.error_code": "RESOURCE_DOES_NOT_EXIST"}, codes.Error},
	}
	for i, tt := range tests {
		s := spans[i]
		if s.Name() != tt.name {
			t.Errorf("span %d name %q, want %q", i, s.Name(), tt.name)
		}
		if diff := cmp.Diff(tt.attrs, spanAttrs(s)); diff != "" {
			t.Errorf("%s attributes (-want +got):\n%s", tt.name, diff)
		}
		if s.Status().Code != tt.status {
			t.Errorf("%s status %v", tt.name, s.Status())
		}
		all := s.Name() + s.Status().Description
		for _, kv := range s.Attributes() {
			all += kv.Value.Emit()
		}
		for _, secret := range []string{"super-secret-token", "hunter2", "secret_param", "0.123456"} {
			if strings.Contains(all, secret) {
				t.Errorf("span %s carries %q", s.Name(), secret)
			}
		}
	}
}

func TestCreateRunSpan(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	c, _, _ := createFaultServer(t, []string{"timeout", "ok"}, WithTracerProvider(tp))
	if _, err := c.CreateRun(context.Background(), CreateRunOptions{}); err != nil {
		t.Fatal(err)
	}
	var names []string
	var create sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		names = append(names, s.Name())
		if s.Name() == "mlflow runs/create" {
			create = s
		}
	}
	if diff := cmp.Diff([]string{"mlflow runs/search", "mlflow runs/create"}, names); diff != "" {
		t.Fatalf("spans (-want +got):\n%s", diff)
	}
	a := spanAttrs(create)
	if a["mlwatch.attempts"] != "1" || a["mlwatch.create_recovered"] != "true" {
		t.Errorf("create span attributes %v", a)
	}
	if rec.Ended()[0].Parent().SpanID() != create.SpanContext().SpanID() {
		t.Error("search span is not a child of the create span")
	}
}
