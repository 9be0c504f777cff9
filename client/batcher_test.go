package client

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var _ Flusher = (*Batcher)(nil)

func newTestBatcher(t *testing.T, c *Client, opts ...BatcherOption) *Batcher {
	t.Helper()
	opts = append([]BatcherOption{WithFlushInterval(20 * time.Millisecond), WithRetryBackoff(5*time.Millisecond, 50*time.Millisecond)}, opts...)
	b, err := NewBatcher(c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestBatcherOptionsRejectBadValues(t *testing.T) {
	t.Parallel()
	s := newLogBatchServer(t)
	c := s.client(t)
	tests := []struct {
		name string
		opt  BatcherOption
	}{
		{"queue too small", WithMaxQueueBytes(10)},
		{"interval zero", WithFlushInterval(0)},
		{"senders zero", WithSenders(0)},
		{"batch size over limit", WithBatchSize(1001)},
		{"negative budget", WithRetryBudget(-1)},
		{"backoff inverted", WithRetryBackoff(time.Second, time.Millisecond)},
		{"close timeout zero", WithCloseTimeout(0)},
		{"empty spool dir", WithSpoolDir("")},
		{"small segments", WithSpoolSegmentBytes(10)},
		{"nil handler", WithErrorHandler(nil)},
		{"sync spool without dir", WithSyncSpool()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := NewBatcher(c, tt.opt)
			if err == nil {
				b.Close()
				t.Fatal("NewBatcher accepted a bad option")
			}
		})
	}
}

func TestBatcherValidatesSynchronously(t *testing.T) {
	t.Parallel()
	s := newLogBatchServer(t)
	b := newTestBatcher(t, s.client(t))
	tests := []struct {
		name string
		call func() error
	}{
		{"bad run id", func() error { return b.LogMetric("../x", "loss", 1, 0) }},
		{"empty key", func() error { return b.LogMetric("run1", "", 1, 0) }},
		{"bad key chars", func() error { return b.LogMetric("run1", "a!b", 1, 0) }},
		{"bad key path", func() error { return b.LogMetric("run1", "a//b", 1, 0) }},
		{"negative timestamp", func() error {
			return b.LogMetrics("run1", []Metric{{Key: "k", Value: 1, Timestamp: -5}})
		}},
		{"bad param key", func() error { return b.LogParam("run1", "p?", "v") }},
		{"tag value too long", func() error { return b.SetTag("run1", "t", string(make([]byte, MaxTagValueLength+1))) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidParameter) {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
		})
	}
	if got := b.Stats().Enqueued; got != 0 {
		t.Errorf("Enqueued = %d after rejected calls, want 0", got)
	}
	if s.requests.Load() != 0 {
		t.Errorf("server got %d requests, want 0", s.requests.Load())
	}
}

func TestBatcherDeliversAllInOrderWithinLimits(t *testing.T) {
	t.Parallel()
	s := newLogBatchServer(t)
	b := newTestBatcher(t, s.client(t), WithSenders(3))
	const runs, keys, steps = 7, 5, 700
	var wg sync.WaitGroup
	for r := 0; r < runs; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			run := fmt.Sprintf("run%d", r)
			for st := 0; st < steps; st++ {
				for k := 0; k < keys; k++ {
					v := float64(st)
					switch st % 50 {
					case 1:
						v = math.NaN()
					case 2:
						v = math.Inf(1)
					case 3:
						v = math.Inf(-1)
					}
					if err := b.LogMetric(run, fmt.Sprintf("m%d", k), v, int64(st)); err != nil {
						t.Error(err)
						return
					}
				}
			}
			if err := b.LogParams(run, []Param{{Key: "lr", Value: "0.1"}, {Key: "seed", Value: "7"}}); err != nil {
				t.Error(err)
			}
			if err := b.SetTag(run, "phase", "train"); err != nil {
				t.Error(err)
			}
		}(r)
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	for r := 0; r < runs; r++ {
		for k := 0; k < keys; k++ {
			pts := s.series(fmt.Sprintf("run%d", r), fmt.Sprintf("m%d", k))
			if len(pts) != steps {
				t.Fatalf("run%d/m%d: %d points, want %d", r, k, len(pts), steps)
			}
			for i, p := range pts {
				if p.Step != int64(i) {
					t.Fatalf("run%d/m%d: point %d has step %d: order not preserved", r, k, i, p.Step)
				}
				if i%50 == 1 && !math.IsNaN(p.Value) || i%50 == 2 && !math.IsInf(p.Value, 1) || i%50 == 3 && !math.IsInf(p.Value, -1) {
					t.Fatalf("run%d/m%d step %d: value %v", r, k, i, p.Value)
				}
			}
		}
	}
	s.mu.Lock()
	sizes := s.maxSizes
	nParams, nTags := len(s.params), len(s.tags)
	s.mu.Unlock()
	if sizes[0] > 1000 || sizes[1] > 100 || sizes[2] > 100 || sizes[3] > 1000 || sizes[0] < 500 {
		t.Errorf("max batch sizes metrics/params/tags/entities = %v", sizes)
	}
	if nParams != 2*runs || nTags != runs {
		t.Errorf("params = %d, tags = %d, want %d, %d", nParams, nTags, 2*runs, runs)
	}
	st := b.Stats()
	want := int64(runs*keys*steps + 3*runs)
	if st.Enqueued != want || st.Sent != want || st.QueueDepth != 0 || st.Failed != 0 || st.Dropped != 0 {
		t.Errorf("Stats = %+v, want Enqueued = Sent = %d and nothing pending", st, want)
	}
}

func TestBatcherRetriesTransientFailuresWithoutDuplicates(t *testing.T) {
	t.Parallel()
	s := newLogBatchServer(t)
	// Every third request fails: alternately before and after storing.
	s.setFail(func(n int64) (int, bool) {
		if n%3 == 0 {
			return 503, n%2 == 0
		}
		return 0, false
	})
	b := newTestBatcher(t, s.client(t), WithBatchSize(100))
	for i := 0; i < 5000; i++ {
		if err := b.LogMetric("r1", "loss", float64(i), int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	pts := s.series("r1", "loss")
	if len(pts) != 5000 {
		t.Fatalf("got %d points, want 5000", len(pts))
	}
	if st := b.Stats(); st.Retried == 0 || st.Sent != 5000 {
		t.Errorf("Stats = %+v, want retries and 5000 sent", st)
	}
}

func TestBatcherParamConflictIsReportedNotRetried(t *testing.T) {
	t.Parallel()
	s := newLogBatchServer(t)
	var handled []error
	var mu sync.Mutex
	b := newTestBatcher(t, s.client(t), WithErrorHandler(func(err error) {
		mu.Lock()
		handled = append(handled, err)
		mu.Unlock()
	}))
	ctx := context.Background()
	if err := b.LogParams("r1", []Param{{Key: "a", Value: "1"}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.LogParams("r1", []Param{{Key: "a", Value: "2"}, {Key: "b", Value: "3"}}); err != nil {
		t.Fatal(err)
	}
	err := b.Flush(ctx)
	var be *BatchError
	if !errors.As(err, &be) || !errors.Is(err, ErrInvalidParameter) || be.Params != 1 {
		t.Fatalf("Flush = %v, want a *BatchError for one param wrapping ErrInvalidParameter", err)
	}
	s.mu.Lock()
	got := map[string]string{"a": s.params["r1/a"], "b": s.params["r1/b"]}
	s.mu.Unlock()
	if diff := cmp.Diff(map[string]string{"a": "1", "b": "3"}, got); diff != "" {
		t.Errorf("params (-want +got):\n%s", diff)
	}
	if err := b.Flush(ctx); err != nil {
		t.Errorf("second Flush = %v, want nil (errors are returned once)", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(handled) != 1 {
		t.Errorf("handler got %d errors, want 1", len(handled))
	}
	if st := b.Stats(); st.Failed != 1 || st.Sent != 2 {
		t.Errorf("Stats = %+v, want Failed 1, Sent 2", st)
	}
}

func TestBatcherClosed(t *testing.T) {
	t.Parallel()
	s := newLogBatchServer(t)
	b := newTestBatcher(t, s.client(t))
	if err := b.LogMetric("r1", "k", 1, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if len(s.series("r1", "k")) != 1 {
		t.Errorf("Shutdown did not flush")
	}
	calls := map[string]func() error{
		"LogMetric": func() error { return b.LogMetric("r1", "k", 1, 0) },
		"LogParam":  func() error { return b.LogParam("r1", "k", "v") },
		"SetTag":    func() error { return b.SetTag("r1", "k", "v") },
		"Flush":     func() error { return b.Flush(context.Background()) },
		"Shutdown":  func() error { return b.Shutdown(context.Background()) },
		"Close":     b.Close,
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Shutdown = %v, want ErrClosed", name, err)
		}
	}
}

func TestBatcherDropsWhenConfigured(t *testing.T) {
	t.Parallel()
	s := newLogBatchServer(t)
	release := s.setHang()
	var dropErr error
	var mu sync.Mutex
	b := newTestBatcher(t, s.client(t), WithMaxQueueBytes(1<<20), WithDropWhenFull(), WithSenders(1),
		WithErrorHandler(func(err error) { mu.Lock(); dropErr = err; mu.Unlock() }))
	const n = 200_000
	for i := 0; i < n; i++ {
		if err := b.LogMetric("r1", "k", float64(i), int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	st := b.Stats()
	if st.Dropped == 0 || st.Enqueued+st.Dropped != n {
		t.Errorf("Stats = %+v, want drops and Enqueued+Dropped = %d", st, n)
	}
	if st.QueueBytes > 1<<20 {
		t.Errorf("QueueBytes = %d, over the 1 MiB bound", st.QueueBytes)
	}
	close(release)
	if err := b.Flush(context.Background()); !errors.Is(err, ErrQueueFull) {
		t.Errorf("Flush = %v, want ErrQueueFull", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !errors.Is(dropErr, ErrQueueFull) {
		t.Errorf("handler got %v, want ErrQueueFull", dropErr)
	}
}

func TestBatcherBlocksWhenFull(t *testing.T) {
	t.Parallel()
	s := newLogBatchServer(t)
	release := s.setHang()
	b := newTestBatcher(t, s.client(t), WithMaxQueueBytes(1<<20), WithSenders(1))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var err error
	for i := 0; i < 1_000_000 && err == nil; i++ {
		err = b.LogMetricContext(ctx, "r1", "k", float64(i), int64(i))
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("LogMetricContext = %v, want DeadlineExceeded once full", err)
	}
	enq := b.Stats().Enqueued
	close(release)
	if err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := int64(len(s.series("r1", "k"))); got != enq {
		t.Errorf("delivered %d points, want %d", got, enq)
	}
}

func TestBatcherCloseIsBounded(t *testing.T) {
	t.Parallel()
	s := newLogBatchServer(t)
	s.setHang()
	b, err := NewBatcher(s.client(t), WithCloseTimeout(300*time.Millisecond), WithFlushInterval(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := b.LogMetric("r1", "k", 1, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	err = b.Close()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Close took %v with a close timeout of 300ms", d)
	}
	var be *BatchError
	if !errors.As(err, &be) {
		t.Errorf("Close = %v, want a *BatchError for the abandoned points", err)
	}
	if st := b.Stats(); st.Failed != 10 || st.QueueDepth != 0 {
		t.Errorf("Stats = %+v, want 10 failed, none pending", st)
	}
}

func spoolFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+spoolSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBatcherSpoolsWhenDownAndReplays(t *testing.T) {
	t.Parallel()
	s := newLogBatchServer(t)
	var down = true
	var mu sync.Mutex
	s.setFail(func(int64) (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return 503, false
		}
		return 0, false
	})
	dir := t.TempDir()
	b := newTestBatcher(t, s.client(t), WithSpoolDir(dir), WithRetryBudget(50*time.Millisecond),
		WithSpoolProbeInterval(20*time.Millisecond))
	for i := 0; i < 3000; i++ {
		if err := b.LogMetric("r1", "k", float64(i), int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.LogParam("r1", "p", "v"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Flush(ctx); err != nil {
		t.Fatalf("Flush while down: %v", err)
	}
	if st := b.Stats(); st.Spooled != 3001 || st.Sent != 0 || st.SpoolSegments == 0 {
		t.Fatalf("Stats while down = %+v, want 3001 spooled", st)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	if err := b.Replay(ctx); err != nil {
		t.Fatalf("Replay: %v", err)
	}
	if got := len(s.series("r1", "k")); got != 3000 {
		t.Errorf("delivered %d points, want 3000", got)
	}
	// Back to direct sends.
	if err := b.LogMetric("r1", "k", 1, 99999); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	st := b.Stats()
	if st.Replayed != 3001 || st.Sent != 3002 || st.SpoolSegments != 0 {
		t.Errorf("Stats = %+v, want 3001 replayed, 3002 sent, no segments", st)
	}
	if f := spoolFiles(t, dir); len(f) != 0 {
		t.Errorf("spool files left: %v", f)
	}
}

func TestReplaySpoolByNextProcess(t *testing.T) {
	t.Parallel()
	s := newLogBatchServer(t)
	s.setFail(func(int64) (int, bool) { return 503, false })
	dir := t.TempDir()
	b, err := NewBatcher(s.client(t), WithSpoolDir(dir), WithRetryBudget(10*time.Millisecond),
		WithRetryBackoff(time.Millisecond, 5*time.Millisecond), WithFlushInterval(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2500; i++ {
		if err := b.LogMetric("r2", "acc", float64(i)/3, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if len(spoolFiles(t, dir)) == 0 {
		t.Fatal("no spool segments after Close while down")
	}
	s.setFail(func(int64) (int, bool) { return 0, false })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := ReplaySpool(ctx, s.client(t), dir)
	if err != nil {
		t.Fatalf("ReplaySpool: %v", err)
	}
	if st.Replayed != 2500 || st.Segments != 0 || st.Corrupt != 0 {
		t.Errorf("ReplayStats = %+v, want 2500 replayed", st)
	}
	if got := len(s.series("r2", "acc")); got != 2500 {
		t.Errorf("delivered %d, want 2500", got)
	}
	if f := spoolFiles(t, dir); len(f) != 0 {
		t.Errorf("spool files left: %v", f)
	}
}

func TestBatcherSpoolsOnMemoryPressure(t *testing.T) {
	t.Parallel()
	s := newLogBatchServer(t)
	release := s.setHang()
	dir := t.TempDir()
	b := newTestBatcher(t, s.client(t), WithSpoolDir(dir), WithMaxQueueBytes(1<<20), WithSpoolProbeInterval(20*time.Millisecond))
	const n = 40_000
	for i := 0; i < n; i++ {
		if err := b.LogMetric("r3", "k", float64(i), int64(i)); err != nil {
			t.Fatal(err)
		}
		if i%10000 == 0 && b.Stats().QueueBytes > 1<<20 {
			t.Fatalf("QueueBytes %d over bound", b.Stats().QueueBytes)
		}
	}
	if st := b.Stats(); st.Spooled == 0 {
		t.Fatalf("Stats = %+v, want spooled entries", st)
	}
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := b.Replay(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	pts := s.series("r3", "k")
	if len(pts) != n {
		t.Fatalf("delivered %d, want %d", len(pts), n)
	}
}

func TestBatcherSyncSpoolWritesBeforeReturning(t *testing.T) {
	t.Parallel()
	s := newLogBatchServer(t)
	s.setFail(func(int64) (int, bool) { return 503, false })
	dir := t.TempDir()
	b := newTestBatcher(t, s.client(t), WithSpoolDir(dir), WithSyncSpool(), WithSpoolProbeInterval(10*time.Millisecond))
	for i := 0; i < 20; i++ {
		if err := b.LogMetric("r4", "k", float64(i), int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	// Read the spool as another process would, without the batcher's help.
	var got int
	for _, f := range spoolFiles(t, dir) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		scanSpoolRecords(data[len(spoolHeader):], true, func(p []byte) {
			sb, err := decodeSpoolPayload(p)
			if err == nil {
				got += len(sb.Metrics)
			}
		})
	}
	if got != 20 {
		t.Errorf("spool holds %d points right after the calls, want 20", got)
	}
	s.setFail(func(int64) (int, bool) { return 0, false })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(s.series("r4", "k")); n != 20 {
		t.Errorf("delivered %d, want 20", n)
	}
}
