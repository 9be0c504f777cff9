package evaluate_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/mlwatch/mlwatch/client"
	"github.com/mlwatch/mlwatch/client/clienttest"
	"github.com/mlwatch/mlwatch/evaluate"
)

func ExampleEvaluate() {
	rules := evaluate.RuleSet{Rules: []evaluate.MetricRule{{
		Metric:            "auc",
		Direction:         evaluate.HigherIsBetter,
		Threshold:         ptr(0.70), // hard floor
		MaxRegression:     ptr(0.02), // at most 0.02 below the benchmark
		MinAbsoluteChange: ptr(0.05), // MLflow's "must improve by 0.05" (a warning by default)
	}}}
	rep := evaluate.Evaluate(evaluate.Metrics{"auc": 0.71}, evaluate.Metrics{"auc": 0.76}, rules)
	for _, c := range rep.Checks {
		fmt.Printf("%-14s passed=%-5v %-8s %s\n", c.Kind, c.Passed, c.Severity, c.Message)
	}
	fmt.Println("status:", rep.Status())
	// Output:
	// threshold      passed=true  critical auc 0.71 meets the threshold (at least 0.7)
	// min_change     passed=false warning  auc 0.71 is 0.05 (6.58%) below the benchmark 0.76 (supplied by the caller); an improvement of at least 0.05 is required
	// max_regression passed=false critical auc 0.71 is 0.05 (6.58%) below the benchmark 0.76 (supplied by the caller); at most 0.02 allowed
	// status: critical
}

func ExampleEvaluate_floatTrap() {
	// MLflow computes 0.8 + 0.05 = 0.8500000000000001 and fails this check.
	rules := evaluate.RuleSet{Rules: []evaluate.MetricRule{{Metric: "acc", Direction: evaluate.HigherIsBetter, MinAbsoluteChange: ptr(0.05)}}}
	rep := evaluate.Evaluate(evaluate.Metrics{"acc": 0.85}, evaluate.Metrics{"acc": 0.8}, rules)
	fmt.Println(rep.Checks[0].Passed)
	// Output: true
}

func ExampleParseRules() {
	yaml := `
group: churn
benchmark: {kind: latest_finished, experiment: churn-benchmarks, filter: "tags.country = '{country}'"}
metrics:
  auc: {direction: higher_is_better, threshold: 0.70, max_regression: 0.02}
countries:
  DE:
    metrics:
      auc: {threshold: 0.75}
`
	f, err := evaluate.ParseRules("churn.yaml", []byte(yaml), evaluate.FormatYAML)
	if err != nil {
		log.Fatal(err)
	}
	rs, err := f.Resolve("churn-xgb", "DE")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(*rs.Rules[0].Threshold, *rs.Rules[0].MaxRegression, rs.Benchmark.Filter)

	_, err = evaluate.ParseRules("bad.yaml", []byte("group: g\nmetrics:\n  auc: {threshold: 0.7}\n"), evaluate.FormatYAML)
	fmt.Println(err)
	// Output:
	// 0.75 0.02 tags.country = 'DE'
	// evaluate: bad.yaml:3:3: metrics.auc.direction: direction is required (higher_is_better or lower_is_better)
}

// Example_evaluationStep is the evaluation step end to end on the in-process
// fake MLflow server: resolve the benchmark, evaluate, log the outcome.
func Example_evaluationStep() {
	ctx := context.Background()
	srv := httptest.NewServer(&clienttest.Server{})
	defer srv.Close()
	c, err := client.New(srv.URL, client.WithHTTPClient(srv.Client()))
	if err != nil {
		log.Fatal(err)
	}
	exp, err := c.GetOrCreateExperiment(ctx, "churn-benchmarks", nil)
	if err != nil {
		log.Fatal(err)
	}
	tags := map[string]string{"model": "churn-xgb", "country": "DE"}
	bench, err := seed(ctx, c, exp.ID, 1000, client.RunFinished, tags, map[string]float64{"auc": 0.76, "log_loss": 0.41})
	if err != nil {
		log.Fatal(err)
	}
	cand, err := seed(ctx, c, exp.ID, 2000, client.RunFinished, tags, map[string]float64{"auc": 0.71, "log_loss": 0.43, "precision": 0.6})
	if err != nil {
		log.Fatal(err)
	}

	f, err := evaluate.LoadRulesFile("../testdata/rules/churn.yaml")
	if err != nil {
		log.Fatal(err)
	}
	rs, err := f.Resolve("churn-xgb", "DE")
	if err != nil {
		log.Fatal(err)
	}
	b, err := evaluate.ResolveBenchmark(ctx, c, *rs.Benchmark, cand)
	if err != nil {
		log.Fatal(err)
	}
	run, err := c.GetRun(ctx, cand)
	if err != nil {
		log.Fatal(err)
	}
	rep := evaluate.EvaluateAgainst(evaluate.MetricsFromRun(run), b, rs)
	rep.RunID = cand
	if _, err := evaluate.LogOutcome(ctx, c, cand, rep); err != nil {
		log.Fatal(err)
	}
	fmt.Println("benchmark is the seeded run:", b.Source.RunID == bench)
	for _, br := range rep.Breaches() {
		fmt.Printf("%s: %s\n", br.Severity, strings.ReplaceAll(br.Message, bench, "<bench>"))
	}
	run, _ = c.GetRun(ctx, cand)
	status, _ := run.Tag("mlwatch.eval.status")
	fmt.Println("mlwatch.eval.status =", status)
	// Output:
	// benchmark is the seeded run: true
	// critical: auc 0.71 is below the threshold 0.72 (must be at least 0.72)
	// critical: auc 0.71 is 0.05 (6.58%) below the benchmark 0.76 (run <bench>, latest FINISHED in 'churn-benchmarks'); at most 0.01 allowed
	// critical: auc 0.71 is 0.05 (6.58%) below the benchmark 0.76 (run <bench>, latest FINISHED in 'churn-benchmarks'); at most 5% allowed
	// critical: recall_at_10 is missing from the candidate run
	// mlwatch.eval.status = critical
}
