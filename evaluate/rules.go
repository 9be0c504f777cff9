package evaluate

import (
	"errors"
	"fmt"
	"math"
)

// Direction says which way a metric improves. Its zero value is invalid: every
// rule must state it, because guessing wrong silently inverts every check.
type Direction string

// The directions.
const (
	HigherIsBetter Direction = "higher_is_better"
	LowerIsBetter  Direction = "lower_is_better"
)

// BaselinePolicy says what happens when a rule needs the benchmark's value of a
// metric and the benchmark does not have it (or it is NaN).
type BaselinePolicy string

// The baseline policies.
const (
	// BaselineBreach reports a KindMissing breach with MissingPolicy.BaselineSeverity.
	BaselineBreach BaselinePolicy = "breach"
	// BaselineIgnore skips the change and regression checks of that metric
	// (the threshold check still runs); the report records a passed KindMissing
	// check saying the comparison was skipped.
	BaselineIgnore BaselinePolicy = "ignore"
)

// MissingPolicy says how missing values are judged. The zero value means: a
// metric missing from the candidate is a critical breach; a metric missing from
// the benchmark is a warning breach (see DefaultMissingPolicy).
type MissingPolicy struct {
	// Candidate is the severity of the breach when the candidate run lacks
	// the metric or its value is NaN. Empty means critical.
	Candidate Severity `json:"candidate,omitempty"`
	// Baseline says whether a metric missing from the benchmark is a breach
	// or ignored. Empty means breach.
	Baseline BaselinePolicy `json:"baseline,omitempty"`
	// BaselineSeverity is the severity of that breach. Empty means warning.
	BaselineSeverity Severity `json:"baseline_severity,omitempty"`
}

// DefaultMissingPolicy is what an empty MissingPolicy means.
func DefaultMissingPolicy() MissingPolicy {
	return MissingPolicy{Candidate: SeverityCritical, Baseline: BaselineBreach, BaselineSeverity: SeverityWarning}
}

func (p MissingPolicy) withDefaults() MissingPolicy {
	d := DefaultMissingPolicy()
	if p.Candidate == "" {
		p.Candidate = d.Candidate
	}
	if p.Baseline == "" {
		p.Baseline = d.Baseline
	}
	if p.BaselineSeverity == "" {
		p.BaselineSeverity = d.BaselineSeverity
	}
	return p
}

// Severities sets the severity of each kind of check of one rule. An empty field
// takes the default from DefaultSeverities.
type Severities struct {
	Threshold     Severity `json:"threshold,omitempty"`
	MinChange     Severity `json:"min_change,omitempty"`
	MaxRegression Severity `json:"max_regression,omitempty"`
}

// DefaultSeverities is what empty Severities fields mean: a hard threshold and a
// regression beyond the allowed maximum are critical; a missed improvement
// target (min change) is a warning.
func DefaultSeverities() Severities {
	return Severities{Threshold: SeverityCritical, MinChange: SeverityWarning, MaxRegression: SeverityCritical}
}

func (s Severities) withDefaults() Severities {
	d := DefaultSeverities()
	if s.Threshold == "" {
		s.Threshold = d.Threshold
	}
	if s.MinChange == "" {
		s.MinChange = d.MinChange
	}
	if s.MaxRegression == "" {
		s.MaxRegression = d.MaxRegression
	}
	return s
}

// MetricRule is the set of checks for one metric. Optional limits are pointers:
// nil means "not set" (so 0 is a real limit, unlike MLflow's truthiness test).
// A MetricRule is plain data; Evaluate never modifies it.
type MetricRule struct {
	// Metric is the metric key as logged to MLflow.
	Metric string `json:"metric"`
	// Direction is required.
	Direction Direction `json:"direction"`
	// Threshold is a hard limit: candidate >= Threshold (HigherIsBetter) or
	// candidate <= Threshold (LowerIsBetter). Equality passes.
	Threshold *float64 `json:"threshold,omitempty"`
	// MinAbsoluteChange (> 0) requires an improvement over the benchmark of at
	// least this much: c - b >= Δ (HigherIsBetter) or b - c >= Δ.
	MinAbsoluteChange *float64 `json:"min_absolute_change,omitempty"`
	// MinRelativeChange (in [0, 1]) requires an improvement of at least this
	// fraction of |b|: (c - b)/|b| >= r, or (b - c)/|b| >= r.
	MinRelativeChange *float64 `json:"min_relative_change,omitempty"`
	// MaxRegression (>= 0) allows the candidate to be at most this much worse
	// than the benchmark: b - c <= X (HigherIsBetter) or c - b <= X.
	MaxRegression *float64 `json:"max_regression,omitempty"`
	// MaxRelativeRegression (>= 0) allows the candidate to be at most this
	// fraction of |b| worse than the benchmark (0.05 = 5 %).
	MaxRelativeRegression *float64 `json:"max_relative_regression,omitempty"`
	// Severity sets the severity per kind of check.
	Severity Severities `json:"severity,omitzero"`
	// Missing says how a metric missing from the candidate or benchmark is judged.
	Missing MissingPolicy `json:"missing,omitzero"`
}

// needsBaseline reports whether the rule compares against the benchmark.
func (r MetricRule) needsBaseline() bool {
	return r.MinAbsoluteChange != nil || r.MinRelativeChange != nil || r.MaxRegression != nil || r.MaxRelativeRegression != nil
}

// ErrInvalidRule is matched (errors.Is) by every error about an invalid rule or
// rules file, including *RuleError.
var ErrInvalidRule = errors.New("evaluate: invalid rule")

// Validate reports the first problem with the rule as a *RuleError whose Field is
// relative to the rule (e.g. "min_relative_change"); File and Line are empty.
// The rules are MLflow's MetricThreshold constructor rules, made stricter:
// direction is required; at least one limit must be set; limits are finite;
// min_absolute_change > 0; min_relative_change in [0, 1]; max_regression >= 0;
// max_relative_regression >= 0; severities are warning or critical.
func (r MetricRule) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &RuleError{Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	if r.Metric == "" {
		return bad("metric", "metric name is empty")
	}
	switch r.Direction {
	case HigherIsBetter, LowerIsBetter:
	case "":
		return bad("direction", "direction is required (higher_is_better or lower_is_better)")
	default:
		return bad("direction", "must be higher_is_better or lower_is_better, not %q", string(r.Direction))
	}
	if r.Threshold == nil && !r.needsBaseline() {
		return bad("threshold", "no limit set: give at least one of threshold, min_absolute_change, min_relative_change, max_regression, max_relative_regression")
	}
	for _, l := range []struct {
		field string
		v     *float64
	}{
		{"threshold", r.Threshold},
		{"min_absolute_change", r.MinAbsoluteChange},
		{"min_relative_change", r.MinRelativeChange},
		{"max_regression", r.MaxRegression},
		{"max_relative_regression", r.MaxRelativeRegression},
	} {
		if l.v != nil && (math.IsNaN(*l.v) || math.IsInf(*l.v, 0)) {
			return bad(l.field, "must be a finite number, not %v", *l.v)
		}
	}
	if v := r.MinAbsoluteChange; v != nil && !(*v > 0) {
		return bad("min_absolute_change", "must be > 0 (it is a required improvement), not %v", *v)
	}
	if v := r.MinRelativeChange; v != nil && !(*v >= 0 && *v <= 1) {
		return bad("min_relative_change", "must be between 0 and 1 (a fraction: 0.05 = 5%%), not %v", *v)
	}
	if v := r.MaxRegression; v != nil && !(*v >= 0) {
		return bad("max_regression", "must be >= 0 (an allowed deterioration), not %v", *v)
	}
	if v := r.MaxRelativeRegression; v != nil && !(*v >= 0) {
		return bad("max_relative_regression", "must be >= 0 (a fraction: 0.05 = 5%%), not %v", *v)
	}
	for _, s := range []struct {
		field string
		v     Severity
	}{
		{"severity.threshold", r.Severity.Threshold},
		{"severity.min_change", r.Severity.MinChange},
		{"severity.max_regression", r.Severity.MaxRegression},
		{"missing.candidate", r.Missing.Candidate},
		{"missing.baseline_severity", r.Missing.BaselineSeverity},
	} {
		if s.v != "" && !s.v.valid() {
			return bad(s.field, "must be warning or critical, not %q", string(s.v))
		}
	}
	switch r.Missing.Baseline {
	case "", BaselineBreach, BaselineIgnore:
	default:
		return bad("missing.baseline", "must be breach or ignore, not %q", string(r.Missing.Baseline))
	}
	return nil
}

// RuleError is an invalid rule or rules file. File, Line and Column locate the
// offending value when known (Line and Column are 1-based, 0 when unknown); Field
// is its dotted path ("groups.churn.metrics.auc.direction"). It matches
// ErrInvalidRule with errors.Is.
type RuleError struct {
	File   string
	Line   int
	Column int
	Field  string
	Msg    string
}

// Error implements error: "evaluate: churn.yaml:12:7: metrics.auc.direction: <msg>".
func (e *RuleError) Error() string {
	loc := e.File
	if e.Line > 0 {
		if loc == "" {
			loc = "line"
		}
		loc += fmt.Sprintf(":%d", e.Line)
		if e.Column > 0 {
			loc += fmt.Sprintf(":%d", e.Column)
		}
	}
	s := "evaluate: "
	if loc != "" {
		s += loc + ": "
	}
	if e.Field != "" {
		s += e.Field + ": "
	}
	return s + e.Msg
}

// Is makes errors.Is(err, ErrInvalidRule) true.
func (e *RuleError) Is(target error) bool { return target == ErrInvalidRule }
