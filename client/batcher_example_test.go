package client_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"

	"github.com/mlwatch/mlwatch/client"
	"github.com/mlwatch/mlwatch/client/clienttest"
)

// ExampleBatcher logs per-step metrics without waiting on the network: the
// batcher is the run's Flusher, so End sends every point before it marks
// the run FINISHED.
func ExampleBatcher() {
	srv := &clienttest.Server{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c, err := client.New(ts.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	b, err := client.NewBatcher(c)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	ctx := context.Background()
	run, err := c.StartRun(ctx, client.RunOptions{ExperimentName: "drift", RunName: "pipeline-7", Flusher: b})
	if err != nil {
		fmt.Println(err)
		return
	}
	for step := 0; step < 3000; step++ {
		if err := b.LogMetric(run.ID(), "psi/feature_1", float64(step%10)/100, int64(step)); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := b.LogParam(run.ID(), "window", "7d"); err != nil {
		fmt.Println(err)
		return
	}
	run.End(ctx, &err)
	if err != nil {
		fmt.Println(err)
		return
	}
	stored, _ := srv.Run(run.ID())
	st := b.Stats()
	fmt.Println(stored.Info.Status, len(srv.MetricHistory(run.ID(), "psi/feature_1")), srv.Params(run.ID())["window"])
	fmt.Println("sent", st.Sent, "failed", st.Failed, "queued", st.QueueDepth)
	// Output:
	// FINISHED 3000 7d
	// sent 3001 failed 0 queued 0
}

// ExampleReplaySpool replays a spool directory left by a job that could not
// reach MLflow (the same as examples/replay).
func ExampleReplaySpool() {
	srv := &clienttest.Server{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c, err := client.New(ts.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, err := makeSpool(c)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	st, err := client.ReplaySpool(context.Background(), c, dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("replayed", st.Replayed, "corrupt", st.Corrupt, "segments left", st.Segments)
	// Output:
	// replayed 500 corrupt 0 segments left 0
}
