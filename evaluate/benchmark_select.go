package evaluate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/mlwatch/mlwatch/client"
)

// RunSource is the part of the MLflow client that ResolveBenchmark needs;
// *client.Client satisfies it. Declared here so tests can supply their own.
type RunSource interface {
	GetRun(ctx context.Context, runID string) (*client.Run, error)
	GetExperimentByName(ctx context.Context, name string) (*client.Experiment, error)
	SearchRuns(ctx context.Context, opt client.SearchRunsOptions) (*client.RunsPage, error)
	GetModelVersionByAlias(ctx context.Context, name, alias string) (*client.ModelVersion, error)
}

// ErrNoBenchmark is matched (errors.Is) when the spec is valid but selects no
// usable benchmark run: no run matches, the only match is the candidate itself,
// or the champion version has no source run.
var ErrNoBenchmark = errors.New("evaluate: no benchmark run")

// TagEvalStatus is the run tag holding the overall evaluation status (passed,
// warning or critical). LogOutcome writes it; a rolling_median benchmark only
// uses runs where it is "passed".
const TagEvalStatus = "mlwatch.eval.status"

// MetricsFromRun returns the run's latest metric values as Metrics. ±MaxFloat64
// values are kept as stored; Evaluate reads them as ±Inf. run is not modified.
func MetricsFromRun(run *client.Run) Metrics {
	m := make(Metrics, len(run.Data.Metrics))
	for _, x := range run.Data.Metrics {
		m[x.Key] = x.Value
	}
	return m
}

// ResolveBenchmark chooses the benchmark described by spec and fetches its
// metrics. candidateRunID is never chosen as its own benchmark (pass "" if
// there is no candidate run). The returned Source says which run(s) were used,
// how and why. spec must be valid (see BenchmarkSpec.Validate) with its
// placeholders already expanded, as RulesFile.Resolve returns it.
//
// Errors: *RuleError for an invalid spec; ErrNoBenchmark (wrapped, with the
// reason) when nothing usable matched; the client's errors (e.g. a *client.APIError
// matching client.ErrNotFound for an unknown run, experiment or alias) wrapped
// with context. It does only reads and is safe for concurrent use if src is.
func ResolveBenchmark(ctx context.Context, src RunSource, spec BenchmarkSpec, candidateRunID string) (*Benchmark, error) {
	if err := spec.Validate(); err != nil {
		prefixField(err, "benchmark.")
		return nil, err
	}
	switch spec.Kind {
	case SourceRun:
		return explicitRun(ctx, src, spec, candidateRunID)
	case SourceLatestFinished:
		return latestFinished(ctx, src, spec, candidateRunID)
	case SourceChampion:
		return champion(ctx, src, spec, candidateRunID)
	default: // SourceRollingMedian; Validate rejected anything else.
		return rollingMedian(ctx, src, spec, candidateRunID)
	}
}

func explicitRun(ctx context.Context, src RunSource, spec BenchmarkSpec, candidate string) (*Benchmark, error) {
	if spec.RunID == candidate {
		return nil, fmt.Errorf("%w: run %s is the candidate itself", ErrNoBenchmark, spec.RunID)
	}
	run, err := src.GetRun(ctx, spec.RunID)
	if err != nil {
		return nil, fmt.Errorf("evaluate: benchmark run %s: %w", spec.RunID, err)
	}
	return &Benchmark{Metrics: MetricsFromRun(run), Source: BaselineSource{
		Kind: SourceRun, RunID: run.Info.RunID, ExperimentID: run.Info.ExperimentID,
		Reason: fmt.Sprintf("run %s was named as the benchmark in the rules", run.Info.RunID),
	}}, nil
}

// finishedFilter adds the FINISHED status (and optional extra clauses) to a
// user filter.
func finishedFilter(filter string, extra ...string) string {
	parts := []string{}
	if f := strings.TrimSpace(filter); f != "" {
		parts = append(parts, f)
	}
	parts = append(parts, "attributes.status = 'FINISHED'")
	parts = append(parts, extra...)
	return strings.Join(parts, " and ")
}

// searchFinished returns up to n FINISHED runs matching filter in the named
// experiment, newest first, never the candidate.
func searchFinished(ctx context.Context, src RunSource, experiment, filter, candidate string, n int) (*client.Experiment, []client.Run, error) {
	exp, err := src.GetExperimentByName(ctx, experiment)
	if err != nil {
		return nil, nil, fmt.Errorf("evaluate: benchmark experiment %q: %w", experiment, err)
	}
	page, err := src.SearchRuns(ctx, client.SearchRunsOptions{
		ExperimentIDs: []string{exp.ID},
		Filter:        filter,
		OrderBy:       []string{"attributes.start_time DESC"},
		MaxResults:    n + 1, // one spare in case the candidate is among them
	})
	if err != nil {
		return nil, nil, fmt.Errorf("evaluate: search benchmark runs in %q: %w", experiment, err)
	}
	runs := slices.DeleteFunc(slices.Clone(page.Runs), func(r client.Run) bool {
		return r.Info.RunID == candidate || r.Info.Status != client.RunFinished
	})
	// The server orders by start_time already; sorting again keeps a server
	// that ignores order_by from choosing an arbitrary run.
	slices.SortStableFunc(runs, func(a, b client.Run) int {
		switch {
		case a.Info.StartTime > b.Info.StartTime:
			return -1
		case a.Info.StartTime < b.Info.StartTime:
			return 1
		}
		return 0
	})
	if len(runs) > n {
		runs = runs[:n]
	}
	return exp, runs, nil
}

func latestFinished(ctx context.Context, src RunSource, spec BenchmarkSpec, candidate string) (*Benchmark, error) {
	filter := finishedFilter(spec.Filter)
	exp, runs, err := searchFinished(ctx, src, spec.Experiment, filter, candidate, 1)
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("%w: no FINISHED run other than the candidate in %q matches %q", ErrNoBenchmark, spec.Experiment, filter)
	}
	run := runs[0]
	return &Benchmark{Metrics: MetricsFromRun(&run), Source: BaselineSource{
		Kind: SourceLatestFinished, RunID: run.Info.RunID, Experiment: exp.Name, ExperimentID: exp.ID, Filter: filter,
		Reason: fmt.Sprintf("run %s is the most recently started FINISHED run in '%s' matching %s", run.Info.RunID, exp.Name, filter),
	}}, nil
}

func champion(ctx context.Context, src RunSource, spec BenchmarkSpec, candidate string) (*Benchmark, error) {
	mv, err := src.GetModelVersionByAlias(ctx, spec.RegisteredModel, spec.Alias)
	if err != nil {
		return nil, fmt.Errorf("evaluate: champion %s@%s: %w", spec.RegisteredModel, spec.Alias, err)
	}
	if mv.RunID == "" {
		return nil, fmt.Errorf("%w: %s@%s (version %s) has no source run", ErrNoBenchmark, spec.RegisteredModel, spec.Alias, mv.Version)
	}
	if mv.RunID == candidate {
		return nil, fmt.Errorf("%w: the candidate run %s is itself the source of %s@%s", ErrNoBenchmark, candidate, spec.RegisteredModel, spec.Alias)
	}
	run, err := src.GetRun(ctx, mv.RunID)
	if err != nil {
		return nil, fmt.Errorf("evaluate: champion %s@%s source run %s: %w", spec.RegisteredModel, spec.Alias, mv.RunID, err)
	}
	return &Benchmark{Metrics: MetricsFromRun(run), Source: BaselineSource{
		Kind: SourceChampion, RunID: run.Info.RunID, ExperimentID: run.Info.ExperimentID,
		RegisteredModel: spec.RegisteredModel, Alias: spec.Alias, Version: mv.Version,
		Reason: fmt.Sprintf("run %s is the source run of registered model %s version %s, which holds the alias %q", run.Info.RunID, spec.RegisteredModel, mv.Version, spec.Alias),
	}}, nil
}

func rollingMedian(ctx context.Context, src RunSource, spec BenchmarkSpec, candidate string) (*Benchmark, error) {
	filter := finishedFilter(spec.Filter, "tags.`"+TagEvalStatus+"` = '"+StatusPassed+"'")
	exp, runs, err := searchFinished(ctx, src, spec.Experiment, filter, candidate, spec.LastN)
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("%w: no passed FINISHED run other than the candidate in %q matches %q", ErrNoBenchmark, spec.Experiment, filter)
	}
	ids := make([]string, len(runs))
	values := map[string][]float64{}
	for i := range runs {
		ids[i] = runs[i].Info.RunID
		for _, m := range runs[i].Data.Metrics {
			if v := client.NormalizeInf(m.Value); !math.IsNaN(v) {
				values[m.Key] = append(values[m.Key], v)
			}
		}
	}
	metrics := make(Metrics, len(values))
	for k, vs := range values {
		metrics[k] = median(vs)
	}
	reason := fmt.Sprintf("per-metric median of the last %d passed FINISHED runs in '%s' matching %s", len(runs), exp.Name, filter)
	if len(runs) < spec.LastN {
		reason += fmt.Sprintf(" (only %d of the %d asked for exist)", len(runs), spec.LastN)
	}
	return &Benchmark{Metrics: metrics, Source: BaselineSource{
		Kind: SourceRollingMedian, RunIDs: ids, Experiment: exp.Name, ExperimentID: exp.ID, Filter: filter, Reason: reason,
	}}, nil
}

// median returns the median of vs (the mean of the middle two for an even
// count). vs is sorted in place; it is never empty here.
func median(vs []float64) float64 {
	slices.Sort(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2]
	}
	a, b := vs[n/2-1], vs[n/2]
	if a == b {
		return a // also for equal infinities
	}
	return a/2 + b/2 // halving first cannot overflow
}
