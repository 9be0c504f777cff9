package evaluate

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func p(v float64) *float64 { return &v }

// brief is the part of a Check the table tests compare.
type brief struct {
	Kind     CheckKind
	Passed   bool
	Severity Severity
}

func briefs(r Report) []brief {
	out := []brief{}
	for _, c := range r.Checks {
		out = append(out, brief{c.Kind, c.Passed, c.Severity})
	}
	return out
}

func TestEvaluateRules(t *testing.T) {
	t.Parallel()
	hib, lib := HigherIsBetter, LowerIsBetter
	tests := []struct {
		name      string
		rule      MetricRule
		candidate Metrics
		baseline  Metrics
		want      []brief
	}{
		{
			name:      "float trap: 0.85 vs 0.8 with min change 0.05 passes",
			rule:      MetricRule{Metric: "m", Direction: hib, MinAbsoluteChange: p(0.05)},
			candidate: Metrics{"m": 0.85}, baseline: Metrics{"m": 0.8},
			want: []brief{{KindMinChange, true, SeverityWarning}},
		},
		{
			name:      "float trap, lower is better",
			rule:      MetricRule{Metric: "m", Direction: lib, MinAbsoluteChange: p(0.05)},
			candidate: Metrics{"m": 0.8}, baseline: Metrics{"m": 0.85},
			want: []brief{{KindMinChange, true, SeverityWarning}},
		},
		{
			name:      "a real shortfall still fails",
			rule:      MetricRule{Metric: "m", Direction: hib, MinAbsoluteChange: p(0.05)},
			candidate: Metrics{"m": 0.8499999}, baseline: Metrics{"m": 0.8},
			want: []brief{{KindMinChange, false, SeverityWarning}},
		},
		{
			name:      "threshold equality passes",
			rule:      MetricRule{Metric: "m", Direction: hib, Threshold: p(0.7)},
			candidate: Metrics{"m": 0.7},
			want:      []brief{{KindThreshold, true, SeverityCritical}},
		},
		{
			name:      "threshold lower is better fails above",
			rule:      MetricRule{Metric: "m", Direction: lib, Threshold: p(0.5)},
			candidate: Metrics{"m": 0.51},
			want:      []brief{{KindThreshold, false, SeverityCritical}},
		},
		{
			name:      "negative baseline: improvement is not read as a regression",
			rule:      MetricRule{Metric: "m", Direction: hib, MinRelativeChange: p(0.4)},
			candidate: Metrics{"m": -1}, baseline: Metrics{"m": -2},
			want: []brief{{KindMinChange, true, SeverityWarning}},
		},
		{
			name:      "negative baseline: deterioration is a regression",
			rule:      MetricRule{Metric: "m", Direction: hib, MaxRelativeRegression: p(0.25)},
			candidate: Metrics{"m": -3}, baseline: Metrics{"m": -2},
			want: []brief{{KindMaxRegression, false, SeverityCritical}},
		},
		{
			name:      "negative baseline: small deterioration within relative limit",
			rule:      MetricRule{Metric: "m", Direction: hib, MaxRelativeRegression: p(0.25)},
			candidate: Metrics{"m": -2.4}, baseline: Metrics{"m": -2},
			want: []brief{{KindMaxRegression, true, SeverityCritical}},
		},
		{
			name:      "max regression: exactly at the limit passes despite rounding",
			rule:      MetricRule{Metric: "m", Direction: hib, MaxRegression: p(0.02)},
			candidate: Metrics{"m": 0.74}, baseline: Metrics{"m": 0.76},
			want: []brief{{KindMaxRegression, true, SeverityCritical}},
		},
		{
			name:      "max regression: beyond the limit fails",
			rule:      MetricRule{Metric: "m", Direction: lib, MaxRegression: p(0.02)},
			candidate: Metrics{"m": 0.33}, baseline: Metrics{"m": 0.3},
			want: []brief{{KindMaxRegression, false, SeverityCritical}},
		},
		{
			name:      "zero baseline, relative min change with absolute set: absolute decides",
			rule:      MetricRule{Metric: "m", Direction: hib, MinAbsoluteChange: p(0.1), MinRelativeChange: p(0.1)},
			candidate: Metrics{"m": 0.05}, baseline: Metrics{"m": 0},
			want: []brief{{KindMinChange, false, SeverityWarning}, {KindMinChange, true, SeverityWarning}},
		},
		{
			name:      "zero baseline, relative min change alone: strict improvement passes",
			rule:      MetricRule{Metric: "m", Direction: hib, MinRelativeChange: p(0.1)},
			candidate: Metrics{"m": 0.05}, baseline: Metrics{"m": 0},
			want: []brief{{KindMinChange, true, SeverityWarning}},
		},
		{
			name:      "zero baseline, relative min change alone: no change fails",
			rule:      MetricRule{Metric: "m", Direction: hib, MinRelativeChange: p(0.1)},
			candidate: Metrics{"m": 0}, baseline: Metrics{"m": 0},
			want: []brief{{KindMinChange, false, SeverityWarning}},
		},
		{
			name:      "zero baseline, relative min change 0: no change passes",
			rule:      MetricRule{Metric: "m", Direction: hib, MinRelativeChange: p(0)},
			candidate: Metrics{"m": 0}, baseline: Metrics{"m": 0},
			want: []brief{{KindMinChange, true, SeverityWarning}},
		},
		{
			name:      "zero baseline, relative regression alone: any deterioration fails",
			rule:      MetricRule{Metric: "m", Direction: lib, MaxRelativeRegression: p(0.5)},
			candidate: Metrics{"m": 0.001}, baseline: Metrics{"m": 0},
			want: []brief{{KindMaxRegression, false, SeverityCritical}},
		},
		{
			name:      "zero baseline, relative regression with absolute set",
			rule:      MetricRule{Metric: "m", Direction: lib, MaxRegression: p(0.01), MaxRelativeRegression: p(0.5)},
			candidate: Metrics{"m": 0.001}, baseline: Metrics{"m": 0},
			want: []brief{{KindMaxRegression, true, SeverityCritical}, {KindMaxRegression, true, SeverityCritical}},
		},
		{
			name:      "missing candidate: one breach, other checks skipped",
			rule:      MetricRule{Metric: "m", Direction: hib, Threshold: p(0.5), MaxRegression: p(0.1)},
			candidate: Metrics{"other": 1}, baseline: Metrics{"m": 0.8},
			want: []brief{{KindMissing, false, SeverityCritical}},
		},
		{
			name:      "NaN candidate is a breach with the candidate severity",
			rule:      MetricRule{Metric: "m", Direction: hib, Threshold: p(0.5), Missing: MissingPolicy{Candidate: SeverityWarning}},
			candidate: Metrics{"m": math.NaN()},
			want:      []brief{{KindMissing, false, SeverityWarning}},
		},
		{
			name:      "baseline lacks the metric: breach, threshold still checked",
			rule:      MetricRule{Metric: "m", Direction: hib, Threshold: p(0.5), MaxRegression: p(0.1)},
			candidate: Metrics{"m": 0.6}, baseline: Metrics{"other": 0.8},
			want: []brief{{KindThreshold, true, SeverityCritical}, {KindMissing, false, SeverityWarning}},
		},
		{
			name:      "baseline lacks the metric: ignored by policy",
			rule:      MetricRule{Metric: "m", Direction: hib, MaxRegression: p(0.1), Missing: MissingPolicy{Baseline: BaselineIgnore}},
			candidate: Metrics{"m": 0.6}, baseline: Metrics{"other": 0.8},
			want: []brief{{KindMissing, true, SeverityWarning}},
		},
		{
			name:      "no baseline at all",
			rule:      MetricRule{Metric: "m", Direction: hib, MinRelativeChange: p(0.1), Missing: MissingPolicy{BaselineSeverity: SeverityCritical}},
			candidate: Metrics{"m": 0.6},
			want:      []brief{{KindMissing, false, SeverityCritical}},
		},
		{
			name:      "NaN baseline counts as missing",
			rule:      MetricRule{Metric: "m", Direction: hib, MaxRegression: p(0.1)},
			candidate: Metrics{"m": 0.6}, baseline: Metrics{"m": math.NaN()},
			want: []brief{{KindMissing, false, SeverityWarning}},
		},
		{
			name:      "MaxFloat64 from the SQL store is +Inf and passes a floor",
			rule:      MetricRule{Metric: "m", Direction: hib, Threshold: p(1e300), MaxRegression: p(0)},
			candidate: Metrics{"m": math.MaxFloat64}, baseline: Metrics{"m": math.MaxFloat64},
			want: []brief{{KindThreshold, true, SeverityCritical}, {KindMaxRegression, true, SeverityCritical}},
		},
		{
			name:      "-MaxFloat64 candidate against a finite baseline is an infinite regression",
			rule:      MetricRule{Metric: "m", Direction: hib, MaxRegression: p(1)},
			candidate: Metrics{"m": -math.MaxFloat64}, baseline: Metrics{"m": 0.5},
			want: []brief{{KindMaxRegression, false, SeverityCritical}},
		},
		{
			name: "severity per kind",
			rule: MetricRule{Metric: "m", Direction: hib, Threshold: p(0.9), MinAbsoluteChange: p(0.1), MaxRegression: p(0),
				Severity: Severities{Threshold: SeverityWarning, MinChange: SeverityCritical, MaxRegression: SeverityWarning}},
			candidate: Metrics{"m": 0.5}, baseline: Metrics{"m": 0.6},
			want: []brief{{KindThreshold, false, SeverityWarning}, {KindMinChange, false, SeverityCritical}, {KindMaxRegression, false, SeverityWarning}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := tt.rule.Validate(); err != nil {
				t.Fatalf("rule invalid: %v", err)
			}
			got := Evaluate(tt.candidate, tt.baseline, RuleSet{Rules: []MetricRule{tt.rule}})
			if diff := cmp.Diff(tt.want, briefs(got)); diff != "" {
				t.Errorf("checks (-want +got):\n%s\nmessages: %v", diff, messages(got))
			}
			for _, c := range got.Checks {
				if c.Message == "" || c.Metric != "m" {
					t.Errorf("check without message or metric: %+v", c)
				}
			}
		})
	}
}

func messages(r Report) []string {
	var out []string
	for _, c := range r.Checks {
		out = append(out, c.Message)
	}
	return out
}

func TestEvaluateCollectsEveryBreach(t *testing.T) {
	t.Parallel()
	rules := RuleSet{Group: "churn", Model: "churn-xgb", Country: "DE", Rules: []MetricRule{
		{Metric: "auc", Direction: HigherIsBetter, Threshold: p(0.7), MaxRegression: p(0.02)},
		{Metric: "log_loss", Direction: LowerIsBetter, Threshold: p(0.5), Severity: Severities{Threshold: SeverityWarning}},
		{Metric: "recall", Direction: HigherIsBetter, Threshold: p(0.1)},
		{Metric: "precision", Direction: HigherIsBetter, Threshold: p(0.1)},
	}}
	cand := Metrics{"auc": 0.71, "log_loss": 0.6, "precision": 0.2}
	base := Metrics{"auc": 0.76}
	got := Evaluate(cand, base, rules)
	if len(got.Checks) != 5 {
		t.Fatalf("got %d checks, want 5: %v", len(got.Checks), messages(got))
	}
	if n := len(got.Breaches()); n != 3 {
		t.Errorf("Breaches() = %d, want 3", n)
	}
	if got.Worst() != SeverityCritical || got.Status() != StatusCritical || got.Passed() {
		t.Errorf("Worst/Status/Passed = %v/%v/%v", got.Worst(), got.Status(), got.Passed())
	}
	if got.Count(SeverityCritical) != 2 || got.Count(SeverityWarning) != 1 {
		t.Errorf("counts critical=%d warning=%d", got.Count(SeverityCritical), got.Count(SeverityWarning))
	}
	if got.Model != "churn-xgb" || got.ModelGroup != "churn" || got.Country != "DE" {
		t.Errorf("identity not copied: %+v", got)
	}
	if cand["auc"] != 0.71 || len(cand) != 3 || len(base) != 1 {
		t.Error("inputs modified")
	}
}

func TestEvaluateMessage(t *testing.T) {
	t.Parallel()
	rules := RuleSet{Rules: []MetricRule{{Metric: "auc", Direction: HigherIsBetter, MaxRegression: p(0.02)}}}
	bench := &Benchmark{Metrics: Metrics{"auc": 0.76}, Source: BaselineSource{Kind: SourceLatestFinished, RunID: "abc", Experiment: "churn-benchmarks"}}
	got := EvaluateAgainst(Metrics{"auc": 0.71}, bench, rules)
	want := "auc 0.71 is 0.05 (6.58%) below the benchmark 0.76 (run abc, latest FINISHED in 'churn-benchmarks'); at most 0.02 allowed"
	if got.Checks[0].Message != want {
		t.Errorf("message\n got %q\nwant %q", got.Checks[0].Message, want)
	}
	if got.Benchmark == nil || got.Benchmark.RunID != "abc" || got.Checks[0].BaselineSource != "run abc, latest FINISHED in 'churn-benchmarks'" {
		t.Errorf("benchmark not recorded: %+v %+v", got.Benchmark, got.Checks[0])
	}
	passing := EvaluateAgainst(Metrics{"auc": 0.8}, bench, rules)
	if m := passing.Checks[0].Message; !strings.Contains(m, "above the benchmark") || !strings.Contains(m, "no regression") {
		t.Errorf("passing message %q", m)
	}
}

func TestEvaluateEmpty(t *testing.T) {
	t.Parallel()
	got := Evaluate(nil, nil, RuleSet{})
	if !got.Passed() || got.Status() != StatusPassed || got.Worst() != SeverityNone || got.Checks == nil || got.Benchmark != nil {
		t.Errorf("empty evaluation: %+v", got)
	}
}

func FuzzEvaluate(f *testing.F) {
	f.Add(0.85, 0.8, 0.05, 0.1, true)
	f.Add(-1.0, -2.0, 0.5, 0.0, false)
	f.Add(0.0, 0.0, 1.0, 1.0, true)
	f.Add(math.NaN(), math.Inf(1), 0.1, 0.2, false)
	f.Add(math.MaxFloat64, -math.MaxFloat64, 5e-324, 1.0, true)
	f.Fuzz(func(t *testing.T, c, b, abs, rel float64, higher bool) {
		dir := LowerIsBetter
		if higher {
			dir = HigherIsBetter
		}
		r := MetricRule{Metric: "m", Direction: dir, Threshold: p(abs), MinAbsoluteChange: p(math.Abs(abs) + 1e-9),
			MinRelativeChange: p(math.Mod(math.Abs(rel), 1)), MaxRegression: p(math.Abs(abs)), MaxRelativeRegression: p(math.Abs(rel))}
		if r.Validate() != nil {
			return
		}
		rep := Evaluate(Metrics{"m": c}, Metrics{"m": b}, RuleSet{Rules: []MetricRule{r}})
		if len(rep.Checks) == 0 {
			t.Fatal("no checks")
		}
		for _, ck := range rep.Checks {
			if ck.Message == "" || !ck.Severity.valid() {
				t.Fatalf("bad check %+v", ck)
			}
		}
		if _, err := rep.MarshalJSON(); err != nil {
			t.Fatal(err)
		}
	})
}
