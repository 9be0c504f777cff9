package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlwatch/mlwatch/client"
	"github.com/mlwatch/mlwatch/client/clienttest"
)

func envFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDemoMode(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "evaluation.json")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-output", out}, envFrom(nil), &stdout, &stderr)
	if code != exitCritical {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, exitCritical, &stdout, &stderr)
	}
	var rep struct {
		Status   string `json:"status"`
		Critical int    `json:"critical"`
		Warning  int    `json:"warning"`
		Checks   []any  `json:"checks"`
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Status != "critical" || rep.Critical != 1 || rep.Warning != 1 || len(rep.Checks) != 4 {
		t.Errorf("report %+v", rep)
	}
	if !strings.Contains(stdout.String(), "at most 0.02 allowed") || !strings.Contains(stderr.String(), "demo") {
		t.Errorf("stdout %q stderr %q", &stdout, &stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("group: g\nmetrics: {auc: {threshold: 1}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown flag", []string{"-bogus"}, nil, "bogus"},
		{"extra argument", []string{"x"}, nil, "unexpected arguments"},
		{"invalid rules file", []string{"-rules", bad}, nil, "bad.yaml:2:11: metrics.auc.direction"},
		{"missing rules file", []string{"-rules", "/nonexistent/r.yaml"}, nil, "no such file"},
		{"bad tracking URI", []string{"-rules", "../../testdata/rules/churn.yaml", "-run-id", "r"}, map[string]string{"MLFLOW_TRACKING_URI": "ftp://x"}, "evaluate-step:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tt.args, envFrom(tt.env), &stdout, &stderr); code != exitError {
				t.Errorf("exit %d, want %d", code, exitError)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr %q lacks %q", &stderr, tt.want)
			}
		})
	}
}

// TestAgainstFake runs the step against the clienttest fake through
// MLFLOW_TRACKING_URI, as in production. It sets process environment
// variables, so it does not run in parallel.
func TestAgainstFake(t *testing.T) {
	srv, c := clienttest.NewServer(t)
	ctx := context.Background()
	exp, err := c.GetOrCreateExperiment(ctx, "churn-benchmarks", nil)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(start int64, m map[string]float64) string {
		run, err := c.CreateRun(ctx, client.CreateRunOptions{ExperimentID: exp.ID, StartTime: start,
			Tags: []client.Tag{{Key: "model", Value: "churn-xgb"}, {Key: "country", Value: "DE"}, {Key: "model_group", Value: "churn"}}})
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
	mk(1000, map[string]float64{"auc": 0.76, "log_loss": 0.41, "precision": 0.6, "recall_at_10": 0.25})
	good := mk(2000, map[string]float64{"auc": 0.77, "log_loss": 0.40, "precision": 0.62, "recall_at_10": 0.3})
	t.Setenv("MLFLOW_TRACKING_URI", srv.URL())
	out := filepath.Join(t.TempDir(), "evaluation.json")
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"-rules", "../../testdata/rules/churn.yaml", "-run-id", good, "-output", out, "-no-upload"}, os.Getenv, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, &stdout, &stderr)
	}
	got, err := c.GetRun(ctx, good)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := got.Tag("mlwatch.eval.status"); s != "passed" {
		t.Errorf("status tag %q", s)
	}
	if p, _ := got.Tag("mlwatch.eval.report_path"); p != out {
		t.Errorf("report_path tag %q, want %q", p, out)
	}
	// The wrong group is a usage error.
	code = run(ctx, []string{"-rules", "../../testdata/rules/fraud.json", "-run-id", good}, os.Getenv, &stdout, &stderr)
	if code != exitError || !strings.Contains(stderr.String(), `group "churn"`) {
		t.Errorf("wrong group: exit %d stderr %q", code, &stderr)
	}
}
