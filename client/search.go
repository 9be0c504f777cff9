package client

import (
	"context"
	"iter"
	"strconv"
)

const pathRunsSearch = "/api/2.0/mlflow/runs/search"

// SearchRunsOptions are the fields of a run search. At least one experiment
// ID is required. MaxResults 0 lets the server choose (1000); at most 50000.
// Filter uses MLflow's search syntax, e.g. "params.model = 'xgb' and
// metrics.auc > 0.8"; keys with special characters go in backticks.
type SearchRunsOptions struct {
	ExperimentIDs []string
	Filter        string
	OrderBy       []string
	ViewType      ViewType
	MaxResults    int
	PageToken     string
}

// RunsPage is one page of a run search; NextPageToken is empty on the last page.
type RunsPage struct {
	Runs          []Run
	NextPageToken string
}

// SearchRuns returns one page of runs matching opt. It is read-only and
// retried. opt is not modified.
func (c *Client) SearchRuns(ctx context.Context, opt SearchRunsOptions) (*RunsPage, error) {
	if len(opt.ExperimentIDs) == 0 {
		return nil, &ValidationError{Field: "experiment_ids", Rule: ruleRequired}
	}
	for i, id := range opt.ExperimentIDs {
		if err := validateExperimentID(id); err != nil {
			err.(*ValidationError).Field = "experiment_ids[" + strconv.Itoa(i) + "]"
			return nil, err
		}
	}
	if err := validateSearchCommon(opt.MaxResults, opt.ViewType); err != nil {
		return nil, err
	}
	in := struct {
		ExperimentIDs []string `json:"experiment_ids"`
		Filter        string   `json:"filter,omitempty"`
		RunViewType   ViewType `json:"run_view_type,omitempty"`
		MaxResults    int64    `json:"max_results,omitempty"`
		OrderBy       []string `json:"order_by,omitempty"`
		PageToken     string   `json:"page_token,omitempty"`
	}{opt.ExperimentIDs, opt.Filter, opt.ViewType, int64(opt.MaxResults), opt.OrderBy, opt.PageToken}
	var out struct {
		Runs          []Run  `json:"runs"`
		NextPageToken string `json:"next_page_token"`
	}
	if err := c.doJSON(ctx, "POST", pathRunsSearch, in, &out, true); err != nil {
		return nil, err
	}
	return &RunsPage{Runs: out.Runs, NextPageToken: out.NextPageToken}, nil
}

// SearchRunsSeq iterates over every run matching opt, fetching pages as
// needed (starting at opt.PageToken). It stops at the first error, which is
// yielded with a zero Run.
func (c *Client) SearchRunsSeq(ctx context.Context, opt SearchRunsOptions) iter.Seq2[Run, error] {
	return func(yield func(Run, error) bool) {
		for {
			page, err := c.SearchRuns(ctx, opt)
			if err != nil {
				yield(Run{}, err)
				return
			}
			for _, r := range page.Runs {
				if !yield(r, nil) {
					return
				}
			}
			if page.NextPageToken == "" || page.NextPageToken == opt.PageToken {
				return
			}
			opt.PageToken = page.NextPageToken
		}
	}
}
