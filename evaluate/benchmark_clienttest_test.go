package evaluate_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlwatch/mlwatch/client"
	"github.com/mlwatch/mlwatch/client/clienttest"
	"github.com/mlwatch/mlwatch/evaluate"
)

// seed creates a finished (or otherwise ended) run with tags and metrics.
func seed(ctx context.Context, c *client.Client, expID string, start int64, status client.RunStatus, tags map[string]string, metrics map[string]float64) (string, error) {
	opt := client.CreateRunOptions{ExperimentID: expID, StartTime: start}
	for k, v := range tags {
		opt.Tags = append(opt.Tags, client.Tag{Key: k, Value: v})
	}
	run, err := c.CreateRun(ctx, opt)
	if err != nil {
		return "", err
	}
	var b client.Batch
	for k, v := range metrics {
		b.Metrics = append(b.Metrics, client.Metric{Key: k, Value: v, Timestamp: start})
	}
	if err := c.LogBatch(ctx, run.Info.RunID, b); err != nil {
		return "", err
	}
	if status != client.RunRunning {
		if _, err := c.UpdateRun(ctx, run.Info.RunID, client.UpdateRunOptions{Status: status, EndTime: start + 1}); err != nil {
			return "", err
		}
	}
	return run.Info.RunID, nil
}

func seedRun(t testing.TB, c *client.Client, expID string, start int64, status client.RunStatus, tags map[string]string, metrics map[string]float64) string {
	t.Helper()
	id, err := seed(context.Background(), c, expID, start, status, tags, metrics)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestResolveBenchmarkOnFake(t *testing.T) {
	t.Parallel()
	_, c := clienttest.NewServer(t)
	checkResolveBenchmark(t, c, "")
}

func TestLogOutcomeOnFake(t *testing.T) {
	t.Parallel()
	_, c := clienttest.NewServer(t)
	checkLogOutcome(t, c, "0")
}

// checkResolveBenchmark is the benchmark selection contract, run against the
// fake here and against a real MLflow server in the integration tests; suffix
// makes experiment and model names unique on a shared server.
func checkResolveBenchmark(t *testing.T, c *client.Client, suffix string) {
	ctx := context.Background()
	expName, modelName := "churn-benchmarks"+suffix, "churn-DE"+suffix
	exp, err := c.GetOrCreateExperiment(ctx, expName, nil)
	if err != nil {
		t.Fatal(err)
	}
	de := map[string]string{"model": "churn", "country": "DE"}
	passed := map[string]string{"model": "churn", "country": "DE", evaluate.TagEvalStatus: "passed"}
	old := seedRun(t, c, exp.ID, 1000, client.RunFinished, passed, map[string]float64{"auc": 0.70})
	mid := seedRun(t, c, exp.ID, 2000, client.RunFinished, passed, map[string]float64{"auc": 0.74})
	latest := seedRun(t, c, exp.ID, 3000, client.RunFinished, de, map[string]float64{"auc": 0.76})
	seedRun(t, c, exp.ID, 4000, client.RunFailed, de, map[string]float64{"auc": 0.1})
	seedRun(t, c, exp.ID, 5000, client.RunFinished, map[string]string{"model": "churn", "country": "FR"}, map[string]float64{"auc": 0.9})
	cand := seedRun(t, c, exp.ID, 6000, client.RunFinished, de, map[string]float64{"auc": 0.71})
	if err := c.CreateRegisteredModel(ctx, modelName); err != nil {
		t.Fatal(err)
	}
	oldRun, err := c.GetRun(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	mv, err := c.CreateModelVersion(ctx, modelName, oldRun.Info.ArtifactURI+"/model", old)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetModelVersionAlias(ctx, modelName, "champion", mv.Version); err != nil {
		t.Fatal(err)
	}
	filter := "tags.model = 'churn' and tags.country = 'DE'"
	tests := []struct {
		name    string
		spec    evaluate.BenchmarkSpec
		wantRun string
		wantAUC float64
	}{
		{"explicit", evaluate.BenchmarkSpec{Kind: evaluate.SourceRun, RunID: mid}, mid, 0.74},
		{"latest finished, not failed, not FR, not the candidate", evaluate.BenchmarkSpec{Kind: evaluate.SourceLatestFinished, Experiment: expName, Filter: filter}, latest, 0.76},
		{"champion", evaluate.BenchmarkSpec{Kind: evaluate.SourceChampion, RegisteredModel: modelName, Alias: "champion"}, old, 0.70},
		{"rolling median of passed runs", evaluate.BenchmarkSpec{Kind: evaluate.SourceRollingMedian, Experiment: expName, Filter: filter, LastN: 5}, "", 0.72},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := evaluate.ResolveBenchmark(ctx, c, tt.spec, cand)
			if err != nil {
				t.Fatal(err)
			}
			if b.Source.RunID != tt.wantRun || b.Metrics["auc"] < tt.wantAUC-1e-12 || b.Metrics["auc"] > tt.wantAUC+1e-12 {
				t.Errorf("benchmark %+v metrics %v, want run %q auc %v", b.Source, b.Metrics, tt.wantRun, tt.wantAUC)
			}
			if b.Source.Reason == "" || b.Source.Kind != tt.spec.Kind {
				t.Errorf("source %+v", b.Source)
			}
		})
	}
	if _, err := evaluate.ResolveBenchmark(ctx, c, evaluate.BenchmarkSpec{Kind: evaluate.SourceRun, RunID: "0123456789abcdef0123456789abcdef"}, cand); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("unknown run: %v", err)
	}
}

// checkLogOutcome is the outcome logging contract (tags, uploaded report).
func checkLogOutcome(t *testing.T, c *client.Client, expID string) {
	ctx := context.Background()
	cand := seedRun(t, c, expID, 1000, client.RunFinished, nil, map[string]float64{"auc": 0.6, "loss": 0.2})
	rules := evaluate.RuleSet{Rules: []evaluate.MetricRule{
		{Metric: "auc", Direction: evaluate.HigherIsBetter, Threshold: ptr(0.7)},
		{Metric: "loss", Direction: evaluate.LowerIsBetter, Threshold: ptr(0.5)},
	}}
	run, err := c.GetRun(ctx, cand)
	if err != nil {
		t.Fatal(err)
	}
	rep := evaluate.Evaluate(evaluate.MetricsFromRun(run), nil, rules)
	rep.RunID = cand
	path := filepath.Join(t.TempDir(), "evaluation.json")
	out, err := evaluate.LogOutcome(ctx, c, cand, rep, evaluate.WithReportFile(path))
	if err != nil {
		t.Fatal(err)
	}
	if out.ReportArtifact != evaluate.ReportArtifactPath {
		t.Errorf("report not uploaded: %+v", out)
	}
	run, err = c.GetRun(ctx, cand)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"mlwatch.eval.status": "critical", "mlwatch.eval.auc.status": "critical", "mlwatch.eval.loss.status": "passed",
		"mlwatch.eval.critical": "1", evaluate.TagEvalReportArtifact: evaluate.ReportArtifactPath} {
		if got, _ := run.Tag(k); got != want {
			t.Errorf("tag %s = %q, want %q", k, got, want)
		}
	}
	dl := filepath.Join(t.TempDir(), "downloaded.json")
	if err := c.DownloadArtifact(ctx, cand, evaluate.ReportArtifactPath, dl); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(dl)
	if err != nil {
		t.Fatal(err)
	}
	var back evaluate.Report
	if err := json.Unmarshal(body, &back); err != nil || back.RunID != cand || len(back.Checks) != 2 {
		t.Errorf("uploaded report: %v %+v", err, back)
	}
}

func ptr(v float64) *float64 { return &v }

func TestLatestFinishedByOnFake(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, c := clienttest.NewServer(t)
	exp, err := c.GetOrCreateExperiment(ctx, "bench", nil)
	if err != nil {
		t.Fatal(err)
	}
	tag := func(p string) map[string]string { return map[string]string{"pipeline": p, "team": "a"} }
	seedRun(t, c, exp.ID, 1000, client.RunFinished, tag("p1"), map[string]float64{"auc": 0.1})
	p1 := seedRun(t, c, exp.ID, 2000, client.RunFinished, tag("p1"), map[string]float64{"auc": 0.7})
	seedRun(t, c, exp.ID, 3000, client.RunFailed, tag("p1"), map[string]float64{"auc": 0.9})
	p2 := seedRun(t, c, exp.ID, 1500, client.RunFinished, tag("p2"), map[string]float64{"auc": 0.8})
	cand := seedRun(t, c, exp.ID, 5000, client.RunFinished, tag("p2"), map[string]float64{"auc": 0.5})
	seedRun(t, c, exp.ID, 1500, client.RunFinished, map[string]string{"team": "a"}, map[string]float64{"auc": 0.8})
	seedRun(t, c, exp.ID, 1500, client.RunFinished, map[string]string{"pipeline": "p3", "team": "b"}, map[string]float64{"auc": 0.8})
	got, err := evaluate.LatestFinishedBy(ctx, c, "bench", "tags.team = 'a'", "pipeline", cand)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["p1"].Source.RunID != p1 || got["p2"].Source.RunID != p2 || got["p1"].Metrics["auc"] != 0.7 {
		t.Errorf("LatestFinishedBy = %v", got)
	}
	if _, err := evaluate.LatestFinishedBy(ctx, c, "nope", "", "pipeline"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("unknown experiment: %v", err)
	}
}

func TestInfinityOnFake(t *testing.T) {
	t.Parallel()
	_, c := clienttest.NewServer(t) // the fake stores ±Inf as ±MaxFloat64, like MLflow's SQL store
	checkInfinity(t, c, "0")
}

// checkInfinity logs ±Inf metrics, reads them back (±MaxFloat64 from a SQL
// store) and checks that Evaluate sees ±Inf.
func checkInfinity(t *testing.T, c *client.Client, expID string) {
	ctx := context.Background()
	id := seedRun(t, c, expID, 1000, client.RunFinished, nil, map[string]float64{"auc": math.Inf(1), "loss": math.Inf(1), "neg": math.Inf(-1)})
	run, err := c.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	rules := evaluate.RuleSet{Rules: []evaluate.MetricRule{
		{Metric: "auc", Direction: evaluate.HigherIsBetter, Threshold: ptr(0.7)},
		{Metric: "loss", Direction: evaluate.LowerIsBetter, Threshold: ptr(1)},
		{Metric: "neg", Direction: evaluate.HigherIsBetter, Threshold: ptr(-1e300)},
	}}
	rep := evaluate.Evaluate(evaluate.MetricsFromRun(run), nil, rules)
	want := []bool{true, false, false}
	for i, ck := range rep.Checks {
		if ck.Passed != want[i] || ck.Observed == nil || !math.IsInf(float64(*ck.Observed), 0) {
			t.Errorf("%s: passed=%v observed=%v, want passed=%v and an infinite observed value", ck.Metric, ck.Passed, ck.Observed, want[i])
		}
	}
}
