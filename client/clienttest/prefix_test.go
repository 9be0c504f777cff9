package clienttest_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/mlwatch/mlwatch/client"
	"github.com/mlwatch/mlwatch/client/clienttest"
)

// TestBehindPathPrefix mounts the fake under a path prefix, as MLflow
// behind a proxy: every call, artifacts included, must keep the prefix.
func TestBehindPathPrefix(t *testing.T) {
	t.Parallel()
	srv := &clienttest.Server{}
	ts := httptestServer(t, http.StripPrefix("/tracking", srv))
	c, err := client.New(ts.URL+"/tracking", client.WithRetryPolicy(clienttest.FastRetryPolicy()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	exp, err := c.GetOrCreateExperiment(ctx, "behind-proxy", nil)
	if err != nil {
		t.Fatalf("GetOrCreateExperiment: %v", err)
	}
	run, err := c.StartRun(ctx, client.RunOptions{ExperimentID: exp.ID, RunName: "r"})
	if err != nil {
		t.Fatalf("StartRun: %v", err)
	}
	if err := run.LogMetric(ctx, "auc", 0.9, 0); err != nil {
		t.Fatalf("LogMetric: %v", err)
	}
	if err := c.LogArtifactStream(ctx, run.ID(), "report.txt", bytes.NewReader([]byte("ok")), 2); err != nil {
		t.Fatalf("LogArtifactStream: %v", err)
	}
	run.End(ctx, &err)
	if err != nil {
		t.Fatalf("End: %v", err)
	}
	if got := string(srv.Artifacts(run.ID())["report.txt"]); got != "ok" {
		t.Errorf("artifact = %q", got)
	}
	if got, _ := srv.Run(run.ID()); got.Info.Status != client.RunFinished {
		t.Errorf("status = %s", got.Info.Status)
	}
	if n := srv.Requests(""); n != 0 {
		t.Errorf("%d requests reached unknown paths", n)
	}
}
