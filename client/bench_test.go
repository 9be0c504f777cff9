package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func benchMetrics(n int) []Metric {
	ms := make([]Metric, n)
	for i := range ms {
		ms[i] = Metric{Key: fmt.Sprintf("val/metric_%02d", i%50), Value: float64(i) * 0.001, Timestamp: 1714400000000 + int64(i), Step: int64(i / 50)}
	}
	return ms
}

// BenchmarkLogBatch1000 measures the client overhead of one 1000-metric
// LogBatch (validation, encoding, HTTP round trip) against a minimal local
// handler that drains the body and answers {}. allocs/op counts both the
// client and the in-process server.
func BenchmarkLogBatch1000(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	}))
	defer srv.Close()
	c, err := New(srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	batch := Batch{Metrics: benchMetrics(1000)}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := c.LogBatch(ctx, "0a1b2c3d4e5f60718293a4b5c6d7e8f9", batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(testing.AllocsPerRun(20, func() {
		_ = c.LogBatch(ctx, "0a1b2c3d4e5f60718293a4b5c6d7e8f9", batch)
	}))/1000, "allocs/metric")
}

// BenchmarkEncodeBatch1000 isolates validation plus encoding of the body.
func BenchmarkEncodeBatch1000(b *testing.B) {
	ms := benchMetrics(1000)
	b.ReportAllocs()
	for b.Loop() {
		if err := ValidateBatch(Batch{Metrics: ms}); err != nil {
			b.Fatal(err)
		}
		_ = encodeBatch("0a1b2c3d4e5f60718293a4b5c6d7e8f9", ms, nil, nil)
	}
}
