//go:build integration

package client

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mlwatch/mlwatch/internal/faultproxy"
)

// TestCreateRunRecoveryRealMLflow puts a fault-injecting proxy in front of
// the real MLflow server on runs/create only: answers that arrive after the
// client's per-attempt timeout (the server created the run), connections
// reset before or after the server answered, 503/429 answers, and the
// client's own 1 s per-attempt timeout on a loaded server. Every CreateRun
// must return one run and the experiment must hold exactly one active run
// per call (duplicates left by earlier attempts are deleted).
func TestCreateRunRecoveryRealMLflow(t *testing.T) {
	uri := integrationEnv(t, "MLWATCH_TEST_MLFLOW_URI")
	tests := []struct {
		name  string
		cfg   faultproxy.Config
		calls int
	}{
		{"slow answers", faultproxy.Config{SlowRate: 1, SlowDelay: 3 * time.Second, PathPrefix: pathRunsCreate}, 2},
		{"resets and errors", faultproxy.Config{ResetRate: 0.4, ErrorRate: 0.2, Seed: 7, PathPrefix: pathRunsCreate}, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy, err := faultproxy.New(uri, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer proxy.Close()
			c, err := New(proxy.URL(), WithTimeout(time.Second),
				WithRetryPolicy(RetryPolicy{MaxRetries: 10, BackoffFactor: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			exp, err := c.GetOrCreateExperiment(ctx, fmt.Sprintf("mlwatch-create-recovery-%d", time.Now().UnixNano()), nil)
			if err != nil {
				t.Fatal(err)
			}
			ids := map[string]bool{}
			for i := 0; i < tt.calls; i++ {
				run, err := c.CreateRun(ctx, CreateRunOptions{ExperimentID: exp.ID, RunName: fmt.Sprintf("r%d", i)})
				if err != nil {
					t.Fatalf("CreateRun %d: %v", i, err)
				}
				if ids[run.Info.RunID] {
					t.Fatalf("run %s returned twice", run.Info.RunID)
				}
				ids[run.Info.RunID] = true
			}
			var n, deleted int
			for run, err := range c.SearchRunsSeq(ctx, SearchRunsOptions{ExperimentIDs: []string{exp.ID}, ViewType: ViewAll}) {
				if err != nil {
					t.Fatal(err)
				}
				if run.Info.LifecycleStage == "deleted" {
					deleted++
					continue
				}
				n++
				if !ids[run.Info.RunID] {
					t.Errorf("extra active run %s (%s) on the server", run.Info.RunID, run.Info.RunName)
				}
			}
			if n != tt.calls {
				t.Errorf("%d active runs on the server, want %d", n, tt.calls)
			}
			st := proxy.Stats()
			t.Logf("proxy: %+v; duplicates deleted: %d", st, deleted)
			if st.Slow+st.ResetsBefore+st.ResetsAfter+st.Errors == 0 {
				t.Error("no fault was injected")
			}
		})
	}
}
