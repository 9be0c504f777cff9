//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlwatch/mlwatch/client"
)

// TestStepOnMLflow runs the evaluation step against the real MLflow server of
// `make test`: a passing candidate exits 0, a regressed one exits 1, and both
// get their outcome tags and the uploaded report.
func TestStepOnMLflow(t *testing.T) {
	uri := os.Getenv("MLWATCH_TEST_MLFLOW_URI")
	if uri == "" {
		t.Fatal("MLWATCH_TEST_MLFLOW_URI is not set (run the tests through make test)")
	}
	resp, err := http.Get(uri + "/health")
	if err != nil {
		t.Fatalf("MLflow at %s is unreachable: %v", uri, err)
	}
	resp.Body.Close()
	ctx := context.Background()
	c, err := client.New(uri)
	if err != nil {
		t.Fatal(err)
	}
	suffix := fmt.Sprintf("%d", time.Now().UnixNano())
	exp, err := c.GetOrCreateExperiment(ctx, "churn-benchmarks-"+suffix, nil)
	if err != nil {
		t.Fatal(err)
	}
	model := "churn-xgb-" + suffix
	mk := func(start int64, m map[string]float64) string {
		run, err := c.CreateRun(ctx, client.CreateRunOptions{ExperimentID: exp.ID, StartTime: start,
			Tags: []client.Tag{{Key: "model", Value: model}, {Key: "country", Value: "DE"}, {Key: "model_group", Value: "churn"}}})
		if err != nil {
			t.Fatal(err)
		}
		var b client.Batch
		for k, v := range m {
			b.Metrics = append(b.Metrics, client.Metric{Key: k, Value: v, Timestamp: start})
		}
		if err := c.LogBatch(ctx, run.Info.RunID, b); err != nil {
			t.Fatal(err)
		}
		if _, err := c.UpdateRun(ctx, run.Info.RunID, client.UpdateRunOptions{Status: client.RunFinished, EndTime: start + 1}); err != nil {
			t.Fatal(err)
		}
		return run.Info.RunID
	}
	mk(1000, map[string]float64{"auc": 0.76, "log_loss": 0.41})
	good := mk(2000, map[string]float64{"auc": 0.77, "log_loss": 0.40})
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	body := fmt.Sprintf(`group: churn
benchmark:
  kind: latest_finished
  experiment: %s
  filter: "tags.model = '{model}' and tags.country = '{country}'"
metrics:
  auc: {direction: higher_is_better, threshold: 0.7, max_regression: 0.02}
  log_loss: {direction: lower_is_better, max_relative_regression: 0.1, severity: warning}
`, exp.Name)
	if err := os.WriteFile(rules, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MLFLOW_TRACKING_URI", uri)

	for _, tt := range []struct {
		name   string
		runID  string
		code   int
		status string
	}{
		{"passing candidate", good, exitOK, "passed"},
		// Started after good, so good (a FINISHED run) is its benchmark.
		{"regressed candidate", mk(3000, map[string]float64{"auc": 0.70, "log_loss": 0.40}), exitCritical, "critical"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "evaluation.json")
			var stdout, stderr bytes.Buffer
			code := run(ctx, []string{"-rules", rules, "-run-id", tt.runID, "-output", out}, os.Getenv, &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, &stdout, &stderr)
			}
			var rep struct {
				Status string `json:"status"`
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &rep); err != nil || rep.Status != tt.status {
				t.Errorf("evaluation.json status %q (%v)", rep.Status, err)
			}
			got, err := c.GetRun(ctx, tt.runID)
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range map[string]string{"mlwatch.eval.status": tt.status, "mlwatch.eval.report_artifact": "mlwatch/evaluation.json"} {
				if v, _ := got.Tag(k); v != want {
					t.Errorf("tag %s = %q, want %q", k, v, want)
				}
			}
			dl := filepath.Join(t.TempDir(), "dl.json")
			if err := c.DownloadArtifact(ctx, tt.runID, "mlwatch/evaluation.json", dl); err != nil {
				t.Fatalf("report artifact: %v", err)
			}
			if up, err := os.ReadFile(dl); err != nil || !bytes.Equal(up, b) {
				t.Errorf("uploaded report differs from the file (%v)", err)
			}
		})
	}
}
