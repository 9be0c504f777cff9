package clienttest_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/mlwatch/mlwatch/client"
	"github.com/mlwatch/mlwatch/client/clienttest"
)

// TestConcurrentUse logs from many goroutines into shared and separate runs
// while others read; run with -race.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	srv, c := clienttest.NewServer(t)
	shared := newRun(t, c)
	const workers, batches = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*3)
	for w := range workers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			own, err := c.CreateRun(t.Context(), client.CreateRunOptions{ExperimentID: "0", RunName: fmt.Sprint("w", w)})
			if err != nil {
				errs <- err
				return
			}
			for b := range batches {
				batch := client.Batch{Metrics: []client.Metric{
					{Key: "loss", Value: float64(b), Timestamp: int64(b) + 1, Step: int64(b)}, // 0 would mean "now"
					{Key: fmt.Sprint("w", w), Value: float64(b), Timestamp: int64(b) + 1, Step: int64(b)},
				}}
				if err := c.LogBatch(t.Context(), own.Info.RunID, batch); err != nil {
					errs <- err
					return
				}
				if err := c.LogBatch(t.Context(), shared, batch); err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range batches {
				if _, err := c.SearchRuns(t.Context(), client.SearchRunsOptions{ExperimentIDs: []string{"0"}, Filter: "metrics.loss >= 0"}); err != nil {
					errs <- err
					return
				}
				_ = srv.Runs()
				_ = srv.MetricHistory(shared, "loss")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := len(srv.Runs()); n != workers+1 {
		t.Errorf("%d runs, want %d", n, workers+1)
	}
	// The shared run got every worker's points; identical loss points
	// from different workers are stored once.
	if n := len(srv.MetricHistory(shared, "loss")); n != batches {
		t.Errorf("shared loss history has %d points, want %d", n, batches)
	}
	for w := range workers {
		if n := len(srv.MetricHistory(shared, fmt.Sprint("w", w))); n != batches {
			t.Errorf("shared w%d history has %d points, want %d", w, n, batches)
		}
	}
}
