package evaluate

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFloatJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v    float64
		json string
	}{
		{0.71, `0.71`},
		{-2, `-2`},
		{1e-300, `1e-300`},
		{math.NaN(), `"NaN"`},
		{math.Inf(1), `"Infinity"`},
		{math.Inf(-1), `"-Infinity"`},
	}
	for _, tt := range tests {
		t.Run(tt.json, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(Float(tt.v))
			if err != nil || string(b) != tt.json {
				t.Fatalf("Marshal(%v) = %s, %v; want %s", tt.v, b, err, tt.json)
			}
			var back Float
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if got := float64(back); got != tt.v && !(math.IsNaN(got) && math.IsNaN(tt.v)) {
				t.Errorf("round trip %v -> %v", tt.v, got)
			}
		})
	}
	var f Float
	for _, bad := range []string{`"nan"`, `true`, `"1.5"`} {
		if err := json.Unmarshal([]byte(bad), &f); err == nil {
			t.Errorf("Unmarshal(%s) accepted", bad)
		}
	}
}

func TestReportJSON(t *testing.T) {
	t.Parallel()
	rules := RuleSet{Group: "churn", Model: "churn-xgb", Country: "DE", Rules: []MetricRule{
		{Metric: "auc", Direction: HigherIsBetter, Threshold: p(0.7), MaxRegression: p(0.02)},
		{Metric: "loss", Direction: LowerIsBetter, Threshold: p(1), Severity: Severities{Threshold: SeverityWarning}},
	}}
	bench := &Benchmark{Metrics: Metrics{"auc": math.NaN()}, Source: BaselineSource{Kind: SourceRun, RunID: "b1", Reason: "given"}}
	rep := EvaluateAgainst(Metrics{"auc": 0.6, "loss": math.Inf(1)}, bench, rules)
	rep.RunID = "c1"
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]any
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"status": "critical", "passed": false, "critical": 1.0, "warning": 2.0, "run_id": "c1", "model": "churn-xgb"} {
		if !cmp.Equal(top[k], want) {
			t.Errorf("%s = %v, want %v", k, top[k], want)
		}
	}
	if !strings.Contains(string(b), `"observed":"Infinity"`) {
		t.Errorf("infinite observed value not encoded as a string: %s", b)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	opt := cmp.Comparer(func(a, b Float) bool { return a == b || (math.IsNaN(float64(a)) && math.IsNaN(float64(b))) })
	if diff := cmp.Diff(rep, back, opt); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestRuleValidate(t *testing.T) {
	t.Parallel()
	ok := MetricRule{Metric: "m", Direction: HigherIsBetter, Threshold: p(1)}
	tests := []struct {
		name  string
		edit  func(*MetricRule)
		field string
	}{
		{"valid", func(*MetricRule) {}, ""},
		{"no metric", func(r *MetricRule) { r.Metric = "" }, "metric"},
		{"no direction", func(r *MetricRule) { r.Direction = "" }, "direction"},
		{"bad direction", func(r *MetricRule) { r.Direction = "up" }, "direction"},
		{"no limit", func(r *MetricRule) { r.Threshold = nil }, "threshold"},
		{"NaN threshold", func(r *MetricRule) { r.Threshold = p(math.NaN()) }, "threshold"},
		{"zero min absolute change", func(r *MetricRule) { r.MinAbsoluteChange = p(0) }, "min_absolute_change"},
		{"min relative change above 1", func(r *MetricRule) { r.MinRelativeChange = p(1.5) }, "min_relative_change"},
		{"negative min relative change", func(r *MetricRule) { r.MinRelativeChange = p(-0.1) }, "min_relative_change"},
		{"min relative change 0 is a limit", func(r *MetricRule) { r.Threshold = nil; r.MinRelativeChange = p(0) }, ""},
		{"negative max regression", func(r *MetricRule) { r.MaxRegression = p(-1) }, "max_regression"},
		{"negative max relative regression", func(r *MetricRule) { r.MaxRelativeRegression = p(-1) }, "max_relative_regression"},
		{"infinite max regression", func(r *MetricRule) { r.MaxRegression = p(math.Inf(1)) }, "max_regression"},
		{"bad severity", func(r *MetricRule) { r.Severity.MinChange = "fatal" }, "severity.min_change"},
		{"bad missing severity", func(r *MetricRule) { r.Missing.Candidate = "none" }, "missing.candidate"},
		{"bad baseline policy", func(r *MetricRule) { r.Missing.Baseline = "skip" }, "missing.baseline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := ok
			tt.edit(&r)
			err := r.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			re, isRE := err.(*RuleError)
			if !isRE || re.Field != tt.field {
				t.Fatalf("Validate() = %v, want a *RuleError on %s", err, tt.field)
			}
		})
	}
	dup := RuleSet{Rules: []MetricRule{ok, ok}}
	if err := dup.Validate(); err == nil || !strings.Contains(err.Error(), "more than one rule") {
		t.Errorf("duplicate metric: %v", err)
	}
}

func FuzzReportJSON(f *testing.F) {
	seed, _ := json.Marshal(sampleReport())
	f.Add(string(seed))
	f.Add(`{"checks":[{"kind":"threshold","observed":"NaN","limit":"-Infinity","passed":false,"severity":"critical","message":"x"}]}`)
	f.Add(`{"checks":null,"benchmark":{"kind":"rolling_median","run_ids":["a","b"],"reason":"r"}}`)
	f.Add(`{"checks":[{"observed":1e400}]}`)
	f.Fuzz(func(t *testing.T, data string) {
		var r Report
		if err := json.Unmarshal([]byte(data), &r); err != nil {
			return
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		var back Report
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("decode own output %s: %v", b, err)
		}
		b2, err := json.Marshal(back)
		if err != nil || string(b2) != string(b) {
			t.Fatalf("not stable:\n%s\n%s", b, b2)
		}
	})
}

// BenchmarkEvaluate400x20 is the in-process part of the scale target: 400
// candidate runs with 20 metrics, 3 checks each, against their benchmarks.
func BenchmarkEvaluate400x20(b *testing.B) {
	rs := RuleSet{}
	cands, bases := make([]Metrics, 400), make([]Metrics, 400)
	for k := range 20 {
		rs.Rules = append(rs.Rules, MetricRule{Metric: fmt.Sprintf("m%02d", k), Direction: HigherIsBetter, Threshold: p(0.5), MaxRegression: p(0.02), MaxRelativeRegression: p(0.05)})
	}
	for i := range cands {
		cands[i], bases[i] = Metrics{}, Metrics{}
		for k := range 20 {
			m := fmt.Sprintf("m%02d", k)
			cands[i][m], bases[i][m] = 0.8+float64(i%7)/100, 0.8+float64(k%5)/100
		}
	}
	bench := &Benchmark{Source: BaselineSource{Kind: SourceRun, RunID: "r"}}
	b.ReportAllocs()
	for b.Loop() {
		for i := range cands {
			bench.Metrics = bases[i]
			_ = EvaluateAgainst(cands[i], bench, rs)
		}
	}
}
