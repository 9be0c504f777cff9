package client

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// benchBatcher returns a batcher whose senders are parked (the server
// holds their first request), so the benchmark measures the caller's
// enqueue path alone, with no network and no competing sender CPU.
func benchBatcher(b *testing.B) *Batcher {
	b.Helper()
	s := newLogBatchServer(&testing.T{})
	release := s.setHang()
	b.Cleanup(func() { close(release); s.srv.Close() })
	c, err := New(s.srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	bt, err := NewBatcher(c, WithMaxQueueBytes(4<<30), WithFlushInterval(time.Hour), WithCloseTimeout(time.Second))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = bt.Close() })
	return bt
}

// BenchmarkBatcherLogMetricSteady measures enqueue in steady state: the
// senders drain to a local server that discards bodies, so chunks are
// recycled and the queue stays under its default bound (callers block
// when it is full; blocked time is not CPU time). cpu-ns/op counts only
// the caller's thread.
func BenchmarkBatcherLogMetricSteady(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte("{}"))
	}))
	defer srv.Close()
	c, err := New(srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	bt, err := NewBatcher(c)
	if err != nil {
		b.Fatal(err)
	}
	defer bt.Close()
	keys := make([]string, 16)
	for i := range keys {
		keys[i] = "train/metric_" + strconv.Itoa(i)
	}
	runs := []string{"0a1b2c3d4e5f60718293a4b5c6d7e8f9", "1a1b2c3d4e5f60718293a4b5c6d7e8f9"}
	for i := 0; i < 1_000_000; i++ { // warm up: intern keys, fill the free list
		if err := bt.LogMetric(runs[i&1], keys[i&15], 0, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	stop := cpuTimer(b)
	defer stop()
	for i := 0; i < b.N; i++ {
		if err := bt.LogMetric(runs[i&1], keys[i&15], float64(i), int64(i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBatcherLogMetric measures the enqueue cost of one metric point.
// Target: <= 100 ns/op and 0 allocs/op amortized.
func BenchmarkBatcherLogMetric(b *testing.B) {
	bt := benchBatcher(b)
	keys := make([]string, 16)
	for i := range keys {
		keys[i] = "train/metric_" + strconv.Itoa(i)
	}
	runs := []string{"0a1b2c3d4e5f60718293a4b5c6d7e8f9", "1a1b2c3d4e5f60718293a4b5c6d7e8f9"}
	for _, r := range runs {
		for _, k := range keys {
			if err := bt.LogMetric(r, k, 0, 0); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	stop := cpuTimer(b)
	defer stop()
	for i := 0; i < b.N; i++ {
		if err := bt.LogMetric(runs[i&1], keys[i&15], float64(i), int64(i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBatcherLogMetricParallel is the same from GOMAXPROCS goroutines.
func BenchmarkBatcherLogMetricParallel(b *testing.B) {
	bt := benchBatcher(b)
	runs := make([]string, 20)
	for i := range runs {
		runs[i] = "run" + strconv.Itoa(i)
		if err := bt.LogMetric(runs[i], "loss", 0, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if err := bt.LogMetric(runs[i%20], "loss", float64(i), int64(i)); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
