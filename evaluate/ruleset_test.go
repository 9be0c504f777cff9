package evaluate

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadRulesFileExamples(t *testing.T) {
	t.Parallel()
	churn, err := LoadRulesFile("../testdata/rules/churn.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fraud, err := LoadRulesFile("../testdata/rules/fraud.json")
	if err != nil {
		t.Fatal(err)
	}
	latestChurn := func(model, country string) *BenchmarkSpec {
		return &BenchmarkSpec{Kind: SourceLatestFinished, Experiment: "churn-benchmarks",
			Filter: "tags.model = '" + model + "' and tags.country = '" + country + "'"}
	}
	drift := &DriftSettings{Method: "auto", ShareThreshold: p(0.5), Severity: SeverityWarning, DatasetSeverity: SeverityCritical}
	missing := MissingPolicy{Candidate: SeverityCritical, Baseline: BaselineBreach, BaselineSeverity: SeverityWarning}
	auc := MetricRule{Metric: "auc", Direction: HigherIsBetter, Threshold: p(0.70), MaxRegression: p(0.02), MaxRelativeRegression: p(0.05),
		Severity: Severities{Threshold: SeverityCritical, MaxRegression: SeverityCritical}, Missing: missing}
	logLoss := MetricRule{Metric: "log_loss", Direction: LowerIsBetter, Threshold: p(0.60), MaxRelativeRegression: p(0.10),
		Severity: Severities{Threshold: SeverityWarning, MinChange: SeverityWarning, MaxRegression: SeverityWarning}, Missing: missing}
	precision := MetricRule{Metric: "precision", Direction: HigherIsBetter, Threshold: p(0.5),
		Missing: MissingPolicy{Candidate: SeverityCritical, Baseline: BaselineIgnore, BaselineSeverity: SeverityWarning}}
	recall := MetricRule{Metric: "recall_at_10", Direction: HigherIsBetter, MinRelativeChange: p(0.01), Missing: missing}
	with := func(r MetricRule, f func(*MetricRule)) MetricRule { f(&r); return r }

	tests := []struct {
		name           string
		file           *RulesFile
		model, country string
		want           RuleSet
	}{
		{"group defaults", churn, "", "", RuleSet{Group: "churn",
			Rules: []MetricRule{auc, logLoss, precision}, Benchmark: latestChurn("", ""), Drift: drift}},
		{"unknown model uses group defaults", churn, "churn-nn", "IT", RuleSet{Group: "churn", Model: "churn-nn", Country: "IT",
			Rules: []MetricRule{auc, logLoss, precision}, Benchmark: latestChurn("churn-nn", "IT"), Drift: drift}},
		{"model override", churn, "churn-xgb", "", RuleSet{Group: "churn", Model: "churn-xgb",
			Rules:     []MetricRule{with(auc, func(r *MetricRule) { r.Threshold = p(0.72) }), logLoss, precision},
			Benchmark: latestChurn("churn-xgb", ""), Drift: drift}},
		{"country override and drift removed", churn, "churn-lr", "FR", RuleSet{Group: "churn", Model: "churn-lr", Country: "FR",
			Rules:     []MetricRule{auc, logLoss, precision},
			Benchmark: &BenchmarkSpec{Kind: SourceChampion, RegisteredModel: "churn-lr-FR", Alias: "champion"}}},
		{"model < country < model+country", churn, "churn-xgb", "DE", RuleSet{Group: "churn", Model: "churn-xgb", Country: "DE",
			Rules: []MetricRule{
				with(auc, func(r *MetricRule) { r.Threshold = p(0.72); r.MaxRegression = p(0.01) }),
				with(logLoss, func(r *MetricRule) { r.Threshold = p(0.55) }),
				recall, precision},
			Benchmark: latestChurn("churn-xgb", "DE"), Drift: drift}},
		{"json: rolling median, country override", fraud, "fraud-lr", "ES", RuleSet{Group: "fraud", Model: "fraud-lr", Country: "ES",
			Rules: []MetricRule{
				{Metric: "pr_auc", Direction: HigherIsBetter, Threshold: p(0.4), MaxRelativeRegression: p(0.1), MinRelativeChange: p(0),
					Severity: Severities{Threshold: SeverityCritical, MaxRegression: SeverityWarning, MinChange: SeverityWarning}},
				{Metric: "false_positive_rate", Direction: LowerIsBetter, Threshold: p(0.03), MaxRegression: p(0.005), Missing: MissingPolicy{Candidate: SeverityWarning}},
			},
			Benchmark: &BenchmarkSpec{Kind: SourceRollingMedian, Experiment: "fraud-ES", Filter: "tags.model = 'fraud-lr'", LastN: 7}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.file.Resolve(tt.model, tt.country)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Resolve(%q, %q) (-want +got):\n%s", tt.model, tt.country, diff)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("resolved set invalid: %v", err)
			}
		})
	}
	if got, want := churn.Models(), []string{"churn-lr", "churn-xgb"}; !cmp.Equal(got, want) {
		t.Errorf("Models() = %v", got)
	}
	if got, want := churn.Countries(), []string{"DE", "FR"}; !cmp.Equal(got, want) {
		t.Errorf("Countries() = %v", got)
	}
	if churn.Group() != "churn" || fraud.File() != "../testdata/rules/fraud.json" {
		t.Errorf("Group/File = %q %q", churn.Group(), fraud.File())
	}
}

func TestParseRulesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		format    Format
		data      string
		line, col int
		field     string
		msg       string
	}{
		{"yaml unknown top-level key", FormatYAML, "group: g\nmetrix: {}\n", 2, 1, "metrix", "unknown key"},
		{"yaml unknown metric key", FormatYAML, "group: g\nmetrics:\n  auc:\n    direction: higher_is_better\n    treshold: 0.7\n", 5, 5, "metrics.auc.treshold", "unknown key"},
		{"yaml no direction", FormatYAML, "group: g\nmetrics:\n  auc:\n    threshold: 0.7\n", 3, 3, "metrics.auc.direction", "direction is required"},
		{"yaml bad direction", FormatYAML, "group: g\nmetrics:\n  auc:\n    direction: up\n    threshold: 0.7\n", 4, 16, "metrics.auc.direction", "higher_is_better"},
		{"yaml threshold is a string", FormatYAML, "group: g\nmetrics:\n  auc:\n    direction: higher_is_better\n    threshold: \"0.7\"\n", 5, 16, "metrics.auc.threshold", "must be a number"},
		{"yaml negative min relative change", FormatYAML, "group: g\nmetrics:\n  auc:\n    direction: higher_is_better\n    min_relative_change: -0.1\n", 5, 26, "metrics.auc.min_relative_change", "between 0 and 1"},
		{"yaml relative change above 1", FormatYAML, "group: g\nmetrics:\n  auc:\n    direction: higher_is_better\n    min_relative_change: 5\n", 5, 26, "metrics.auc.min_relative_change", "between 0 and 1"},
		{"yaml zero min absolute change", FormatYAML, "group: g\nmetrics:\n  auc:\n    direction: higher_is_better\n    min_absolute_change: 0\n", 5, 26, "metrics.auc.min_absolute_change", "> 0"},
		{"yaml negative max regression", FormatYAML, "group: g\nmetrics:\n  auc:\n    direction: higher_is_better\n    max_regression: -0.02\n", 5, 21, "metrics.auc.max_regression", ">= 0"},
		{"yaml no limit", FormatYAML, "group: g\nmetrics:\n  auc:\n    direction: higher_is_better\n", 3, 3, "metrics.auc.threshold", "no limit set"},
		{"yaml bad severity", FormatYAML, "group: g\nmetrics:\n  auc:\n    direction: higher_is_better\n    threshold: 1\n    severity: fatal\n", 6, 15, "metrics.auc.severity", "warning or critical"},
		{"yaml bad missing policy", FormatYAML, "group: g\nmissing:\n  baseline: maybe\nmetrics:\n  auc:\n    direction: higher_is_better\n    threshold: 1\n", 3, 13, "missing.baseline", "breach or ignore"},
		{"yaml override breaks a rule", FormatYAML, "group: g\nmetrics:\n  auc:\n    direction: higher_is_better\n    threshold: 1\ncountries:\n  DE:\n    metrics:\n      auc:\n        min_absolute_change: -1\n", 10, 30, "countries.DE.metrics.auc.min_absolute_change", "> 0"},
		{"yaml override metric without direction", FormatYAML, "group: g\nmodels:\n  m1:\n    metrics:\n      f1:\n        threshold: 1\n", 5, 7, "models.m1.metrics.f1.direction", "direction is required"},
		{"yaml missing group", FormatYAML, "metrics: {}\n", 1, 1, "group", "required"},
		{"yaml duplicate key", FormatYAML, "group: g\ngroup: h\n", 2, 1, "group", "duplicate"},
		{"yaml benchmark without experiment", FormatYAML, "group: g\nbenchmark:\n  kind: latest_finished\n", 3, 3, "benchmark.experiment", "required"},
		{"yaml benchmark bad kind", FormatYAML, "group: g\nbenchmark:\n  kind: newest\n", 3, 9, "benchmark.kind", "must be run"},
		{"yaml rolling without last_n", FormatYAML, "group: g\nbenchmark:\n  kind: rolling_median\n  experiment: e\n", 3, 3, "benchmark.last_n", ">= 1"},
		{"yaml drift share above 1", FormatYAML, "group: g\ndrift:\n  share_threshold: 1.5\n", 3, 20, "drift.share_threshold", "(0, 1]"},
		{"yaml metrics is a list", FormatYAML, "group: g\nmetrics:\n  - auc\n", 3, 3, "metrics", "must be a mapping"},
		{"yaml syntax error", FormatYAML, "group: g\nmetrics: [\n", 2, 0, "", "invalid YAML"},
		{"yaml alias rejected", FormatYAML, "group: &a g\nversion: *a\n", 2, 10, "", "aliases"},
		{"yaml empty", FormatYAML, "", 0, 0, "", "empty"},
		{"yaml wrong version", FormatYAML, "version: 2\ngroup: g\n", 1, 10, "version", "must be 1"},
		{"json unknown key", FormatJSON, "{\n  \"group\": \"g\",\n  \"metrics\": {\"auc\": {\"direction\": \"higher_is_better\", \"threshold\": 1, \"bogus\": 2}}\n}\n", 3, 72, "metrics.auc.bogus", "unknown key"},
		{"json wrong type", FormatJSON, "{\"group\": \"g\",\n \"metrics\": {\"auc\": {\"direction\": \"higher_is_better\",\n   \"threshold\": true}}}", 3, 17, "metrics.auc.threshold", "must be a number"},
		{"json no direction", FormatJSON, "{\"group\": \"g\",\n \"metrics\": {\n  \"auc\": {\"threshold\": 0.7}}}", 3, 3, "metrics.auc.direction", "direction is required"},
		{"json duplicate key", FormatJSON, "{\"group\": \"g\",\n \"group\": \"h\"}", 2, 2, "", "duplicate key"},
		{"json syntax error", FormatJSON, "{\"group\": \"g\",\n \"metrics\": {,}}", 2, 14, "", "invalid JSON"},
		{"json truncated", FormatJSON, "{\"group\": \"g\"", 1, 14, "", "unexpected end"},
		{"json trailing data", FormatJSON, "{\"group\": \"g\"} {}", 1, 16, "", "after the top-level value"},
		{"json top level not an object", FormatJSON, "[1]", 1, 1, "", "must be a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseRules("rules."+string(tt.format), []byte(tt.data), tt.format)
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v (%T), want *RuleError", err, err)
			}
			if !errors.Is(err, ErrInvalidRule) {
				t.Error("errors.Is(err, ErrInvalidRule) = false")
			}
			got := [3]any{re.Line, re.Column, re.Field}
			if want := [3]any{tt.line, tt.col, tt.field}; got != want {
				t.Errorf("line, column, field = %v, want %v (%v)", got, want, err)
			}
			if re.File != "rules."+string(tt.format) || !strings.Contains(re.Msg, tt.msg) {
				t.Errorf("error %q: want file and %q", err, tt.msg)
			}
			if s := err.Error(); !strings.HasPrefix(s, "evaluate: ") || strings.Contains(s, "\n") {
				t.Errorf("error string %q is not one prefixed line", s)
			}
		})
	}
}

func TestRuleErrorString(t *testing.T) {
	t.Parallel()
	e := &RuleError{File: "churn.yaml", Line: 12, Column: 7, Field: "metrics.auc.direction", Msg: "direction is required"}
	if got, want := e.Error(), "evaluate: churn.yaml:12:7: metrics.auc.direction: direction is required"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestYAMLAndJSONAgree checks that the two front-ends give the same result.
func TestYAMLAndJSONAgree(t *testing.T) {
	t.Parallel()
	y := "group: g\nbenchmark: {kind: run, run_id: \"r-{country}\"}\nmetrics:\n  a: {direction: lower_is_better, threshold: 1e-3, max_regression: 0}\n" +
		"models:\n  m:\n    countries:\n      DE:\n        metrics:\n          a: {threshold: null, max_relative_regression: 0.25, severity: warning}\n"
	j := `{"group":"g","benchmark":{"kind":"run","run_id":"r-{country}"},"metrics":{"a":{"direction":"lower_is_better","threshold":0.001,"max_regression":0}},
	"models":{"m":{"countries":{"DE":{"metrics":{"a":{"threshold":null,"max_relative_regression":0.25,"severity":"warning"}}}}}}}`
	fy, err := ParseRules("y.yaml", []byte(y), FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	fj, err := ParseRules("j.json", []byte(j), FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	for _, mc := range [][2]string{{"", ""}, {"m", "DE"}, {"m", "FR"}} {
		ry, _ := fy.Resolve(mc[0], mc[1])
		rj, _ := fj.Resolve(mc[0], mc[1])
		if diff := cmp.Diff(ry, rj); diff != "" {
			t.Errorf("%v: yaml vs json (-yaml +json):\n%s", mc, diff)
		}
	}
	rs, _ := fy.Resolve("m", "DE")
	want := MetricRule{Metric: "a", Direction: LowerIsBetter, MaxRegression: p(0), MaxRelativeRegression: p(0.25),
		Severity: Severities{Threshold: SeverityWarning, MinChange: SeverityWarning, MaxRegression: SeverityWarning}}
	if diff := cmp.Diff([]MetricRule{want}, rs.Rules); diff != "" {
		t.Errorf("null removes the threshold (-want +got):\n%s", diff)
	}
	if rs.Benchmark.RunID != "r-DE" {
		t.Errorf("placeholder not expanded: %q", rs.Benchmark.RunID)
	}
}

func TestResolveRejectsQuoteInFilter(t *testing.T) {
	t.Parallel()
	f, err := ParseRules("q.yaml", []byte("group: g\nbenchmark:\n  kind: latest_finished\n  experiment: e\n  filter: \"tags.model = '{model}'\"\n"), FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Resolve("x' or '1'='1", ""); !errors.Is(err, ErrInvalidRule) {
		t.Errorf("Resolve with a quote in the model: err = %v", err)
	}
}

func TestLoadRulesFileErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := LoadRulesFile(filepath.Join(dir, "nope.yaml")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	txt := filepath.Join(dir, "rules.txt")
	if err := os.WriteFile(txt, []byte("group: g"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRulesFile(txt); !errors.Is(err, ErrInvalidRule) {
		t.Errorf("unknown extension: %v", err)
	}
}

func FuzzParseRulesYAML(f *testing.F) {
	for _, s := range seedFiles(f, ".yaml") {
		f.Add(s)
	}
	f.Add("group: g\nmetrics: {a: {direction: higher_is_better, threshold: .inf}}\n")
	f.Add("group: g\nmodels: {m: {countries: {DE: {metrics: {a: {disabled: true}}}}}}\n")
	f.Fuzz(func(t *testing.T, data string) {
		checkParse(t, FormatYAML, data)
	})
}

func FuzzParseRulesJSON(f *testing.F) {
	for _, s := range seedFiles(f, ".json") {
		f.Add(s)
	}
	f.Add(`{"group":"g","metrics":{"a":{"direction":"higher_is_better","threshold":1e309}}}`)
	f.Add(`{"group":"g","drift":{"features":["a",1]}}`)
	f.Fuzz(func(t *testing.T, data string) {
		checkParse(t, FormatJSON, data)
	})
}

func seedFiles(f *testing.F, ext string) []string {
	paths, _ := filepath.Glob("../testdata/rules/*" + ext)
	var out []string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, string(b))
	}
	if len(out) == 0 {
		f.Fatalf("no seed files *%s", ext)
	}
	return out
}

// checkParse asserts the parser's contract on arbitrary input: a *RuleError or
// a file that resolves for every model and country it names.
func checkParse(t *testing.T, format Format, data string) {
	f, err := ParseRules("fuzz", []byte(data), format)
	if err != nil {
		var re *RuleError
		if !errors.As(err, &re) || strings.Contains(err.Error(), "\n") {
			t.Fatalf("error %q is not a one-line *RuleError", err)
		}
		return
	}
	for _, m := range append(f.Models(), "") {
		for _, c := range append(f.Countries(), "") {
			rs, err := f.Resolve(m, c)
			if err != nil {
				if strings.ContainsAny(m+c, `'"\`) {
					continue
				}
				t.Fatalf("Resolve(%q, %q) after a successful parse: %v", m, c, err)
			}
			if err := rs.Validate(); err != nil {
				t.Fatalf("resolved set invalid: %v", err)
			}
		}
	}
}
