package evaluate

import (
	"fmt"
	"strings"
)

// SourceKind says how a benchmark was chosen.
type SourceKind string

// The ways to choose a benchmark.
const (
	// SourceRun is an explicitly named run.
	SourceRun SourceKind = "run"
	// SourceLatestFinished is the most recently started FINISHED run in a
	// benchmark experiment that matches a filter.
	SourceLatestFinished SourceKind = "latest_finished"
	// SourceChampion is the source run of the registered model version that
	// holds an alias (e.g. "champion").
	SourceChampion SourceKind = "champion"
	// SourceRollingMedian is the per-metric median of the last N runs that
	// passed their evaluation (tag mlwatch.eval.status = passed).
	SourceRollingMedian SourceKind = "rolling_median"
	// SourceStatic is a baseline given directly to Evaluate.
	SourceStatic SourceKind = "static"
)

// BaselineSource records which benchmark was used, how it was chosen and why.
// It is plain data with JSON tags.
type BaselineSource struct {
	// Kind says how the benchmark was chosen.
	Kind SourceKind `json:"kind"`
	// RunID is the benchmark run (empty for SourceRollingMedian and SourceStatic).
	RunID string `json:"run_id,omitempty"`
	// RunIDs lists the runs a rolling median was taken over, newest first.
	RunIDs []string `json:"run_ids,omitempty"`
	// Experiment and ExperimentID name the benchmark experiment searched.
	Experiment   string `json:"experiment,omitempty"`
	ExperimentID string `json:"experiment_id,omitempty"`
	// Filter is the MLflow search filter used, after placeholder expansion.
	Filter string `json:"filter,omitempty"`
	// RegisteredModel, Alias and Version identify the champion model version.
	RegisteredModel string `json:"registered_model,omitempty"`
	Alias           string `json:"alias,omitempty"`
	Version         string `json:"version,omitempty"`
	// Reason explains the choice in a sentence.
	Reason string `json:"reason"`
}

// Describe returns a short phrase for messages, e.g.
// "run abc, latest FINISHED in 'churn-benchmarks'".
func (s BaselineSource) Describe() string {
	switch s.Kind {
	case SourceRun:
		return "run " + s.RunID + ", given explicitly"
	case SourceLatestFinished:
		return fmt.Sprintf("run %s, latest FINISHED in '%s'", s.RunID, s.Experiment)
	case SourceChampion:
		return fmt.Sprintf("run %s, source of %s@%s version %s", s.RunID, s.RegisteredModel, s.Alias, s.Version)
	case SourceRollingMedian:
		return fmt.Sprintf("median of the last %d passed runs in '%s'", len(s.RunIDs), s.Experiment)
	case SourceStatic:
		return "supplied by the caller"
	}
	if s.RunID != "" {
		return "run " + s.RunID
	}
	return strings.TrimSpace(s.Reason)
}

// BenchmarkSpec says how to choose the benchmark for a model. In rules files the
// string fields may contain the placeholders {group}, {model} and {country}; they
// are expanded by RulesFile.Resolve. Which fields are required depends on Kind:
//
//	run:              RunID
//	latest_finished:  Experiment, Filter (optional)
//	champion:         RegisteredModel, Alias
//	rolling_median:   Experiment, Filter (optional), LastN >= 1
type BenchmarkSpec struct {
	Kind            SourceKind `json:"kind"`
	RunID           string     `json:"run_id,omitempty"`
	Experiment      string     `json:"experiment,omitempty"`
	Filter          string     `json:"filter,omitempty"`
	RegisteredModel string     `json:"registered_model,omitempty"`
	Alias           string     `json:"alias,omitempty"`
	LastN           int        `json:"last_n,omitempty"`
}

// Validate reports the first problem with the spec as a *RuleError whose Field
// is relative to the spec.
func (s BenchmarkSpec) Validate() error {
	need := func(field, v string) error {
		if v == "" {
			return &RuleError{Field: field, Msg: fmt.Sprintf("required for kind %s", s.Kind)}
		}
		return nil
	}
	switch s.Kind {
	case SourceRun:
		return need("run_id", s.RunID)
	case SourceLatestFinished:
		return need("experiment", s.Experiment)
	case SourceChampion:
		if err := need("registered_model", s.RegisteredModel); err != nil {
			return err
		}
		return need("alias", s.Alias)
	case SourceRollingMedian:
		if err := need("experiment", s.Experiment); err != nil {
			return err
		}
		if s.LastN < 1 {
			return &RuleError{Field: "last_n", Msg: "must be >= 1 for kind rolling_median"}
		}
		return nil
	case "":
		return &RuleError{Field: "kind", Msg: "kind is required (run, latest_finished, champion or rolling_median)"}
	}
	return &RuleError{Field: "kind", Msg: fmt.Sprintf("must be run, latest_finished, champion or rolling_median, not %q", string(s.Kind))}
}

// expand replaces {group}, {model} and {country} in every string field. Values
// substituted into Filter must not contain a single quote, which would change
// the meaning of the MLflow filter.
func (s BenchmarkSpec) expand(group, model, country string) (BenchmarkSpec, error) {
	r := strings.NewReplacer("{group}", group, "{model}", model, "{country}", country)
	if strings.Contains(s.Filter, "{") {
		for _, v := range []string{group, model, country} {
			if strings.ContainsAny(v, `'"\`) {
				return s, &RuleError{Field: "filter", Msg: fmt.Sprintf("value %q contains a quote or backslash and cannot be placed in a filter", v)}
			}
		}
	}
	s.RunID = r.Replace(s.RunID)
	s.Experiment = r.Replace(s.Experiment)
	s.Filter = r.Replace(s.Filter)
	s.RegisteredModel = r.Replace(s.RegisteredModel)
	s.Alias = r.Replace(s.Alias)
	return s, nil
}
