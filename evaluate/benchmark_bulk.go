package evaluate

import (
	"context"
	"fmt"
	"slices"

	"github.com/mlwatch/mlwatch/client"
)

// bulkPageSize is the page size of LatestFinishedBy's search.
const bulkPageSize = 1000

// LatestFinishedBy selects latest_finished benchmarks for a whole fleet at
// once: one paged search of the named experiment for FINISHED runs matching
// filter (which may be empty), keeping per distinct value of the run tag
// tagKey (e.g. "pipeline") the run that started last. Runs without the tag
// and runs listed in exclude (the candidates, when they share the experiment)
// are ignored. Each Benchmark's Source is a SourceLatestFinished naming its
// run and the tag value.
//
// This is the fast path for evaluating hundreds of pipelines: a few search
// requests instead of one per candidate (see BENCHMARKS.md, "evaluate: 400
// runs × 20 metrics"). Errors are wrapped client errors. It does only reads
// and is safe for concurrent use if src is.
func LatestFinishedBy(ctx context.Context, src RunSource, experiment, filter, tagKey string, exclude ...string) (map[string]*Benchmark, error) {
	exp, err := src.GetExperimentByName(ctx, experiment)
	if err != nil {
		return nil, fmt.Errorf("evaluate: benchmark experiment %q: %w", experiment, err)
	}
	full := finishedFilter(filter)
	newest := map[string]client.Run{}
	opt := client.SearchRunsOptions{ExperimentIDs: []string{exp.ID}, Filter: full, OrderBy: []string{"attributes.start_time DESC"}, MaxResults: bulkPageSize}
	for {
		page, err := src.SearchRuns(ctx, opt)
		if err != nil {
			return nil, fmt.Errorf("evaluate: search benchmark runs in %q: %w", experiment, err)
		}
		for _, r := range page.Runs {
			key, ok := r.Tag(tagKey)
			if !ok || r.Info.Status != client.RunFinished || slices.Contains(exclude, r.Info.RunID) {
				continue
			}
			if cur, seen := newest[key]; !seen || r.Info.StartTime > cur.Info.StartTime {
				newest[key] = r
			}
		}
		if page.NextPageToken == "" || page.NextPageToken == opt.PageToken {
			break
		}
		opt.PageToken = page.NextPageToken
	}
	out := make(map[string]*Benchmark, len(newest))
	for key, r := range newest {
		out[key] = &Benchmark{Metrics: MetricsFromRun(&r), Source: BaselineSource{
			Kind: SourceLatestFinished, RunID: r.Info.RunID, Experiment: exp.Name, ExperimentID: exp.ID, Filter: full,
			Reason: fmt.Sprintf("run %s is the most recently started FINISHED run in '%s' with tag %s = %q matching %s", r.Info.RunID, exp.Name, tagKey, key, full),
		}}
	}
	return out, nil
}
