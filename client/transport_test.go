package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRetryTransientStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		statuses  []int // answers before success (0 = success)
		wantCalls int
		wantErr   error
	}{
		{"503 then ok", []int{503, 0}, 2, nil},
		{"408 429 500 502 504 retried", []int{408, 429, 500, 502, 504, 0}, 4, ErrUnavailable}, // 3 retries, 4th answer 502
		{"404 not retried", []int{404, 0}, 1, ErrNotFound},
		{"400 not retried", []int{400, 0}, 1, ErrInvalidParameter},
		{"501 not retried", []int{501, 0}, 1, ErrInternal},
		{"exhausted 500", []int{500, 500, 500, 500, 500}, 4, ErrInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux := setup(t)
			var calls atomic.Int32
			mux.HandleFunc("/api/2.0/mlflow/runs/get", func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1)) - 1
				if st := tt.statuses[min(n, len(tt.statuses)-1)]; st != 0 {
					mlflowError(w, st, "", "")
					return
				}
				writeJSON(w, 200, map[string]any{"run": map[string]any{"info": map[string]any{"run_id": "abc"}}})
			})
			_, err := c.GetRun(context.Background(), "abc")
			if got := int(calls.Load()); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
			if tt.wantErr == nil && err != nil {
				t.Fatalf("GetRun: %v", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("GetRun error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestRetryNetworkError(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("/api/2.0/mlflow/runs/update", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close() // dropped connection
			return
		}
		writeJSON(w, 200, map[string]any{"run_info": map[string]any{"run_id": "abc", "status": "FINISHED"}})
	})
	info, err := c.UpdateRun(context.Background(), "abc", UpdateRunOptions{Status: RunFinished})
	if err != nil {
		t.Fatalf("UpdateRun: %v", err)
	}
	if info.Status != RunFinished || calls.Load() != 2 {
		t.Errorf("status %s after %d calls", info.Status, calls.Load())
	}
}

func TestNonIdempotentNotRetried(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("/api/2.0/mlflow/model-versions/create", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		mlflowError(w, 503, "TEMPORARILY_UNAVAILABLE", "busy")
	})
	_, err := c.CreateModelVersion(context.Background(), "m", "runs:/abc/model", "abc")
	if !errors.Is(err, ErrUnavailable) || !IsRetryable(err) {
		t.Errorf("err = %v", err)
	}
	if calls.Load() != 1 {
		t.Errorf("calls = %d, want 1", calls.Load())
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithRetryPolicy(RetryPolicy{MaxRetries: 2, BackoffFactor: time.Minute, MaxBackoff: time.Second, RespectRetryAfter: true}))
	var first time.Time
	var gap atomic.Int64
	var calls atomic.Int32
	mux.HandleFunc("/api/2.0/mlflow/runs/get", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			first = time.Now()
			w.Header().Set("Retry-After", "0.2")
			mlflowError(w, 429, "REQUEST_LIMIT_EXCEEDED", "slow down")
			return
		}
		gap.Store(int64(time.Since(first)))
		writeJSON(w, 200, map[string]any{"run": map[string]any{"info": map[string]any{"run_id": "abc"}}})
	})
	if _, err := c.GetRun(context.Background(), "abc"); err != nil {
		t.Fatal(err)
	}
	if g := time.Duration(gap.Load()); g < 190*time.Millisecond || g > 900*time.Millisecond {
		t.Errorf("retry came after %v, want about 200ms (Retry-After)", g)
	}
}

func TestRetryBoundedByContext(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithRetryPolicy(RetryPolicy{MaxRetries: 10, BackoffFactor: time.Minute, MaxBackoff: time.Hour}))
	var calls atomic.Int32
	mux.HandleFunc("/api/2.0/mlflow/runs/get", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		mlflowError(w, 503, "", "")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.GetRun(ctx, "abc")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline exceeded", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("call took %v after the context ended", el)
	}
	if IsRetryable(err) && errors.Is(err, context.Canceled) {
		t.Error("cancelled call reported retryable")
	}
}

func TestPerAttemptTimeout(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithTimeout(50*time.Millisecond), WithRetryPolicy(RetryPolicy{MaxRetries: 1}))
	var calls atomic.Int32
	mux.HandleFunc("/api/2.0/mlflow/runs/get", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
			return
		}
		writeJSON(w, 200, map[string]any{"run": map[string]any{"info": map[string]any{"run_id": "abc"}}})
	})
	if _, err := c.GetRun(context.Background(), "abc"); err != nil {
		t.Fatalf("GetRun after a timed-out attempt: %v", err)
	}
	if calls.Load() != 2 {
		t.Errorf("calls = %d, want 2", calls.Load())
	}
}

func TestBackoffSchedule(t *testing.T) {
	t.Parallel()
	p := DefaultRetryPolicy()
	p.BackoffJitter = 0
	var got []time.Duration
	for n := 1; n <= 8; n++ {
		got = append(got, p.wait(n, nil))
	}
	s := time.Second
	want := []time.Duration{0, 4 * s, 8 * s, 16 * s, 32 * s, 64 * s, 120 * s, 120 * s}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("urllib3 schedule mismatch (-want +got):\n%s", diff)
	}
	p = DefaultRetryPolicy()
	for i := 0; i < 200; i++ {
		if w := p.wait(2, nil); w < 4*s || w >= 5*s {
			t.Fatalf("wait(2) with jitter = %v, want in [4s, 5s)", w)
		}
		if w := p.wait(7, nil); w != 120*s {
			t.Fatalf("wait(7) = %v, want capped 120s", w)
		}
	}
	resp := &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {"3"}}}
	if w := p.wait(1, resp); w != 3*s {
		t.Errorf("Retry-After 3 on first retry: %v", w)
	}
	resp.Header.Set("Retry-After", "100000")
	if w := p.wait(1, resp); w != 120*s {
		t.Errorf("huge Retry-After not capped: %v", w)
	}
	resp.StatusCode = 500
	if w := p.wait(1, resp); w != 0 {
		t.Errorf("Retry-After on 500 used: %v", w)
	}
	p.RespectRetryAfter = false
	resp.StatusCode = 429
	if w := p.wait(1, resp); w != 0 {
		t.Errorf("Retry-After used while disabled: %v", w)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if d, ok := parseRetryAfter(now.Add(10*s).Format(http.TimeFormat), now); !ok || d != 10*s {
		t.Errorf("HTTP-date Retry-After = %v, %v", d, ok)
	}
	for _, bad := range []string{"", "soon", "-1", "NaN"} {
		if _, ok := parseRetryAfter(bad, now); ok {
			t.Errorf("parseRetryAfter(%q) ok", bad)
		}
	}
}

func TestRequestShape(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithHeader("X-Team", "ml-platform"), WithBearerToken("tok-secret"))
	mux.HandleFunc("/api/2.0/mlflow/metrics/get-history-bulk-interval", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "GET" {
			t.Errorf("method %s", r.Method)
		}
		if r.Header.Get("Content-Type") != "" || r.ContentLength > 0 {
			t.Errorf("GET with a body")
		}
		q := r.URL.Query()
		want := url.Values{"run_ids": {"r1", "r2"}, "metric_key": {"val auc"}, "start_step": {"0"}, "end_step": {"9"}, "max_results": {"10"}}
		if diff := cmp.Diff(want, q); diff != "" {
			t.Errorf("query mismatch (-want +got):\n%s", diff)
		}
		if strings.Contains(r.URL.RawQuery, "+") {
			t.Errorf("space encoded as '+': %s", r.URL.RawQuery)
		}
		if got := r.Header.Get("User-Agent"); got != "mlwatch-go/"+Version {
			t.Errorf("User-Agent %q", got)
		}
		if got := r.Header.Get("Authorization"); got != "Bearer tok-secret" {
			t.Errorf("Authorization %q", got)
		}
		if got := r.Header.Get("X-Team"); got != "ml-platform" {
			t.Errorf("X-Team %q", got)
		}
		writeJSON(w, 200, map[string]any{"metrics": []map[string]any{{"key": "val auc", "value": "Infinity", "timestamp": "5", "step": 1, "run_id": "r1"}}})
	})
	start, end := int64(0), int64(9)
	got, err := c.GetMetricHistoryBulkInterval(context.Background(), BulkIntervalOptions{RunIDs: []string{"r1", "r2"}, MetricKey: "val auc", StartStep: &start, EndStep: &end, MaxResults: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].RunID != "r1" || got[0].Timestamp != 5 {
		t.Errorf("got %+v", got)
	}
}

func TestPostShape(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("/api/2.0/mlflow/runs/log-metric", func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
		}
		want := `{"run_id":"abc","run_uuid":"abc","key":"loss","value":"NaN","timestamp":1714400000000,"step":9007199254740993}`
		if string(data) != want {
			t.Errorf("body %s\nwant %s", data, want)
		}
		writeJSON(w, 200, map[string]any{})
	})
	m := Metric{Key: "loss", Value: nanValue(), Timestamp: 1714400000000, Step: 1<<53 + 1}
	if err := c.LogMetric(context.Background(), "abc", m); err != nil {
		t.Fatal(err)
	}
}

func nanValue() float64 { var z float64; return z / z }

func TestBasicWinsOverBearer(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithBearerToken("tok"), WithBasicAuth("alice", "s3cret"))
	mux.HandleFunc("/api/2.0/mlflow/runs/get", func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != "alice" || p != "s3cret" {
			t.Errorf("basic auth = %q %q %v", u, p, ok)
		}
		mlflowError(w, 401, "UNAUTHENTICATED", "bad credentials")
	})
	_, err := c.GetRun(context.Background(), "abc")
	if !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "tok") {
		t.Errorf("secret in error: %v", err)
	}
}

func TestErrorBodyLimit(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("/api/2.0/mlflow/runs/get", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(403)
		chunk := []byte(strings.Repeat("x", 1<<16))
		for i := 0; i < 64; i++ { // 4 MiB
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	_, err := c.GetRun(context.Background(), "abc")
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 403 || !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("err = %v", err)
	}
	if len(ae.Message) > 1000 {
		t.Errorf("message is %d bytes", len(ae.Message))
	}
}

func TestMalformedSuccessBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, ct, body, want string
	}{
		{"html 200", "text/html", "<html>proxy login</html>", "answer is text/html, not JSON"},
		{"truncated", "application/json", `{"run":{"info":`, "malformed JSON"},
		{"wrong type", "application/json", `{"run":{"info":{"run_id":5}}}`, "has JSON type number"},
		{"no run", "application/json", `{}`, "answer has no run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux := setup(t)
			mux.HandleFunc("/api/2.0/mlflow/runs/get", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.ct)
				fmt.Fprint(w, tt.body)
			})
			_, err := c.GetRun(context.Background(), "abc")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestRetryLogging(t *testing.T) {
	t.Parallel()
	h := &recordHandler{}
	c, mux := setup(t, WithLogger(slog.New(h)))
	var calls atomic.Int32
	mux.HandleFunc("/api/2.0/mlflow/runs/get", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			mlflowError(w, 503, "TEMPORARILY_UNAVAILABLE", "busy")
			return
		}
		writeJSON(w, 200, map[string]any{"run": map[string]any{"info": map[string]any{"run_id": "abc"}}})
	})
	if _, err := c.GetRun(context.Background(), "abc"); err != nil {
		t.Fatal(err)
	}
	var retries int
	for _, r := range h.all() {
		if r.Level != slog.LevelDebug {
			t.Errorf("log line %q at %v, want debug", r.Message, r.Level)
		}
		if r.Message == "client: retrying request" {
			retries++
			a := attrsOf(r)
			want := map[string]string{"endpoint": "/api/2.0/mlflow/runs/get", "attempt": "1", "status": "503"}
			if diff := cmp.Diff(want, a); diff != "" {
				t.Errorf("retry attrs (-want +got):\n%s", diff)
			}
		}
	}
	if retries != 1 {
		t.Errorf("%d retry lines, want 1", retries)
	}
}

func TestPathPrefixAndURLs(t *testing.T) {
	t.Parallel()
	c, err := New("https://user:pw@ml.example.com/mlflow/")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.TrackingURI(); got != "https://ml.example.com/mlflow" {
		t.Errorf("TrackingURI = %q", got)
	}
	if got := c.endpoint("/api/2.0/mlflow/runs/get"); got != "https://ml.example.com/mlflow/api/2.0/mlflow/runs/get" {
		t.Errorf("endpoint = %q", got)
	}
	if got := c.RunURL("3", "abc"); got != "https://ml.example.com/mlflow/#/experiments/3/runs/abc" {
		t.Errorf("RunURL = %q", got)
	}
	if got := c.headers.Get("Authorization"); !strings.HasPrefix(got, "Basic ") {
		t.Errorf("URI credentials not used as basic auth: %q", got)
	}
}

func TestTransportErrorHasNoQuery(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens: connection refused
	c, err := New("http://"+addr, WithRetryPolicy(RetryPolicy{MaxRetries: 1}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetMetricHistory(context.Background(), "abc", "secret_metric_name", 0, "")
	if err == nil || !IsRetryable(err) {
		t.Fatalf("err = %v, want a retryable transport error", err)
	}
	if strings.Contains(err.Error(), "secret_metric_name") || strings.Contains(err.Error(), "?") {
		t.Errorf("error carries the query: %v", err)
	}
}
