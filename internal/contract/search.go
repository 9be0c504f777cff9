package contract

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mlwatch/mlwatch/client"
)

// pagingRuns: SearchRuns pages with MaxResults 2 over 5 runs, and
// SearchRunsSeq yields every run once, newest start time first.
func (s *suite) pagingRuns(t *testing.T, c *client.Client) {
	expID := s.newExperiment(t, c, "paging-runs")
	start := client.Millis(time.Now())
	var want []string
	for i := range 5 {
		run, err := c.CreateRun(ctx(t), client.CreateRunOptions{ExperimentID: expID, RunName: fmt.Sprint("r", i), StartTime: start + int64(i)*1000})
		if err != nil {
			t.Fatalf("CreateRun: %v", err)
		}
		want = append(want, run.Info.RunID)
	}
	slices.Reverse(want) // default order: start_time DESC

	opt := client.SearchRunsOptions{ExperimentIDs: []string{expID}, MaxResults: 2}
	var got []string
	pages := 0
	for {
		page, err := c.SearchRuns(ctx(t), opt)
		if err != nil {
			t.Fatalf("SearchRuns: %v", err)
		}
		pages++
		if len(page.Runs) > 2 {
			t.Fatalf("page of %d runs with MaxResults 2", len(page.Runs))
		}
		for _, r := range page.Runs {
			got = append(got, r.Info.RunID)
		}
		if page.NextPageToken == "" {
			break
		}
		if pages > 5 {
			t.Fatal("SearchRuns: more pages than runs")
		}
		opt.PageToken = page.NextPageToken
	}
	if pages != 3 {
		t.Errorf("SearchRuns took %d pages, want 3", pages)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SearchRuns pages (-want +got):\n%s", diff)
	}

	var seq []string
	for r, err := range c.SearchRunsSeq(ctx(t), client.SearchRunsOptions{ExperimentIDs: []string{expID}, MaxResults: 2}) {
		if err != nil {
			t.Fatalf("SearchRunsSeq: %v", err)
		}
		seq = append(seq, r.Info.RunID)
	}
	if diff := cmp.Diff(want, seq); diff != "" {
		t.Errorf("SearchRunsSeq (-want +got):\n%s", diff)
	}

	// order_by attributes.start_time ASC reverses the order.
	page, err := c.SearchRuns(ctx(t), client.SearchRunsOptions{ExperimentIDs: []string{expID}, OrderBy: []string{"attributes.start_time ASC"}, MaxResults: 10})
	if err != nil {
		t.Fatalf("SearchRuns ASC: %v", err)
	}
	var asc []string
	for _, r := range page.Runs {
		asc = append(asc, r.Info.RunID)
	}
	rev := slices.Clone(want)
	slices.Reverse(rev)
	if diff := cmp.Diff(rev, asc); diff != "" {
		t.Errorf("SearchRuns start_time ASC (-want +got):\n%s", diff)
	}

	// Deleted runs leave ACTIVE_ONLY results and appear in DELETED_ONLY.
	if err := c.DeleteRun(ctx(t), want[0]); err != nil {
		t.Fatalf("DeleteRun: %v", err)
	}
	for _, tc := range []struct {
		view client.ViewType
		n    int
	}{{client.ViewActiveOnly, 4}, {client.ViewDeletedOnly, 1}, {client.ViewAll, 5}} {
		page, err := c.SearchRuns(ctx(t), client.SearchRunsOptions{ExperimentIDs: []string{expID}, ViewType: tc.view, MaxResults: 10})
		if err != nil || len(page.Runs) != tc.n {
			t.Errorf("SearchRuns %s: %d runs, %v; want %d", tc.view, len(page.Runs), err, tc.n)
		}
	}
}

func (s *suite) pagingExperiments(t *testing.T, c *client.Client) {
	prefix := s.name("paging-exps")
	var want []string
	for i := range 3 {
		name := fmt.Sprintf("%s-%d", prefix, i)
		if _, err := c.CreateExperiment(ctx(t), name, nil); err != nil {
			t.Fatalf("CreateExperiment: %v", err)
		}
		want = append(want, name)
	}
	filter := fmt.Sprintf("name LIKE '%s-%%'", prefix)
	opt := client.SearchExperimentsOptions{Filter: filter, MaxResults: 2, OrderBy: []string{"name ASC"}}
	page, err := c.SearchExperiments(ctx(t), opt)
	if err != nil {
		t.Fatalf("SearchExperiments: %v", err)
	}
	if len(page.Experiments) != 2 || page.NextPageToken == "" {
		t.Fatalf("first page: %d experiments, token %q; want 2 and a token", len(page.Experiments), page.NextPageToken)
	}
	var got []string
	for e, err := range c.SearchExperimentsSeq(ctx(t), opt) {
		if err != nil {
			t.Fatalf("SearchExperimentsSeq: %v", err)
		}
		got = append(got, e.Name)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SearchExperimentsSeq (-want +got):\n%s", diff)
	}
	// Without MaxResults the client asks for a default page size (the real
	// server requires max_results on experiments/search).
	page, err = c.SearchExperiments(ctx(t), client.SearchExperimentsOptions{Filter: filter})
	if err != nil {
		t.Fatalf("SearchExperiments without MaxResults: %v", err)
	}
	if len(page.Experiments) != 3 {
		t.Errorf("SearchExperiments without MaxResults: %d experiments, want 3", len(page.Experiments))
	}
	// Tag filters.
	id, err := c.CreateExperiment(ctx(t), prefix+"-tagged", &client.ExperimentOptions{Tags: []client.Tag{{Key: "team", Value: prefix}}})
	if err != nil {
		t.Fatalf("CreateExperiment: %v", err)
	}
	page, err = c.SearchExperiments(ctx(t), client.SearchExperimentsOptions{Filter: fmt.Sprintf("tags.team = '%s'", prefix), MaxResults: 10})
	if err != nil || len(page.Experiments) != 1 || page.Experiments[0].ID != id {
		t.Errorf("SearchExperiments by tag = %+v, %v", page, err)
	}
}

func (s *suite) pagingMetricHistory(t *testing.T, c *client.Client) {
	_, id := s.newRun(t, c, "paging-history")
	ts := client.Millis(time.Now())
	var b client.Batch
	for step := range int64(10) {
		b.Metrics = append(b.Metrics, client.Metric{Key: "loss", Value: float64(step) / 10, Timestamp: ts + step, Step: step})
	}
	if err := c.LogBatch(ctx(t), id, b); err != nil {
		t.Fatalf("LogBatch: %v", err)
	}
	var got []client.Metric
	token := ""
	pages := 0
	for {
		page, err := c.GetMetricHistory(ctx(t), id, "loss", 3, token)
		if err != nil {
			t.Fatalf("GetMetricHistory: %v", err)
		}
		pages++
		if len(page.Metrics) > 3 {
			t.Fatalf("page of %d points with maxResults 3", len(page.Metrics))
		}
		got = append(got, page.Metrics...)
		if page.NextPageToken == "" {
			break
		}
		if pages > 10 {
			t.Fatal("GetMetricHistory: more pages than points")
		}
		token = page.NextPageToken
	}
	if pages < 4 {
		t.Errorf("GetMetricHistory took %d pages, want at least 4", pages)
	}
	// Pages come in (timestamp, step, value) order.
	if diff := cmp.Diff(b.Metrics, got); diff != "" {
		t.Errorf("paged history (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(b.Metrics, history(t, c, id, "loss")); diff != "" {
		t.Errorf("GetMetricHistorySeq (-want +got):\n%s", diff)
	}
}

// searchFilters: the filter subset pipelines use, and order_by a metric.
func (s *suite) searchFilters(t *testing.T, c *client.Client) {
	expID := s.newExperiment(t, c, "filters")
	ts := client.Millis(time.Now())
	type spec struct {
		model, country string
		auc            float64
		status         client.RunStatus
	}
	specs := []spec{
		{"churn", "DE", 0.91, client.RunFinished},
		{"churn", "FR", 0.78, client.RunFinished},
		{"fraud", "DE", 0.85, client.RunFailed},
		{"fraud", "FR", 0.95, client.RunRunning},
	}
	ids := make([]string, len(specs))
	for i, sp := range specs {
		run, err := c.CreateRun(ctx(t), client.CreateRunOptions{ExperimentID: expID, StartTime: ts + int64(i), Tags: []client.Tag{{Key: "country", Value: sp.country}}})
		if err != nil {
			t.Fatalf("CreateRun: %v", err)
		}
		ids[i] = run.Info.RunID
		err = c.LogBatch(ctx(t), ids[i], client.Batch{
			Params:  []client.Param{{Key: "model", Value: sp.model}},
			Metrics: []client.Metric{{Key: "auc", Value: sp.auc, Timestamp: ts, Step: 0}},
		})
		if err != nil {
			t.Fatalf("LogBatch: %v", err)
		}
		if sp.status != client.RunRunning {
			if _, err := c.UpdateRun(ctx(t), ids[i], client.UpdateRunOptions{Status: sp.status, EndTime: ts + 100}); err != nil {
				t.Fatalf("UpdateRun: %v", err)
			}
		}
	}
	tests := []struct {
		filter  string
		orderBy []string
		want    []int // indexes into ids, in order
	}{
		{"tags.country = 'DE'", nil, []int{2, 0}},
		{"params.model = 'churn'", nil, []int{1, 0}},
		{"attributes.status = 'FINISHED'", nil, []int{1, 0}},
		{"metrics.auc > 0.85", nil, []int{3, 0}},
		{"metrics.auc >= 0.85", nil, []int{3, 2, 0}},
		{"metrics.auc < 0.85", nil, []int{1}},
		{"metrics.auc <= 0.85", nil, []int{2, 1}},
		{"metrics.auc = 0.78", nil, []int{1}},
		{"metrics.auc != 0.78", nil, []int{3, 2, 0}},
		{"params.model = 'fraud' and tags.country = 'FR'", nil, []int{3}},
		{"params.model = 'churn' and metrics.auc > 0.8 and attributes.status = 'FINISHED'", nil, []int{0}},
		{"", []string{"metrics.auc DESC"}, []int{3, 0, 2, 1}},
		{"", []string{"metrics.auc"}, []int{1, 2, 0, 3}},
		{"tags.country != 'DE'", []string{"attributes.start_time ASC"}, []int{1, 3}},
		{"params.model LIKE 'fr%'", nil, []int{3, 2}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s|%v", tt.filter, tt.orderBy), func(t *testing.T) {
			page, err := c.SearchRuns(ctx(t), client.SearchRunsOptions{ExperimentIDs: []string{expID}, Filter: tt.filter, OrderBy: tt.orderBy, MaxResults: 100})
			if err != nil {
				t.Fatalf("SearchRuns: %v", err)
			}
			var got []int
			for _, r := range page.Runs {
				got = append(got, slices.Index(ids, r.Info.RunID))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("runs (-want +got):\n%s", diff)
			}
		})
	}
	// A malformed filter is rejected, not answered wrongly.
	_, err := c.SearchRuns(ctx(t), client.SearchRunsOptions{ExperimentIDs: []string{expID}, Filter: "params.model = churn", MaxResults: 10})
	if !errors.Is(err, client.ErrInvalidParameter) {
		t.Errorf("unquoted param value: error = %v, want ErrInvalidParameter", err)
	}
	_, err = c.SearchRuns(ctx(t), client.SearchRunsOptions{ExperimentIDs: []string{expID}, Filter: "metrics.auc > 0.5 or metrics.auc < 0.1", MaxResults: 10})
	if !errors.Is(err, client.ErrInvalidParameter) {
		t.Errorf("OR filter: error = %v, want ErrInvalidParameter", err)
	}
}
