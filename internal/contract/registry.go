package contract

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/mlwatch/mlwatch/client"
)

// registryAlias: a champion alias resolves to the run that produced the
// model version.
func (s *suite) registryAlias(t *testing.T, c *client.Client) {
	_, runID := s.newRun(t, c, "registry")
	model := s.name("model")
	if err := c.CreateRegisteredModel(ctx(t), model); err != nil {
		t.Fatalf("CreateRegisteredModel: %v", err)
	}
	if err := c.CreateRegisteredModel(ctx(t), model); !errors.Is(err, client.ErrAlreadyExists) {
		t.Errorf("duplicate CreateRegisteredModel: error = %v, want ErrAlreadyExists", err)
	}
	mv, err := c.CreateModelVersion(ctx(t), model, "runs:/"+runID+"/model", runID)
	if err != nil {
		t.Fatalf("CreateModelVersion: %v", err)
	}
	if mv.Version != "1" || mv.RunID != runID || mv.Name != model {
		t.Errorf("CreateModelVersion = %+v", mv)
	}
	_, runID2 := s.newRun(t, c, "registry2")
	mv2, err := c.CreateModelVersion(ctx(t), model, "runs:/"+runID2+"/model", runID2)
	if err != nil || mv2.Version != "2" {
		t.Fatalf("second CreateModelVersion = %+v, %v", mv2, err)
	}
	if err := c.SetModelVersionAlias(ctx(t), model, "champion", "1"); err != nil {
		t.Fatalf("SetModelVersionAlias: %v", err)
	}
	got, err := c.GetModelVersionByAlias(ctx(t), model, "champion")
	if err != nil {
		t.Fatalf("GetModelVersionByAlias: %v", err)
	}
	if got.RunID != runID || got.Version != "1" || !slices.Contains(got.Aliases, "champion") {
		t.Errorf("GetModelVersionByAlias = %+v, want version 1 of run %s", got, runID)
	}
	// Moving the alias.
	if err := c.SetModelVersionAlias(ctx(t), model, "champion", "2"); err != nil {
		t.Fatalf("SetModelVersionAlias: %v", err)
	}
	if got, err := c.GetModelVersionByAlias(ctx(t), model, "champion"); err != nil || got.RunID != runID2 {
		t.Errorf("after moving the alias: %+v, %v", got, err)
	}
	latest, err := c.GetLatestVersions(ctx(t), model)
	if err != nil {
		t.Fatalf("GetLatestVersions: %v", err)
	}
	if len(latest) != 1 || latest[0].Version != "2" || latest[0].RunID != runID2 {
		t.Errorf("GetLatestVersions = %+v, want version 2 only (stage None)", latest)
	}
	// An unknown alias: MLflow 3.17 answers 400 INVALID_PARAMETER_VALUE
	// "Registered model alias ... not found.", not 404.
	if _, err := c.GetModelVersionByAlias(ctx(t), model, "no-such-alias"); !errors.Is(err, client.ErrInvalidParameter) && !errors.Is(err, client.ErrNotFound) {
		t.Errorf("unknown alias: error = %v, want ErrInvalidParameter or ErrNotFound", err)
	}
	// A reserved alias name is rejected.
	if err := c.SetModelVersionAlias(ctx(t), model, "v3", "1"); !errors.Is(err, client.ErrInvalidParameter) {
		t.Errorf("reserved alias v3: error = %v, want ErrInvalidParameter", err)
	}
}

// bulkInterval: sampled histories of several runs carry their run IDs and
// always include each run's first and last step.
func (s *suite) bulkInterval(t *testing.T, c *client.Client) {
	expID := s.newExperiment(t, c, "bulk")
	ts := client.Millis(time.Now())
	var ids []string
	for i := range 2 {
		run, err := c.CreateRun(ctx(t), client.CreateRunOptions{ExperimentID: expID, StartTime: ts})
		if err != nil {
			t.Fatalf("CreateRun: %v", err)
		}
		var b client.Batch
		for step := range int64(50 + 10*i) {
			b.Metrics = append(b.Metrics, client.Metric{Key: "loss", Value: float64(step), Timestamp: ts + step, Step: step})
		}
		if err := c.LogBatch(ctx(t), run.Info.RunID, b); err != nil {
			t.Fatalf("LogBatch: %v", err)
		}
		ids = append(ids, run.Info.RunID)
	}
	all, err := c.GetMetricHistoryBulkInterval(ctx(t), client.BulkIntervalOptions{RunIDs: ids, MetricKey: "loss"})
	if err != nil {
		t.Fatalf("GetMetricHistoryBulkInterval: %v", err)
	}
	if len(all) != 110 {
		t.Errorf("unsampled: %d points, want 110", len(all))
	}
	got, err := c.GetMetricHistoryBulkInterval(ctx(t), client.BulkIntervalOptions{RunIDs: ids, MetricKey: "loss", MaxResults: 7})
	if err != nil {
		t.Fatalf("GetMetricHistoryBulkInterval: %v", err)
	}
	steps := map[string][]int64{}
	for _, m := range got {
		if m.Key != "loss" || float64(m.Step) != m.Value {
			t.Errorf("point %+v", m)
		}
		steps[m.RunID] = append(steps[m.RunID], m.Step)
	}
	for i, id := range ids {
		st := steps[id]
		last := int64(49 + 10*i)
		if len(st) == 0 || st[0] != 0 || !slices.Contains(st, last) || !slices.IsSorted(st) || len(st) > 9 {
			t.Errorf("run %d sampled steps = %v; want sorted, at most 9, with 0 and %d", i, st, last)
		}
	}
	lo, hi := int64(10), int64(20)
	got, err = c.GetMetricHistoryBulkInterval(ctx(t), client.BulkIntervalOptions{RunIDs: ids[:1], MetricKey: "loss", StartStep: &lo, EndStep: &hi})
	if err != nil {
		t.Fatalf("GetMetricHistoryBulkInterval with a range: %v", err)
	}
	if len(got) != 11 || got[0].Step != 10 || got[10].Step != 20 {
		t.Errorf("range [10, 20]: %d points", len(got))
	}
}
