package alerting

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkEncode10k encodes and snappy-compresses 10,000 breach series
// (7 labels, one sample each) with a reused Encoder. Target: <= 1 µs per
// series. Reports ns/series and the compressed bytes per series.
func BenchmarkEncode10k(b *testing.B) {
	series := benchSeries(10_000)
	var e Encoder
	b.ReportAllocs()
	var n int
	cpu0 := processCPU()
	for b.Loop() {
		body, err := e.Encode(series)
		if err != nil {
			b.Fatal(err)
		}
		n = len(body)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10_000, "ns/series")
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N)/10_000, "cpu-ns/series")
	b.ReportMetric(float64(n)/10_000, "bytes/series")
}

// BenchmarkEncode10kUnsorted is BenchmarkEncode10k with labels in reverse
// order, so every series is sorted in the Encoder's scratch space.
func BenchmarkEncode10kUnsorted(b *testing.B) {
	series := benchSeries(10_000)
	for _, s := range series {
		for i, j := 0, len(s.Labels)-1; i < j; i, j = i+1, j-1 {
			s.Labels[i], s.Labels[j] = s.Labels[j], s.Labels[i]
		}
	}
	var e Encoder
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Encode(series); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10_000, "ns/series")
}

// BenchmarkPush measures Writer.Push of one alert (3 series) to a loopback
// receiver: validation, encoding, compression and the HTTP round trip.
func BenchmarkPush(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	w, err := NewWriter(srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	a := testAlert()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Push(ctx, Breached, a); err != nil {
			b.Fatal(err)
		}
	}
}
