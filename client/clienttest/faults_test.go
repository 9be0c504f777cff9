package clienttest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mlwatch/mlwatch/client"
	"github.com/mlwatch/mlwatch/client/clienttest"
)

func newRun(t *testing.T, c *client.Client) string {
	t.Helper()
	run, err := c.CreateRun(t.Context(), client.CreateRunOptions{ExperimentID: "0"})
	if err != nil {
		t.Fatalf("CreateRun: %v", err)
	}
	return run.Info.RunID
}

func TestFaultTransientStatusIsRetried(t *testing.T) {
	t.Parallel()
	srv, c := clienttest.NewServer(t)
	id := newRun(t, c)
	srv.Fail("runs/get", clienttest.Fault{Status: http.StatusServiceUnavailable, Times: 2})
	if _, err := c.GetRun(t.Context(), id); err != nil {
		t.Fatalf("GetRun after two 503s: %v", err)
	}
	if got := srv.Requests("runs/get"); got != 3 {
		t.Errorf("Requests(runs/get) = %d, want 3", got)
	}
}

func TestFaultErrorCodeMapsToSentinel(t *testing.T) {
	t.Parallel()
	srv, c := clienttest.NewServer(t)
	id := newRun(t, c)
	srv.Fail("runs/get", clienttest.Fault{ErrorCode: "PERMISSION_DENIED", Message: "no access", Times: 1})
	_, err := c.GetRun(t.Context(), id)
	var apiErr *client.APIError
	if !errors.Is(err, client.ErrPermissionDenied) || !errors.As(err, &apiErr) || apiErr.StatusCode != 403 || apiErr.Message != "no access" {
		t.Fatalf("error = %v, want ErrPermissionDenied (403)", err)
	}
	if got := srv.Requests("runs/get"); got != 1 {
		t.Errorf("a 403 was retried: %d requests", got)
	}
}

func TestFaultHTMLBodyUntilCleared(t *testing.T) {
	t.Parallel()
	srv, c := clienttest.NewServer(t)
	id := newRun(t, c)
	srv.Fail("runs/get", clienttest.Fault{Status: http.StatusBadGateway, Body: "<html><body>502 Bad Gateway</body></html>"})
	_, err := c.GetRun(t.Context(), id)
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadGateway {
		t.Fatalf("error = %v, want an APIError with status 502", err)
	}
	if got, want := srv.Requests("runs/get"), 1+clienttest.FastRetryPolicy().MaxRetries; got != want {
		t.Errorf("Requests = %d, want %d (every retry failed)", got, want)
	}
	srv.ClearFaults()
	if _, err := c.GetRun(t.Context(), id); err != nil {
		t.Errorf("GetRun after ClearFaults: %v", err)
	}
}

func TestFaultRetryAfterAndAllEndpoints(t *testing.T) {
	t.Parallel()
	srv := &clienttest.Server{}
	ts := httptestServer(t, srv)
	srv.Fail(clienttest.AllEndpoints, clienttest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 1500 * time.Millisecond, Times: 1})
	resp, err := ts.Client().Get(ts.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" || !strings.Contains(string(body), `"error_code":"REQUEST_LIMIT_EXCEEDED"`) {
		t.Errorf("got %d Retry-After=%q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	resp, err = ts.Client().Get(ts.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("second request: %d, want 200 (Times: 1)", resp.StatusCode)
	}
	if got := srv.Requests(clienttest.AllEndpoints); got != 2 {
		t.Errorf("Requests(*) = %d, want 2", got)
	}
}

func TestFaultQueueAndDelay(t *testing.T) {
	t.Parallel()
	srv, c := clienttest.NewServer(t, client.WithTimeout(200*time.Millisecond))
	id := newRun(t, c)
	// A slow answer beyond the per-attempt timeout, then a 500, then normal.
	srv.Fail("runs/get", clienttest.Fault{Delay: 2 * time.Second, Times: 1})
	srv.Fail("runs/get", clienttest.Fault{Status: 500, Times: 1})
	start := time.Now()
	if _, err := c.GetRun(t.Context(), id); err != nil {
		t.Fatalf("GetRun: %v", err)
	}
	if got := srv.Requests("runs/get"); got != 3 {
		t.Errorf("Requests = %d, want 3", got)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("GetRun took %v; the per-attempt timeout should have cut the delay", d)
	}
	// A delay alone answers normally.
	srv.Fail("runs/get", clienttest.Fault{Delay: 30 * time.Millisecond, Times: 1})
	start = time.Now()
	if _, err := c.GetRun(t.Context(), id); err != nil || time.Since(start) < 30*time.Millisecond {
		t.Errorf("delayed GetRun: %v after %v", err, time.Since(start))
	}
}

func TestFaultDroppedConnectionIsRetried(t *testing.T) {
	t.Parallel()
	srv, c := clienttest.NewServer(t)
	id := newRun(t, c)
	srv.Fail("runs/log-batch", clienttest.Fault{DropConnection: true, Times: 1})
	b := client.Batch{Metrics: []client.Metric{{Key: "m", Value: 1, Timestamp: 1}, {Key: "m", Value: 2, Timestamp: 2, Step: 1}}}
	if err := c.LogBatch(t.Context(), id, b); err != nil {
		t.Fatalf("LogBatch after a dropped connection: %v", err)
	}
	if h := srv.MetricHistory(id, "m"); len(h) != 2 {
		t.Errorf("history = %v, want 2 points", h)
	}
}

// TestFaultAfterHandling: the server did the work but the answer was lost;
// the client's retries must not duplicate anything.
func TestFaultAfterHandling(t *testing.T) {
	t.Parallel()
	srv, c := clienttest.NewServer(t)
	srv.Fail("runs/create", clienttest.Fault{Status: http.StatusServiceUnavailable, AfterHandling: true, Times: 1})
	run, err := c.CreateRun(t.Context(), client.CreateRunOptions{ExperimentID: "0", RunName: "once"})
	if err != nil {
		t.Fatalf("CreateRun: %v", err)
	}
	if runs := srv.Runs(); len(runs) != 1 || runs[0].Info.RunID != run.Info.RunID {
		t.Errorf("%d runs after a lost runs/create answer, want exactly 1", len(runs))
	}

	srv.Fail("runs/log-batch", clienttest.Fault{DropConnection: true, AfterHandling: true, Times: 1})
	b := client.Batch{Metrics: []client.Metric{{Key: "m", Value: 1, Timestamp: 1}, {Key: "m", Value: 2, Timestamp: 2, Step: 1}}}
	if err := c.LogBatch(t.Context(), run.Info.RunID, b); err != nil {
		t.Fatalf("LogBatch: %v", err)
	}
	if h := srv.MetricHistory(run.Info.RunID, "m"); len(h) != 2 {
		t.Errorf("history after a re-sent batch = %v, want 2 points (deduplicated)", h)
	}
	if got := srv.Requests("runs/log-batch"); got != 2 {
		t.Errorf("Requests(runs/log-batch) = %d, want 2", got)
	}
}

func TestFaultDelayEndsWhenClientGoesAway(t *testing.T) {
	t.Parallel()
	srv, c := clienttest.NewServer(t)
	srv.Fail("runs/get", clienttest.Fault{Delay: time.Hour})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.GetRun(ctx, "0123456789abcdef0123456789abcdef"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want context.DeadlineExceeded", err)
	}
}

func TestFailUnknownEndpointPanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "runs/log_batch") {
			t.Errorf("recover() = %v, want a panic naming the endpoint", r)
		}
	}()
	var srv clienttest.Server
	srv.Fail("runs/log_batch", clienttest.Fault{Status: 500})
}
