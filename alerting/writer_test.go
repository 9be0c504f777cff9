package alerting

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// receiver is a fake remote-write endpoint recording decoded requests.
type receiver struct {
	mu       sync.Mutex
	headers  []http.Header
	requests [][]Series
	answer   func(n int) (int, http.Header, string) // n = 0-based request number
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	series, err := decodeWriteRequest(body)
	rc.mu.Lock()
	n := len(rc.headers)
	rc.headers = append(rc.headers, r.Header.Clone())
	rc.requests = append(rc.requests, series)
	rc.mu.Unlock()
	if err != nil {
		http.Error(w, "snappy: corrupt input", http.StatusBadRequest)
		return
	}
	if rc.answer != nil {
		code, h, msg := rc.answer(n)
		for k, v := range h {
			w.Header()[k] = v
		}
		w.WriteHeader(code)
		io.WriteString(w, msg)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func fastRetry() WriterOption {
	return WithRetry(RetryPolicy{MaxRetries: 3, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, MaxRetryAfter: time.Minute})
}

func testAlert() Alert {
	return Alert{Name: "auc_min", Severity: SeverityCritical, Model: "churn-xgb", ModelGroup: "churn", Country: "de",
		Metric: "auc", Pipeline: "churn-de-daily", RunID: "r1", Observed: 0.61, Threshold: 0.7, Baseline: 0.74}
}

func TestWriterHeadersAndSeries(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	now := time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC)
	w, err := NewWriter(srv.URL+"/prefix/api/v1/write", WithHeader("X-Scope-OrgID", "team-a"), WithWriterClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert()
	if err := w.Push(context.Background(), Breached, a); err != nil {
		t.Fatalf("Push: %v", err)
	}
	h := rc.headers[0]
	for k, want := range map[string]string{
		"Content-Encoding":                  "snappy",
		"Content-Type":                      "application/x-protobuf",
		"X-Prometheus-Remote-Write-Version": "0.1.0",
		"User-Agent":                        "mlwatch-go/" + Version,
		"X-Scope-Orgid":                     "team-a",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	base := []Label{{"country", "de"}, {"metric", "auc"}, {"model", "churn-xgb"}, {"model_group", "churn"}, {"pipeline", "churn-de-daily"}, {"severity", "critical"}}
	ts := now.UnixMilli()
	want := []Series{
		{Labels: append([]Label{{"__name__", MetricBreach}}, base...), Samples: []Sample{{1, ts}}},
		{Labels: append([]Label{{"__name__", MetricObserved}}, base...), Samples: []Sample{{0.61, ts}}},
		{Labels: append([]Label{{"__name__", MetricThreshold}}, base...), Samples: []Sample{{0.7, ts}}},
	}
	if diff := cmp.Diff(want, rc.requests[0]); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
	for _, s := range rc.requests[0] {
		for _, l := range s.Labels {
			if l.Name == "run_id" {
				t.Errorf("run_id must not be a series label")
			}
		}
	}
}

func TestWriterPushStates(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	now := time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC)
	w, err := NewWriter(srv.URL, WithWriterClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert()
	a.Country, a.Pipeline = "", "" // optional labels are omitted, never empty
	a.Time = now.Add(time.Hour)    // future: clamped
	ctx := context.Background()
	for _, st := range []BreachState{Breached, Breached, Cleared, Ended} {
		if err := w.Push(ctx, st, a); err != nil {
			t.Fatalf("Push(%v): %v", st, err)
		}
	}
	var values []float64
	var stamps []int64
	for _, req := range rc.requests {
		s := req[0]
		if len(s.Labels) != 5 {
			t.Errorf("labels = %v, want 5 without country/pipeline", s.Labels)
		}
		values = append(values, s.Samples[0].Value)
		stamps = append(stamps, s.Samples[0].Timestamp)
	}
	if values[0] != 1 || values[1] != 1 || values[2] != 0 || math.Float64bits(values[3]) != StaleNaN {
		t.Errorf("breach values = %v, want 1 1 0 staleNaN", values)
	}
	base := now.UnixMilli()
	if diff := cmp.Diff([]int64{base, base + 1, base + 2, base + 3}, stamps); diff != "" {
		t.Errorf("timestamps not clamped/increasing (-want +got):\n%s", diff)
	}
	for _, s := range rc.requests[3] {
		if math.Float64bits(s.Samples[0].Value) != StaleNaN {
			t.Errorf("Ended: %v not a stale marker", s.Labels[0])
		}
	}
}

func TestWriterPushInvalid(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	w, err := NewWriter(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	good, bad := testAlert(), testAlert()
	bad.Model = `a"b`
	err = w.Push(context.Background(), Breached, good, bad)
	var de *DeliveryError
	if !errors.As(err, &de) || !errors.Is(err, ErrInvalidAlert) {
		t.Fatalf("err = %v, want *DeliveryError wrapping ErrInvalidAlert", err)
	}
	if len(de.Failed) != 1 || de.Failed[0].Model != bad.Model {
		t.Errorf("Failed = %+v, want only the bad alert", de.Failed)
	}
	if len(rc.requests) != 1 || len(rc.requests[0]) != 3 {
		t.Errorf("good alert not pushed: %d requests", len(rc.requests))
	}
}

func TestWriterRejectsFuture(t *testing.T) {
	t.Parallel()
	w, err := NewWriter("http://127.0.0.1:1/api/v1/write")
	if err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Minute).UnixMilli()
	err = w.Write(context.Background(), []Series{{Labels: []Label{{"__name__", "a"}}, Samples: []Sample{{1, future}}}})
	if !errors.Is(err, ErrInvalidAlert) {
		t.Errorf("err = %v, want validation error for a future timestamp", err)
	}
}

// fakeRT answers from a script without a network, so retries can run in a
// synctest bubble with fake time.
type fakeRT struct {
	mu      sync.Mutex
	answers []func() (*http.Response, error)
	times   []time.Time
}

func (f *fakeRT) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.times = append(f.times, time.Now())
	n := len(f.times) - 1
	if n >= len(f.answers) {
		n = len(f.answers) - 1
	}
	return f.answers[n]()
}

func status(code int, body string, h ...string) func() (*http.Response, error) {
	return func() (*http.Response, error) {
		hdr := http.Header{}
		for i := 0; i+1 < len(h); i += 2 {
			hdr.Set(h[i], h[i+1])
		}
		return &http.Response{StatusCode: code, Header: hdr, Body: io.NopCloser(strings.NewReader(body))}, nil
	}
}

func netErr() (*http.Response, error) {
	return nil, errors.New("dial tcp 127.0.0.1:1: connection refused")
}

func TestWriterRetries(t *testing.T) {
	t.Parallel()
	policy := RetryPolicy{MaxRetries: 3, MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, MaxRetryAfter: 30 * time.Second}
	tests := []struct {
		name     string
		answers  []func() (*http.Response, error)
		timeout  time.Duration
		attempts int
		status   int // of the returned *WriteError; 0 = success, -1 = other error
		minWait  time.Duration
	}{
		{"5xx then ok", []func() (*http.Response, error){status(503, "busy"), status(500, ""), status(204, "")}, 0, 3, 0, 0},
		{"429 Retry-After honoured", []func() (*http.Response, error){status(429, "ingestion rate limit exceeded", "Retry-After", "5"), status(200, "")}, 0, 2, 0, 5 * time.Second},
		{"429 Retry-After too long: give up", []func() (*http.Response, error){status(429, "slow down", "Retry-After", "3600")}, 0, 1, 429, 0},
		{"400 never retried", []func() (*http.Response, error){status(400, "out of order sample\nmore")}, 0, 1, 400, 0},
		{"404 never retried", []func() (*http.Response, error){status(404, "")}, 0, 1, 404, 0},
		{"5xx exhausts retries", []func() (*http.Response, error){status(502, "bad gateway")}, 0, 4, 502, 0},
		{"network errors retried", []func() (*http.Response, error){netErr, netErr, status(204, "")}, 0, 3, 0, 0},
		{"network errors exhaust", []func() (*http.Response, error){netErr}, 0, 4, -1, 0},
		{"context bounds waiting", []func() (*http.Response, error){status(503, "")}, 40 * time.Millisecond, 1, 503, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				rt := &fakeRT{answers: tt.answers}
				w, err := NewWriter("https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write",
					WithWriterHTTPClient(&http.Client{Transport: rt}), WithRetry(policy))
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				if tt.timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.timeout)
					defer cancel()
				}
				start := time.Now()
				err = w.Push(ctx, Breached, testAlert())
				if got := len(rt.times); got != tt.attempts {
					t.Errorf("attempts = %d, want %d", got, tt.attempts)
				}
				var we *WriteError
				switch {
				case tt.status == 0 && err != nil:
					t.Errorf("err = %v, want nil", err)
				case tt.status > 0 && (!errors.As(err, &we) || we.StatusCode != tt.status):
					t.Errorf("err = %v, want *WriteError status %d", err, tt.status)
				case tt.status == -1 && (err == nil || errors.As(err, &we)):
					t.Errorf("err = %v, want a network error", err)
				}
				if we != nil && strings.ContainsAny(we.Message, "\n\r") {
					t.Errorf("message not one line: %q", we.Message)
				}
				if tt.status != 0 {
					var de *DeliveryError
					if !errors.As(err, &de) || len(de.Failed) != 1 {
						t.Errorf("err = %v, want the alert back in a *DeliveryError", err)
					}
				}
				if d := time.Since(start); d < tt.minWait {
					t.Errorf("returned after %v, want >= %v (Retry-After)", d, tt.minWait)
				}
			})
		})
	}
	t.Run("429 is ErrThrottled", func(t *testing.T) {
		t.Parallel()
		if !errors.Is(&WriteError{StatusCode: 429}, ErrThrottled) || errors.Is(&WriteError{StatusCode: 400}, ErrThrottled) {
			t.Error("WriteError.Is(ErrThrottled) wrong")
		}
	})
}

func TestWriterOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  string
		opt  WriterOption
	}{
		{"relative url", "/api/v1/write", nil},
		{"bad scheme", "ftp://x/y", nil},
		{"reserved User-Agent", "http://x/", WithHeader("user-agent", "curl")},
		{"reserved Content-Encoding", "http://x/", WithHeader("Content-Encoding", "gzip")},
		{"reserved version", "http://x/", WithHeader("X-Prometheus-Remote-Write-Version", "2.0.0")},
		{"reserved Authorization", "http://x/", WithHeader("Authorization", "x")},
		{"nil client", "http://x/", WithWriterHTTPClient(nil)},
		{"nil logger", "http://x/", WithWriterLogger(nil)},
		{"bad retry", "http://x/", WithRetry(RetryPolicy{MaxRetries: -1})},
		{"sigv4 no region", "http://x/", WithSigV4("", nil)},
		{"sigv4 no creds", "http://x/", WithSigV4("us-east-1", nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var opts []WriterOption
			if tt.opt != nil {
				opts = append(opts, tt.opt)
			}
			if _, err := NewWriter(tt.url, opts...); !errors.Is(err, ErrConfig) {
				t.Errorf("err = %v, want ErrConfig", err)
			}
		})
	}
}

func TestAMPRemoteWriteURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		region, ws, want string
		ok               bool
	}{
		{"eu-west-1", "ws-1234abcd-12ab-34cd-56ef-1234567890ab", "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1234abcd-12ab-34cd-56ef-1234567890ab/api/v1/remote_write", true},
		{"us-gov-west-1", "ws-x", "https://aps-workspaces.us-gov-west-1.amazonaws.com/workspaces/ws-x/api/v1/remote_write", true},
		{"", "ws-x", "", false},
		{"eu-west-1", "", "", false},
		{"eu-west-1", "ws-x/../../y", "", false},
		{"evil.com/x", "ws-x", "", false},
	}
	for _, tt := range tests {
		got, err := AMPRemoteWriteURL(tt.region, tt.ws)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("AMPRemoteWriteURL(%q, %q) = %q, %v; want %q ok=%v", tt.region, tt.ws, got, err, tt.want, tt.ok)
		}
	}
}

func TestJoinErrorsOneLine(t *testing.T) {
	t.Parallel()
	a, b := errors.New("alerting: a"), &WriteError{StatusCode: 400, Message: "x"}
	err := joinErrors(nil, a, b)
	if strings.Contains(err.Error(), "\n") || err.Error() != "alerting: a; alerting: remote write: status 400: x" {
		t.Errorf("Error() = %q", err.Error())
	}
	var we *WriteError
	if !errors.Is(err, a) || !errors.As(err, &we) {
		t.Errorf("joined error does not unwrap")
	}
	if joinErrors(nil, nil) != nil || joinErrors(a) != a {
		t.Errorf("joinErrors of nil/one error")
	}
}

func TestWriterNaNIsNotStale(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	w, err := NewWriter(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert()
	a.Observed, a.Threshold = math.NaN(), math.Inf(1) // a metric that came back NaN is still a breach
	if err := w.Push(context.Background(), Breached, a); err != nil {
		t.Fatal(err)
	}
	obs := rc.requests[0][1].Samples[0].Value
	if !math.IsNaN(obs) || IsStaleNaN(obs) {
		t.Errorf("observed = %#x, want a NaN that is not the staleness marker", math.Float64bits(obs))
	}
	if IsStaleNaN(math.NaN()) || !IsStaleNaN(math.Float64frombits(StaleNaN)) {
		t.Error("IsStaleNaN wrong")
	}
}

func TestWriterCanceledContextNotRetried(t *testing.T) {
	t.Parallel()
	rt := &fakeRT{answers: []func() (*http.Response, error){status(503, "")}}
	w, err := NewWriter("http://127.0.0.1:1/api/v1/write", WithWriterHTTPClient(&http.Client{Transport: rt}), fastRetry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Push(ctx, Breached, testAlert()); err == nil {
		t.Fatal("want an error")
	}
	if len(rt.times) > 1 {
		t.Errorf("attempts = %d after cancel, want at most 1", len(rt.times))
	}
}
