package evaluate

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// CheckKind names what a Check verified. It is one of the CheckKind constants.
type CheckKind string

// The kinds of check an evaluation produces.
const (
	// KindThreshold is a hard limit on the candidate value ("auc must be at least 0.70").
	KindThreshold CheckKind = "threshold"
	// KindMinChange is a required improvement over the benchmark, with MLflow's
	// MetricThreshold min_absolute_change / min_relative_change meaning.
	KindMinChange CheckKind = "min_change"
	// KindMaxRegression is the largest allowed deterioration against the benchmark
	// ("at most 0.02, or 5 %, worse than the benchmark").
	KindMaxRegression CheckKind = "max_regression"
	// KindMissing reports a metric absent from the candidate (or NaN), or absent
	// from the benchmark when the rule needs it.
	KindMissing CheckKind = "missing"
	// KindDrift is a feature or prediction distribution check (see DriftChecks).
	KindDrift CheckKind = "drift"
)

// Severity says how bad a failed check is. Its zero value is invalid in rules;
// SeverityNone is only used as the result of Report.Worst when nothing failed.
type Severity string

// The severities, from least to most severe.
const (
	SeverityNone     Severity = "none"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// rank orders severities; unknown values rank like warnings so they are never lost.
func (s Severity) rank() int {
	switch s {
	case SeverityNone, "":
		return 0
	case SeverityCritical:
		return 2
	default:
		return 1
	}
}

// valid reports whether s may appear in a rule.
func (s Severity) valid() bool { return s == SeverityWarning || s == SeverityCritical }

// Float is a float64 whose JSON form survives NaN and ±Inf, which encoding/json
// refuses. Finite values encode as JSON numbers; NaN, +Inf and -Inf encode as the
// strings "NaN", "Infinity" and "-Infinity" (the spelling MLflow's REST API uses).
// Decoding accepts both forms. Check fields that do not apply are nil pointers and
// are omitted from the JSON.
type Float float64

// F returns a pointer to v as a Float, for building Checks.
func F(v float64) *Float { f := Float(v); return &f }

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("evaluate: float: %w", err)
		}
		switch s {
		case "NaN":
			*f = Float(math.NaN())
		case "Infinity", "+Infinity", "Inf", "+Inf":
			*f = Float(math.Inf(1))
		case "-Infinity", "-Inf":
			*f = Float(math.Inf(-1))
		default:
			return fmt.Errorf("evaluate: float: invalid string %q", s)
		}
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("evaluate: float: %w", err)
	}
	*f = Float(v)
	return nil
}

// Check is the result of one check: one rule applied to one metric, or one drift
// test on one feature. It is plain data; Message is a sentence for the person on
// call. Observed, Limit and Baseline are nil when they do not apply (a missing
// metric has no observed value; a threshold check has no baseline).
type Check struct {
	// Kind says what was checked.
	Kind CheckKind `json:"kind"`
	// Metric is the metric name (metric checks).
	Metric string `json:"metric,omitempty"`
	// Feature is the feature or prediction column (drift checks).
	Feature string `json:"feature,omitempty"`
	// Segment names the slice the check ran on (e.g. "country=DE"), if any.
	Segment string `json:"segment,omitempty"`
	// Observed is the candidate value, or the drift score.
	Observed *Float `json:"observed,omitempty"`
	// Limit is the limit the check applied, in the unit of Observed for
	// threshold and drift checks, and as a difference (or a fraction for
	// relative checks, see Relative) for change and regression checks.
	Limit *Float `json:"limit,omitempty"`
	// Relative is true when Limit is a fraction of the baseline (0.05 = 5 %).
	Relative bool `json:"relative,omitempty"`
	// Baseline is the benchmark's value of the metric.
	Baseline *Float `json:"baseline,omitempty"`
	// BaselineSource says where Baseline came from, e.g.
	// "run abc, latest FINISHED in 'churn-benchmarks'".
	BaselineSource string `json:"baseline_source,omitempty"`
	// Method names the comparison ("c >= t", "psi", "ks", ...).
	Method string `json:"method,omitempty"`
	// Passed is true when the check held.
	Passed bool `json:"passed"`
	// Severity is the severity of the check when it fails (it is reported on
	// passed checks too, so a reader sees what a failure would have meant).
	Severity Severity `json:"severity"`
	// Message explains the result in one sentence.
	Message string `json:"message"`
}

// Subject returns the metric name, or the feature name of a drift check.
func (c Check) Subject() string {
	if c.Metric != "" {
		return c.Metric
	}
	return c.Feature
}

// Report is the outcome of one evaluation: every check that ran, passed or not.
// A Report is plain data and not safe for concurrent mutation.
type Report struct {
	// Model, ModelGroup and Country identify what was evaluated.
	Model      string `json:"model,omitempty"`
	ModelGroup string `json:"model_group,omitempty"`
	Country    string `json:"country,omitempty"`
	// RunID is the candidate run.
	RunID string `json:"run_id,omitempty"`
	// Benchmark says which benchmark was used, how it was chosen and why; nil
	// when no benchmark was used.
	Benchmark *BaselineSource `json:"benchmark,omitempty"`
	// Checks holds every check in rule order.
	Checks []Check `json:"checks"`
}

// Passed reports whether no check failed.
func (r *Report) Passed() bool {
	for i := range r.Checks {
		if !r.Checks[i].Passed {
			return false
		}
	}
	return true
}

// Breaches returns the failed checks, in order. The result is a new slice.
func (r *Report) Breaches() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.Passed {
			out = append(out, c)
		}
	}
	return out
}

// Worst returns the highest severity among failed checks, or SeverityNone.
func (r *Report) Worst() Severity {
	w := SeverityNone
	for _, c := range r.Checks {
		if !c.Passed && c.Severity.rank() > w.rank() {
			w = c.Severity
		}
	}
	return w
}

// Status returns "passed", "warning" or "critical": the value mlwatch writes to
// the run tag mlwatch.eval.status.
func (r *Report) Status() string { return statusOf(r.Worst()) }

// Count returns how many checks failed with severity s.
func (r *Report) Count(s Severity) int {
	n := 0
	for _, c := range r.Checks {
		if !c.Passed && c.Severity == s {
			n++
		}
	}
	return n
}

func statusOf(s Severity) string {
	switch s.rank() {
	case 0:
		return StatusPassed
	case 2:
		return string(SeverityCritical)
	default:
		return string(SeverityWarning)
	}
}

// The values of the mlwatch.eval.* status tags.
const (
	StatusPassed   = "passed"
	StatusWarning  = "warning"
	StatusCritical = "critical"
)

// reportJSON is Report plus the derived fields, so the JSON is self-describing.
type reportJSON struct {
	Status   string `json:"status"`
	Passed   bool   `json:"passed"`
	Critical int    `json:"critical"`
	Warning  int    `json:"warning"`
	reportAlias
}

type reportAlias Report

// MarshalJSON implements json.Marshaler. Besides the fields of Report it writes
// the derived "status" (passed|warning|critical), "passed", and the number of
// "critical" and "warning" breaches at the top level, which is what a SageMaker
// ConditionStep reads through a PropertyFile.
func (r Report) MarshalJSON() ([]byte, error) {
	a := reportAlias(r)
	if a.Checks == nil {
		a.Checks = []Check{}
	}
	return json.Marshal(reportJSON{
		Status:      r.Status(),
		Passed:      r.Passed(),
		Critical:    r.Count(SeverityCritical),
		Warning:     r.Count(SeverityWarning),
		reportAlias: a,
	})
}

// UnmarshalJSON implements json.Unmarshaler; the derived fields are ignored.
func (r *Report) UnmarshalJSON(b []byte) error {
	var v reportJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("evaluate: report: %w", err)
	}
	*r = Report(v.reportAlias)
	return nil
}
