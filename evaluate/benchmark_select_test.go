package evaluate

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mlwatch/mlwatch/client"
)

// fakeSource is a RunSource over fixed data; it records the searches made. The
// contract against the clienttest fake and real MLflow is in the integration
// and clienttest-based tests.
type fakeSource struct {
	runs     map[string]*client.Run
	exps     map[string]*client.Experiment
	versions map[string]*client.ModelVersion // "name@alias"
	searched []client.SearchRunsOptions
}

func (f *fakeSource) GetRun(_ context.Context, id string) (*client.Run, error) {
	if r, ok := f.runs[id]; ok {
		return r, nil
	}
	return nil, &client.APIError{StatusCode: 404, Code: "RESOURCE_DOES_NOT_EXIST", Message: "run " + id}
}

func (f *fakeSource) GetExperimentByName(_ context.Context, name string) (*client.Experiment, error) {
	if e, ok := f.exps[name]; ok {
		return e, nil
	}
	return nil, &client.APIError{StatusCode: 404, Code: "RESOURCE_DOES_NOT_EXIST", Message: "experiment " + name}
}

func (f *fakeSource) SearchRuns(_ context.Context, opt client.SearchRunsOptions) (*client.RunsPage, error) {
	f.searched = append(f.searched, opt)
	var out []client.Run
	for _, r := range f.runs {
		if r.Info.ExperimentID == opt.ExperimentIDs[0] {
			out = append(out, *r)
		}
	}
	return &client.RunsPage{Runs: out}, nil
}

func (f *fakeSource) GetModelVersionByAlias(_ context.Context, name, alias string) (*client.ModelVersion, error) {
	if v, ok := f.versions[name+"@"+alias]; ok {
		return v, nil
	}
	return nil, &client.APIError{StatusCode: 404, Code: "RESOURCE_DOES_NOT_EXIST", Message: "alias"}
}

func mkRun(id, exp string, start int64, status client.RunStatus, metrics map[string]float64) *client.Run {
	r := &client.Run{Info: client.RunInfo{RunID: id, ExperimentID: exp, StartTime: start, Status: status}}
	for k, v := range metrics {
		r.Data.Metrics = append(r.Data.Metrics, client.Metric{Key: k, Value: v})
	}
	return r
}

func newFakeSource() *fakeSource {
	return &fakeSource{
		runs: map[string]*client.Run{
			"old":     mkRun("old", "1", 100, client.RunFinished, map[string]float64{"auc": 0.70, "loss": 0.5}),
			"new":     mkRun("new", "1", 300, client.RunFinished, map[string]float64{"auc": 0.76, "loss": 0.4}),
			"mid":     mkRun("mid", "1", 200, client.RunFinished, map[string]float64{"auc": 0.74}),
			"running": mkRun("running", "1", 400, client.RunRunning, map[string]float64{"auc": 0.1}),
			"cand":    mkRun("cand", "1", 500, client.RunFinished, map[string]float64{"auc": 0.5}),
			"champ":   mkRun("champ", "2", 50, client.RunFinished, map[string]float64{"auc": 0.8}),
		},
		exps:     map[string]*client.Experiment{"churn-benchmarks": {ID: "1", Name: "churn-benchmarks"}, "empty": {ID: "9", Name: "empty"}},
		versions: map[string]*client.ModelVersion{"churn-DE@champion": {Name: "churn-DE", Version: "3", RunID: "champ"}, "orphan@champion": {Name: "orphan", Version: "1"}},
	}
}

func TestResolveBenchmark(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		spec    BenchmarkSpec
		want    Metrics
		wantSrc BaselineSource
	}{
		{"explicit run", BenchmarkSpec{Kind: SourceRun, RunID: "old"}, Metrics{"auc": 0.70, "loss": 0.5},
			BaselineSource{Kind: SourceRun, RunID: "old", ExperimentID: "1", Reason: "run old was named as the benchmark in the rules"}},
		{"latest finished skips the candidate and running runs", BenchmarkSpec{Kind: SourceLatestFinished, Experiment: "churn-benchmarks", Filter: "tags.model = 'churn'"},
			Metrics{"auc": 0.76, "loss": 0.4},
			BaselineSource{Kind: SourceLatestFinished, RunID: "new", Experiment: "churn-benchmarks", ExperimentID: "1",
				Filter: "tags.model = 'churn' and attributes.status = 'FINISHED'",
				Reason: "run new is the most recently started FINISHED run in 'churn-benchmarks' matching tags.model = 'churn' and attributes.status = 'FINISHED'"}},
		{"champion", BenchmarkSpec{Kind: SourceChampion, RegisteredModel: "churn-DE", Alias: "champion"}, Metrics{"auc": 0.8},
			BaselineSource{Kind: SourceChampion, RunID: "champ", ExperimentID: "2", RegisteredModel: "churn-DE", Alias: "champion", Version: "3",
				Reason: `run champ is the source run of registered model churn-DE version 3, which holds the alias "champion"`}},
		{"rolling median of the last 2", BenchmarkSpec{Kind: SourceRollingMedian, Experiment: "churn-benchmarks", LastN: 2}, Metrics{"auc": 0.75, "loss": 0.4},
			BaselineSource{Kind: SourceRollingMedian, RunIDs: []string{"new", "mid"}, Experiment: "churn-benchmarks", ExperimentID: "1",
				Filter: "attributes.status = 'FINISHED' and tags.`mlwatch.eval.status` = 'passed'",
				Reason: "per-metric median of the last 2 passed FINISHED runs in 'churn-benchmarks' matching attributes.status = 'FINISHED' and tags.`mlwatch.eval.status` = 'passed'"}},
		{"rolling median with fewer runs than asked", BenchmarkSpec{Kind: SourceRollingMedian, Experiment: "churn-benchmarks", LastN: 10}, Metrics{"auc": 0.74, "loss": 0.45},
			BaselineSource{Kind: SourceRollingMedian, RunIDs: []string{"new", "mid", "old"}, Experiment: "churn-benchmarks", ExperimentID: "1",
				Filter: "attributes.status = 'FINISHED' and tags.`mlwatch.eval.status` = 'passed'",
				Reason: "per-metric median of the last 3 passed FINISHED runs in 'churn-benchmarks' matching attributes.status = 'FINISHED' and tags.`mlwatch.eval.status` = 'passed' (only 3 of the 10 asked for exist)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := newFakeSource()
			got, err := ResolveBenchmark(context.Background(), src, tt.spec, "cand")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Metrics, cmp.Comparer(func(a, b float64) bool { return a-b < 1e-12 && b-a < 1e-12 })); diff != "" {
				t.Errorf("metrics (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSrc, got.Source); diff != "" {
				t.Errorf("source (-want +got):\n%s", diff)
			}
			for _, s := range src.searched {
				if !cmp.Equal(s.OrderBy, []string{"attributes.start_time DESC"}) || s.MaxResults < 2 {
					t.Errorf("search options %+v", s)
				}
			}
		})
	}
}

func TestResolveBenchmarkErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		spec      BenchmarkSpec
		candidate string
		is        error
	}{
		{"invalid spec", BenchmarkSpec{Kind: SourceRun}, "", ErrInvalidRule},
		{"explicit run is the candidate", BenchmarkSpec{Kind: SourceRun, RunID: "cand"}, "cand", ErrNoBenchmark},
		{"unknown run", BenchmarkSpec{Kind: SourceRun, RunID: "nope"}, "", client.ErrNotFound},
		{"unknown experiment", BenchmarkSpec{Kind: SourceLatestFinished, Experiment: "nope"}, "", client.ErrNotFound},
		{"nothing matches", BenchmarkSpec{Kind: SourceLatestFinished, Experiment: "empty"}, "", ErrNoBenchmark},
		{"rolling with nothing passed", BenchmarkSpec{Kind: SourceRollingMedian, Experiment: "empty", LastN: 3}, "", ErrNoBenchmark},
		{"unknown alias", BenchmarkSpec{Kind: SourceChampion, RegisteredModel: "x", Alias: "champion"}, "", client.ErrNotFound},
		{"champion without source run", BenchmarkSpec{Kind: SourceChampion, RegisteredModel: "orphan", Alias: "champion"}, "", ErrNoBenchmark},
		{"candidate is the champion", BenchmarkSpec{Kind: SourceChampion, RegisteredModel: "churn-DE", Alias: "champion"}, "champ", ErrNoBenchmark},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ResolveBenchmark(context.Background(), newFakeSource(), tt.spec, tt.candidate)
			if !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
			if !strings.HasPrefix(err.Error(), "evaluate: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{-1e308, 1e308}, 0}} {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// pagedSource answers searches one run per page.
type pagedSource struct{ *fakeSource }

func (p pagedSource) SearchRuns(ctx context.Context, opt client.SearchRunsOptions) (*client.RunsPage, error) {
	all, _ := p.fakeSource.SearchRuns(ctx, opt)
	slices.SortFunc(all.Runs, func(a, b client.Run) int { return strings.Compare(a.Info.RunID, b.Info.RunID) })
	i := 0
	if opt.PageToken != "" {
		i, _ = strconv.Atoi(opt.PageToken)
	}
	page := &client.RunsPage{Runs: all.Runs[i : i+1]}
	if i+1 < len(all.Runs) {
		page.NextPageToken = strconv.Itoa(i + 1)
	}
	return page, nil
}

func TestLatestFinishedByPages(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	for id, r := range src.runs {
		r.Data.Tags = []client.Tag{{Key: "pipeline", Value: map[bool]string{true: "a", false: "b"}[id < "n"]}}
	}
	got, err := LatestFinishedBy(context.Background(), pagedSource{src}, "churn-benchmarks", "", "pipeline", "new")
	if err != nil {
		t.Fatal(err)
	}
	// a: cand (500) and mid (200); b: old (100), running (not finished), new (excluded).
	if len(got) != 2 || got["a"].Source.RunID != "cand" || got["b"].Source.RunID != "old" {
		t.Errorf("got a=%+v b=%+v", got["a"], got["b"])
	}
	if len(src.searched) != 5 {
		t.Errorf("%d searches, want one per page (5)", len(src.searched))
	}
}
