package contract

import (
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mlwatch/mlwatch/client"
)

func (s *suite) experiments(t *testing.T, c *client.Client) {
	name := s.name("exp")
	tags := []client.Tag{{Key: "team", Value: "platform"}, {Key: "mlwatch.model", Value: "churn"}}
	id, err := c.CreateExperiment(ctx(t), name, &client.ExperimentOptions{Tags: tags})
	if err != nil {
		t.Fatalf("CreateExperiment: %v", err)
	}
	got, err := c.GetExperiment(ctx(t), id)
	if err != nil {
		t.Fatalf("GetExperiment: %v", err)
	}
	if got.ID != id || got.Name != name || got.LifecycleStage != "active" || got.CreationTime == 0 {
		t.Errorf("GetExperiment = %+v", got)
	}
	if got.ArtifactLocation == "" {
		t.Errorf("ArtifactLocation is empty")
	}
	if diff := cmp.Diff(tagMap(tags), tagMap(got.Tags)); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	byName, err := c.GetExperimentByName(ctx(t), name)
	if err != nil {
		t.Fatalf("GetExperimentByName: %v", err)
	}
	if byName.ID != id {
		t.Errorf("GetExperimentByName ID = %q, want %q", byName.ID, id)
	}

	// A second create of the same name is RESOURCE_ALREADY_EXISTS (HTTP 400).
	_, err = c.CreateExperiment(ctx(t), name, nil)
	var apiErr *client.APIError
	if !errors.Is(err, client.ErrAlreadyExists) || !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "RESOURCE_ALREADY_EXISTS" {
		t.Errorf("duplicate CreateExperiment error = %v, want ErrAlreadyExists with status 400", err)
	}

	if err := c.SetExperimentTag(ctx(t), id, "owner", "ml-platform"); err != nil {
		t.Fatalf("SetExperimentTag: %v", err)
	}
	got, err = c.GetExperiment(ctx(t), id)
	if err != nil {
		t.Fatalf("GetExperiment: %v", err)
	}
	if v, _ := got.Tag("owner"); v != "ml-platform" {
		t.Errorf("tag owner = %q", v)
	}

	// Delete and restore; a deleted experiment is still found by name.
	if err := c.DeleteExperiment(ctx(t), id); err != nil {
		t.Fatalf("DeleteExperiment: %v", err)
	}
	got, err = c.GetExperimentByName(ctx(t), name)
	if err != nil || got.LifecycleStage != "deleted" {
		t.Errorf("GetExperimentByName after delete = %+v, %v; want lifecycle deleted", got, err)
	}
	if _, err := c.CreateRun(ctx(t), client.CreateRunOptions{ExperimentID: id}); !errors.Is(err, client.ErrInvalidParameter) {
		t.Errorf("CreateRun in a deleted experiment: error = %v, want ErrInvalidParameter", err)
	}
	if err := c.RestoreExperiment(ctx(t), id); err != nil {
		t.Fatalf("RestoreExperiment: %v", err)
	}
	got, err = c.GetExperiment(ctx(t), id)
	if err != nil || got.LifecycleStage != "active" {
		t.Errorf("GetExperiment after restore = %+v, %v", got, err)
	}
}

// getOrCreateRace: concurrent GetOrCreateExperiment calls for one new name
// all succeed and agree on one experiment.
func (s *suite) getOrCreateRace(t *testing.T, c *client.Client) {
	name := s.name("race")
	const n = 8
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := c.GetOrCreateExperiment(ctx(t), name, nil)
			errs[i] = err
			if err == nil {
				ids[i] = e.ID
			}
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("GetOrCreateExperiment #%d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("GetOrCreateExperiment IDs differ: %v", ids)
		}
	}
	e, err := c.GetOrCreateExperiment(ctx(t), name, nil)
	if err != nil || e.ID != ids[0] || e.Name != name {
		t.Errorf("GetOrCreateExperiment of an existing name = %+v, %v; want ID %s", e, err, ids[0])
	}
}

func (s *suite) notFound(t *testing.T, c *client.Client) {
	_, runID := s.newRun(t, c, "notfound")
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"GetRun", func() error { _, err := c.GetRun(ctx(t), "0123456789abcdef0123456789abcdef"); return err }, client.ErrNotFound},
		{"GetExperiment", func() error { _, err := c.GetExperiment(ctx(t), "987654321"); return err }, client.ErrNotFound},
		{"GetExperimentByName", func() error { _, err := c.GetExperimentByName(ctx(t), s.name("no-such-experiment")); return err }, client.ErrNotFound},
		{"UpdateRun", func() error {
			_, err := c.UpdateRun(ctx(t), "0123456789abcdef0123456789abcdef", client.UpdateRunOptions{Status: client.RunFinished})
			return err
		}, client.ErrNotFound},
		{"LogMetric", func() error {
			return c.LogMetric(ctx(t), "0123456789abcdef0123456789abcdef", client.Metric{Key: "m", Value: 1, Timestamp: 1})
		}, client.ErrNotFound},
		{"DeleteTag", func() error { return c.DeleteTag(ctx(t), runID, "no-such-tag") }, client.ErrNotFound},
		{"GetLatestVersions", func() error { _, err := c.GetLatestVersions(ctx(t), s.name("no-such-model")); return err }, client.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var apiErr *client.APIError
			if !errors.Is(err, tt.want) || !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
				t.Errorf("error = %v, want %v with status 404", err, tt.want)
			}
		})
	}
	// An unknown metric key, like an unknown run, has an empty history on
	// MLflow: not an error.
	t.Run("GetMetricHistory", func(t *testing.T) {
		for _, id := range []string{runID, "0123456789abcdef0123456789abcdef"} {
			page, err := c.GetMetricHistory(ctx(t), id, "no-such-metric", 0, "")
			if err != nil || len(page.Metrics) != 0 || page.NextPageToken != "" {
				t.Errorf("GetMetricHistory(%s) = %+v, %v; want an empty page", id, page, err)
			}
		}
	})
}
