package client

import (
	"cmp"
	"context"
	"errors"
	"iter"
	"net/url"
	"strconv"
)

// API paths (relative to the tracking URI).
const (
	pathExperimentsCreate    = "/api/2.0/mlflow/experiments/create"
	pathExperimentsGet       = "/api/2.0/mlflow/experiments/get"
	pathExperimentsGetByName = "/api/2.0/mlflow/experiments/get-by-name"
	pathExperimentsSearch    = "/api/2.0/mlflow/experiments/search"
	pathExperimentsDelete    = "/api/2.0/mlflow/experiments/delete"
	pathExperimentsRestore   = "/api/2.0/mlflow/experiments/restore"
	pathExperimentsSetTag    = "/api/2.0/mlflow/experiments/set-experiment-tag"
)

// ExperimentOptions are the optional fields of CreateExperiment.
type ExperimentOptions struct {
	// ArtifactLocation is the experiment's artifact root; empty lets the
	// server choose (e.g. mlflow-artifacts:/<id>).
	ArtifactLocation string
	// Tags are experiment tags (keys ≤ 250, values ≤ 5000 characters).
	Tags []Tag
}

// CreateExperiment creates an experiment and returns its ID. A name that
// already exists gives an error matching ErrAlreadyExists. name must be
// non-empty and at most 500 characters. It is not retried (see the
// idempotency table in the package doc); opt is not modified.
func (c *Client) CreateExperiment(ctx context.Context, name string, opt *ExperimentOptions) (string, error) {
	if err := validateExperimentName(name); err != nil {
		return "", err
	}
	in := struct {
		Name             string `json:"name"`
		ArtifactLocation string `json:"artifact_location,omitempty"`
		Tags             []Tag  `json:"tags,omitempty"`
	}{Name: name}
	if opt != nil {
		if len(opt.ArtifactLocation) > 2048 {
			return "", &ValidationError{Field: "artifact_location", Rule: ruleMaxLen(2048)}
		}
		for i, t := range opt.Tags {
			if err := validateExperimentTag("tags["+strconv.Itoa(i)+"]", t); err != nil {
				return "", err
			}
		}
		in.ArtifactLocation, in.Tags = opt.ArtifactLocation, opt.Tags
	}
	var out struct {
		ExperimentID jsonString `json:"experiment_id"`
	}
	if err := c.doJSON(ctx, "POST", pathExperimentsCreate, in, &out, false); err != nil {
		return "", err
	}
	if out.ExperimentID == "" {
		return "", errors.New("client: experiments/create: answer has no experiment_id")
	}
	return string(out.ExperimentID), nil
}

// GetExperiment returns the experiment with ID id; an unknown ID gives an
// error matching ErrNotFound.
func (c *Client) GetExperiment(ctx context.Context, id string) (*Experiment, error) {
	if err := validateExperimentID(id); err != nil {
		return nil, err
	}
	var out struct {
		Experiment *Experiment `json:"experiment"`
	}
	if err := c.doJSON(ctx, "GET", pathExperimentsGet, url.Values{"experiment_id": {id}}, &out, true); err != nil {
		return nil, err
	}
	if out.Experiment == nil {
		return nil, errors.New("client: experiments/get: answer has no experiment")
	}
	return out.Experiment, nil
}

// GetExperimentByName returns the experiment named name (the active one if
// a deleted one has the same name); an unknown name gives an error matching
// ErrNotFound.
func (c *Client) GetExperimentByName(ctx context.Context, name string) (*Experiment, error) {
	if err := validateExperimentName(name); err != nil {
		return nil, err
	}
	var out struct {
		Experiment *Experiment `json:"experiment"`
	}
	if err := c.doJSON(ctx, "GET", pathExperimentsGetByName, url.Values{"experiment_name": {name}}, &out, true); err != nil {
		return nil, err
	}
	if out.Experiment == nil {
		return nil, errors.New("client: experiments/get-by-name: answer has no experiment")
	}
	return out.Experiment, nil
}

// GetOrCreateExperiment returns the experiment named name, creating it with
// opt when it does not exist. It is race-safe: when another process creates
// the experiment between the lookup and the create (ErrAlreadyExists), it
// looks it up again. A deleted experiment of that name is returned as is
// (LifecycleStage "deleted"); restore it with RestoreExperiment.
func (c *Client) GetOrCreateExperiment(ctx context.Context, name string, opt *ExperimentOptions) (*Experiment, error) {
	exp, err := c.GetExperimentByName(ctx, name)
	if err == nil {
		return exp, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	id, err := c.CreateExperiment(ctx, name, opt)
	switch {
	case err == nil:
		return c.GetExperiment(ctx, id)
	case errors.Is(err, ErrAlreadyExists):
		return c.GetExperimentByName(ctx, name)
	}
	return nil, err
}

// DeleteExperiment marks an experiment (and its runs) deleted.
func (c *Client) DeleteExperiment(ctx context.Context, id string) error {
	if err := validateExperimentID(id); err != nil {
		return err
	}
	return c.doJSON(ctx, "POST", pathExperimentsDelete, map[string]string{"experiment_id": id}, nil, true)
}

// RestoreExperiment restores a deleted experiment.
func (c *Client) RestoreExperiment(ctx context.Context, id string) error {
	if err := validateExperimentID(id); err != nil {
		return err
	}
	return c.doJSON(ctx, "POST", pathExperimentsRestore, map[string]string{"experiment_id": id}, nil, true)
}

// SetExperimentTag sets (or overwrites) an experiment tag. Keys are at most
// 250 and values at most 5000 characters.
func (c *Client) SetExperimentTag(ctx context.Context, experimentID, key, value string) error {
	if err := validateExperimentID(experimentID); err != nil {
		return err
	}
	if err := validateExperimentTag("tag", Tag{Key: key, Value: value}); err != nil {
		return err
	}
	in := map[string]string{"experiment_id": experimentID, "key": key, "value": value}
	return c.doJSON(ctx, "POST", pathExperimentsSetTag, in, nil, true)
}

// defaultSearchMaxResults is MLflow's default page size for searches.
const defaultSearchMaxResults = 1000

// SearchExperimentsOptions are the fields of an experiment search.
// MaxResults 0 means 1000 (MLflow's default, sent explicitly because the
// server requires max_results on this endpoint); at most 50000.
type SearchExperimentsOptions struct {
	Filter     string
	OrderBy    []string
	ViewType   ViewType
	MaxResults int
	PageToken  string
}

// ExperimentsPage is one page of an experiment search. NextPageToken is
// empty on the last page.
type ExperimentsPage struct {
	Experiments   []Experiment
	NextPageToken string
}

func validateSearchCommon(maxResults int, vt ViewType) error {
	if maxResults < 0 || maxResults > searchMaxResultsThreshold {
		return newValidationError("max_results", "must be in [0, 50000]", strconv.Itoa(maxResults))
	}
	switch vt {
	case "", ViewActiveOnly, ViewDeletedOnly, ViewAll:
	default:
		return newValidationError("view_type", "must be ACTIVE_ONLY, DELETED_ONLY or ALL", string(vt))
	}
	return nil
}

// SearchExperiments returns one page of experiments matching opt.
func (c *Client) SearchExperiments(ctx context.Context, opt SearchExperimentsOptions) (*ExperimentsPage, error) {
	if err := validateSearchCommon(opt.MaxResults, opt.ViewType); err != nil {
		return nil, err
	}
	in := struct {
		MaxResults int64    `json:"max_results,omitempty"`
		PageToken  string   `json:"page_token,omitempty"`
		Filter     string   `json:"filter,omitempty"`
		OrderBy    []string `json:"order_by,omitempty"`
		ViewType   ViewType `json:"view_type,omitempty"`
	}{int64(cmp.Or(opt.MaxResults, defaultSearchMaxResults)), opt.PageToken, opt.Filter, opt.OrderBy, opt.ViewType}
	var out struct {
		Experiments   []Experiment `json:"experiments"`
		NextPageToken string       `json:"next_page_token"`
	}
	if err := c.doJSON(ctx, "POST", pathExperimentsSearch, in, &out, true); err != nil {
		return nil, err
	}
	return &ExperimentsPage{Experiments: out.Experiments, NextPageToken: out.NextPageToken}, nil
}

// SearchExperimentsSeq iterates over every experiment matching opt, fetching
// pages as needed (starting at opt.PageToken). The iteration stops at the
// first error, which is yielded with a zero Experiment.
func (c *Client) SearchExperimentsSeq(ctx context.Context, opt SearchExperimentsOptions) iter.Seq2[Experiment, error] {
	return func(yield func(Experiment, error) bool) {
		for {
			page, err := c.SearchExperiments(ctx, opt)
			if err != nil {
				yield(Experiment{}, err)
				return
			}
			for _, e := range page.Experiments {
				if !yield(e, nil) {
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
