package contract

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mlwatch/mlwatch/client"
)

func (s *suite) logAndReadBack(t *testing.T, c *client.Client) {
	expID := s.newExperiment(t, c, "readback")
	start := client.Millis(time.Now())
	run, err := c.CreateRun(ctx(t), client.CreateRunOptions{
		ExperimentID: expID, RunName: "train-de", UserID: "contract", StartTime: start,
		Tags: []client.Tag{{Key: "country", Value: "DE"}},
	})
	if err != nil {
		t.Fatalf("CreateRun: %v", err)
	}
	id := run.Info.RunID
	if run.Info.Status != client.RunRunning || run.Info.ExperimentID != expID || run.Info.StartTime != start || run.Info.RunName != "train-de" {
		t.Errorf("CreateRun info = %+v", run.Info)
	}
	if run.Info.ArtifactURI == "" {
		t.Errorf("ArtifactURI is empty")
	}

	if err := c.LogParam(ctx(t), id, "lr", "0.01"); err != nil {
		t.Fatalf("LogParam: %v", err)
	}
	if err := c.SetTag(ctx(t), id, "stage", "candidate"); err != nil {
		t.Fatalf("SetTag: %v", err)
	}
	var want []client.Metric
	for step := range int64(20) {
		m := client.Metric{Key: "loss", Value: 1 / float64(step+1), Timestamp: start + step*10, Step: step}
		if err := c.LogMetric(ctx(t), id, m); err != nil {
			t.Fatalf("LogMetric: %v", err)
		}
		want = append(want, m)
	}
	batch := client.Batch{
		Params: []client.Param{{Key: "model", Value: "churn"}, {Key: "max_depth", Value: "6"}},
		Tags:   []client.Tag{{Key: "pipeline", Value: "daily"}},
	}
	for step := range int64(20) {
		batch.Metrics = append(batch.Metrics, client.Metric{Key: "auc", Value: 0.5 + float64(step)/100, Timestamp: start + step*10, Step: step})
	}
	if err := c.LogBatch(ctx(t), id, batch); err != nil {
		t.Fatalf("LogBatch: %v", err)
	}
	want = append(want, batch.Metrics...)
	// Re-sending the same batch stores nothing new (the SQL store dedupes).
	if err := c.LogBatch(ctx(t), id, batch); err != nil {
		t.Fatalf("LogBatch again: %v", err)
	}

	got := mustGetRun(t, c, id)
	wantParams := map[string]string{"lr": "0.01", "model": "churn", "max_depth": "6"}
	if diff := cmp.Diff(wantParams, paramMap(got.Data.Params)); diff != "" {
		t.Errorf("params (-want +got):\n%s", diff)
	}
	tags := tagMap(got.Data.Tags)
	for k, v := range map[string]string{"country": "DE", "stage": "candidate", "pipeline": "daily", "mlflow.runName": "train-de"} {
		if tags[k] != v {
			t.Errorf("tag %s = %q, want %q", k, tags[k], v)
		}
	}
	wantLatest := []client.Metric{want[19], want[39]}
	if diff := cmp.Diff(sortMetrics(wantLatest), sortMetrics(got.Data.Metrics)); diff != "" {
		t.Errorf("latest metrics (-want +got):\n%s", diff)
	}
	for _, key := range []string{"loss", "auc"} {
		var wantKey []client.Metric
		for _, m := range want {
			if m.Key == key {
				wantKey = append(wantKey, m)
			}
		}
		if diff := cmp.Diff(sortMetrics(wantKey), sortMetrics(history(t, c, id, key))); diff != "" {
			t.Errorf("history %s (-want +got):\n%s", key, diff)
		}
	}

	// The latest value per key is the max of (step, timestamp, value), not
	// the last one logged.
	if err := c.LogMetric(ctx(t), id, client.Metric{Key: "loss", Value: 9, Timestamp: start - 1000, Step: 3}); err != nil {
		t.Fatalf("LogMetric: %v", err)
	}
	if v, _ := mustGetRun(t, c, id).Metric("loss"); v != want[19].Value {
		t.Errorf("latest loss after logging an older step = %v, want %v", v, want[19].Value)
	}

	if err := c.DeleteTag(ctx(t), id, "stage"); err != nil {
		t.Fatalf("DeleteTag: %v", err)
	}
	if _, ok := mustGetRun(t, c, id).Tag("stage"); ok {
		t.Errorf("tag stage still present after DeleteTag")
	}
}

// nanAndInf: NaN round-trips as NaN; ±Inf comes back as ±Inf (file store)
// or as ±math.MaxFloat64 (the SQL store every production server uses,
// client.InfAsMaxFloat); client.NormalizeInf maps both to ±Inf.
func (s *suite) nanAndInf(t *testing.T, c *client.Client) {
	_, id := s.newRun(t, c, "naninf")
	ts := client.Millis(time.Now())
	values := map[string]float64{"nan": math.NaN(), "pinf": math.Inf(1), "ninf": math.Inf(-1), "max": math.MaxFloat64, "tiny": 5e-324, "neg": -0.125}
	var batch client.Batch
	for k, v := range values {
		batch.Metrics = append(batch.Metrics, client.Metric{Key: k, Value: v, Timestamp: ts, Step: 1})
	}
	if err := c.LogBatch(ctx(t), id, batch); err != nil {
		t.Fatalf("LogBatch: %v", err)
	}
	if err := c.LogMetric(ctx(t), id, client.Metric{Key: "nan1", Value: math.NaN(), Timestamp: ts}); err != nil {
		t.Fatalf("LogMetric NaN: %v", err)
	}
	values["nan1"] = math.NaN()
	run := mustGetRun(t, c, id)
	for k, want := range values {
		check := func(where string, got float64) {
			t.Helper()
			switch {
			case math.IsInf(want, 0):
				if client.NormalizeInf(got) != want {
					t.Errorf("%s %s = %v, want %v or ±MaxFloat64", where, k, got, want)
				}
			case !sameFloat(got, want):
				t.Errorf("%s %s = %v, want %v", where, k, got, want)
			}
		}
		got, ok := run.Metric(k)
		if !ok {
			t.Errorf("GetRun: metric %s missing", k)
			continue
		}
		check("GetRun", got)
		h := history(t, c, id, k)
		if len(h) != 1 {
			t.Errorf("history %s has %d points, want 1", k, len(h))
			continue
		}
		check("GetMetricHistory", h[0].Value)
	}
	// A re-sent batch with NaN is still deduplicated.
	if err := c.LogBatch(ctx(t), id, batch); err != nil {
		t.Fatalf("LogBatch again: %v", err)
	}
	if h := history(t, c, id, "nan"); len(h) != 1 {
		t.Errorf("history nan after re-sending has %d points, want 1", len(h))
	}
}

func (s *suite) paramImmutable(t *testing.T, c *client.Client) {
	_, id := s.newRun(t, c, "immutable")
	if err := c.LogParam(ctx(t), id, "k", "1"); err != nil {
		t.Fatalf("LogParam: %v", err)
	}
	if err := c.LogParam(ctx(t), id, "k", "1"); err != nil {
		t.Errorf("LogParam with the same value: %v", err)
	}
	err := c.LogParam(ctx(t), id, "k", "2")
	var apiErr *client.APIError
	if !errors.Is(err, client.ErrInvalidParameter) || !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
		t.Errorf("LogParam with a new value: error = %v, want ErrInvalidParameter (400)", err)
	}
	if err := c.LogBatch(ctx(t), id, client.Batch{Params: []client.Param{{Key: "k", Value: "3"}}}); !errors.Is(err, client.ErrInvalidParameter) {
		t.Errorf("LogBatch with a new value: error = %v, want ErrInvalidParameter", err)
	}
	if v, _ := mustGetRun(t, c, id).Param("k"); v != "1" {
		t.Errorf("param k = %q, want 1", v)
	}
}

// batchLimits: a batch over the server's limits is split by the client and
// every entity arrives.
func (s *suite) batchLimits(t *testing.T, c *client.Client) {
	_, id := s.newRun(t, c, "limits")
	ts := client.Millis(time.Now())
	var b client.Batch
	for k := range 25 {
		for step := range int64(100) {
			b.Metrics = append(b.Metrics, client.Metric{Key: fmt.Sprintf("m%02d", k), Value: float64(k*1000) + float64(step), Timestamp: ts + step, Step: step})
		}
	}
	for i := range 150 {
		b.Params = append(b.Params, client.Param{Key: fmt.Sprintf("p%03d", i), Value: fmt.Sprint(i)})
	}
	for i := range 10 {
		b.Tags = append(b.Tags, client.Tag{Key: fmt.Sprintf("t%02d", i), Value: fmt.Sprint(i)})
	}
	orig := b.Metrics[0]
	if err := c.LogBatch(ctx(t), id, b); err != nil {
		t.Fatalf("LogBatch of 2500 metrics, 150 params, 10 tags: %v", err)
	}
	if b.Metrics[0] != orig || len(b.Metrics) != 2500 {
		t.Errorf("LogBatch modified its input")
	}
	run := mustGetRun(t, c, id)
	if n := len(run.Data.Params); n != 150 {
		t.Errorf("%d params, want 150", n)
	}
	if n := len(run.Data.Metrics); n != 25 {
		t.Errorf("%d metric keys, want 25", n)
	}
	tags := tagMap(run.Data.Tags)
	for _, tg := range b.Tags {
		if tags[tg.Key] != tg.Value {
			t.Errorf("tag %s = %q, want %q", tg.Key, tags[tg.Key], tg.Value)
		}
	}
	for k := range 25 {
		key := fmt.Sprintf("m%02d", k)
		h := history(t, c, id, key)
		if diff := cmp.Diff(sortMetrics(b.Metrics[k*100:(k+1)*100]), sortMetrics(h)); diff != "" {
			t.Fatalf("history %s (-want +got):\n%s", key, diff)
		}
	}
}

func (s *suite) unicodeKeys(t *testing.T, c *client.Client) {
	expID, id := s.newRun(t, c, "unicode")
	ts := client.Millis(time.Now())
	keys := []string{"précision/été", "精度", "Точность: val", "f1_ünd-ß.x"}
	var b client.Batch
	for i, k := range keys {
		b.Metrics = append(b.Metrics, client.Metric{Key: k, Value: 0.5 + float64(i)/10, Timestamp: ts, Step: int64(i)})
		b.Params = append(b.Params, client.Param{Key: k, Value: "välue " + k})
		b.Tags = append(b.Tags, client.Tag{Key: k, Value: "tâg " + k})
	}
	if err := c.LogBatch(ctx(t), id, b); err != nil {
		t.Fatalf("LogBatch: %v", err)
	}
	run := mustGetRun(t, c, id)
	if diff := cmp.Diff(sortMetrics(b.Metrics), sortMetrics(run.Data.Metrics)); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
	params := paramMap(run.Data.Params)
	tags := tagMap(run.Data.Tags)
	for _, k := range keys {
		if params[k] != "välue "+k || tags[k] != "tâg "+k {
			t.Errorf("key %q: param %q, tag %q", k, params[k], tags[k])
		}
		if h := history(t, c, id, k); len(h) != 1 || h[0].Key != k {
			t.Errorf("history %q = %+v", k, h)
		}
	}
	page, err := c.SearchRuns(ctx(t), client.SearchRunsOptions{ExperimentIDs: []string{expID}, Filter: "metrics.`précision/été` > 0.4 and params.`精度` = 'välue 精度'", MaxResults: 10})
	if err != nil {
		t.Fatalf("SearchRuns with Unicode keys: %v", err)
	}
	if len(page.Runs) != 1 || page.Runs[0].Info.RunID != id {
		t.Errorf("SearchRuns with Unicode keys found %d runs", len(page.Runs))
	}
}

func (s *suite) deletedRun(t *testing.T, c *client.Client) {
	_, id := s.newRun(t, c, "deleted")
	if err := c.DeleteRun(ctx(t), id); err != nil {
		t.Fatalf("DeleteRun: %v", err)
	}
	if run := mustGetRun(t, c, id); run.Info.LifecycleStage != "deleted" {
		t.Errorf("LifecycleStage = %q, want deleted", run.Info.LifecycleStage)
	}
	ts := client.Millis(time.Now())
	writes := map[string]func() error{
		"LogMetric": func() error { return c.LogMetric(ctx(t), id, client.Metric{Key: "m", Value: 1, Timestamp: ts}) },
		"LogParam":  func() error { return c.LogParam(ctx(t), id, "p", "1") },
		"SetTag":    func() error { return c.SetTag(ctx(t), id, "t", "1") },
		"LogBatch": func() error {
			return c.LogBatch(ctx(t), id, client.Batch{Metrics: []client.Metric{{Key: "m", Value: 1, Timestamp: ts}}})
		},
		"UpdateRun": func() error {
			_, err := c.UpdateRun(ctx(t), id, client.UpdateRunOptions{Status: client.RunFinished})
			return err
		},
		"LogInputs": func() error {
			return c.LogInputs(ctx(t), id, []client.DatasetInput{{Dataset: client.Dataset{Name: "d", Digest: "x", SourceType: "local", Source: "{}"}}})
		},
	}
	for name, write := range writes {
		t.Run(name, func(t *testing.T) {
			err := write()
			var apiErr *client.APIError
			if !errors.Is(err, client.ErrInvalidParameter) || !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
				t.Errorf("error = %v, want ErrInvalidParameter (400)", err)
			}
		})
	}
	if err := c.RestoreRun(ctx(t), id); err != nil {
		t.Fatalf("RestoreRun: %v", err)
	}
	if err := c.LogMetric(ctx(t), id, client.Metric{Key: "m", Value: 1, Timestamp: ts}); err != nil {
		t.Errorf("LogMetric after RestoreRun: %v", err)
	}
}

func (s *suite) lifecycle(t *testing.T, c *client.Client) {
	expName := s.name("lifecycle")
	var ids []string
	for _, fail := range []bool{false, true} {
		run, err := c.StartRun(ctx(t), client.RunOptions{ExperimentName: expName, RunName: fmt.Sprintf("fail-%v", fail), Tags: []client.Tag{{Key: "model", Value: "fraud"}}})
		if err != nil {
			t.Fatalf("StartRun: %v", err)
		}
		if run.Info().Status != client.RunRunning {
			t.Errorf("status after StartRun = %s", run.Info().Status)
		}
		for step := range int64(5) {
			if err := run.LogMetric(ctx(t), "loss", 1/float64(step+1), step); err != nil {
				t.Fatalf("LogMetric: %v", err)
			}
		}
		if err := run.LogParam(ctx(t), "depth", "4"); err != nil {
			t.Fatalf("LogParam: %v", err)
		}
		var runErr error
		if fail {
			runErr = errors.New("pipeline failed")
		}
		run.End(ctx(t), &runErr)
		if fail && runErr == nil {
			t.Errorf("End cleared the pipeline error")
		}
		ids = append(ids, run.ID())
	}
	for i, want := range []client.RunStatus{client.RunFinished, client.RunFailed} {
		run := mustGetRun(t, c, ids[i])
		if run.Info.Status != want || run.Info.EndTime == 0 {
			t.Errorf("run %d: status %s end %d, want %s and an end time", i, run.Info.Status, run.Info.EndTime, want)
		}
		tags := tagMap(run.Data.Tags)
		if tags["mlflow.runName"] != run.Info.RunName || tags["model"] != "fraud" || tags["mlflow.source.type"] == "" {
			t.Errorf("run %d tags = %v", i, tags)
		}
		if len(history(t, c, ids[i], "loss")) != 5 {
			t.Errorf("run %d: loss history incomplete", i)
		}
	}
}

func (s *suite) logInputs(t *testing.T, c *client.Client) {
	_, id := s.newRun(t, c, "inputs")
	inputs := []client.DatasetInput{
		{
			Tags:    []client.Tag{{Key: "mlflow.data.context", Value: "training"}},
			Dataset: client.Dataset{Name: "churn-train", Digest: "a1b2c3d4", SourceType: "s3", Source: `{"uri": "s3://bucket/train.parquet"}`, Schema: `{"mlflow_colspec": []}`, Profile: `{"num_rows": 1000}`},
		},
		{
			Tags:    []client.Tag{{Key: "mlflow.data.context", Value: "eval"}},
			Dataset: client.Dataset{Name: "churn-eval", Digest: "e5f6a7b8", SourceType: "s3", Source: `{"uri": "s3://bucket/eval.parquet"}`},
		},
	}
	if err := c.LogInputs(ctx(t), id, inputs); err != nil {
		t.Fatalf("LogInputs: %v", err)
	}
	// Logging the same datasets again adds nothing.
	if err := c.LogInputs(ctx(t), id, inputs); err != nil {
		t.Fatalf("LogInputs again: %v", err)
	}
	got := mustGetRun(t, c, id).Inputs.DatasetInputs
	less := func(a, b client.DatasetInput) bool { return a.Dataset.Name < b.Dataset.Name }
	if diff := cmp.Diff(inputs, got, cmpopts.SortSlices(less), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("dataset inputs (-want +got):\n%s", diff)
	}
}
