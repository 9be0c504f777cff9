// Command evaluate-step is mlwatch's evaluation step for a pipeline: it reads
// a candidate run from MLflow and a rules file, resolves the benchmark the
// rules name, evaluates every rule, logs the outcome back to the run (tags and
// the JSON report) and writes the evaluation JSON for a SageMaker Pipelines
// ConditionStep (through a PropertyFile) or a GitLab CI artifact.
//
// Usage:
//
//	evaluate-step -rules churn.yaml [-run-id ID] [-model M] [-country C] [-group G] [-output evaluation.json]
//
// Flags fall back to environment variables: -run-id to MLFLOW_RUN_ID,
// -rules to MLWATCH_RULES, -model to MLWATCH_MODEL, -country to
// MLWATCH_COUNTRY, -group to MLWATCH_MODEL_GROUP, -output to MLWATCH_OUTPUT.
// When -model, -country or -group are still empty they are read from the
// run's tags "model", "country" and "model_group". The client is configured
// from MLFLOW_TRACKING_URI and the other MLFLOW_* variables, like MLflow's
// Python client.
//
// Without MLFLOW_TRACKING_URI the command runs a self-contained demo on the
// in-process fake MLflow server: it seeds a benchmark run and a candidate
// run and evaluates them with built-in demo rules (or -rules).
//
// The evaluation JSON has the flat top-level fields a ConditionStep reads,
//
//	{"status": "passed|warning|critical", "passed": bool, "critical": n, "warning": n, "checks": [...], ...}
//
// e.g. JsonGet(step_name=..., property_file=evaluation, json_path="critical").
//
// Exit status: 0 when no critical check failed (warnings allowed), 1 on a
// critical breach, 2 on a usage, configuration or I/O error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/signal"
	"time"

	"github.com/mlwatch/mlwatch/client"
	"github.com/mlwatch/mlwatch/client/clienttest"
	"github.com/mlwatch/mlwatch/evaluate"
)

// Exit codes.
const (
	exitOK       = 0
	exitCritical = 1
	exitError    = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type config struct {
	runID, rules, model, country, group, output string
	noUpload                                    bool
	timeout                                     time.Duration
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("evaluate-step", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.runID, "run-id", getenv("MLFLOW_RUN_ID"), "candidate run ID (env MLFLOW_RUN_ID)")
	fs.StringVar(&c.rules, "rules", getenv("MLWATCH_RULES"), "rules file, .yaml/.yml/.json (env MLWATCH_RULES)")
	fs.StringVar(&c.model, "model", getenv("MLWATCH_MODEL"), "model name; default: the run's tag \"model\" (env MLWATCH_MODEL)")
	fs.StringVar(&c.country, "country", getenv("MLWATCH_COUNTRY"), "country; default: the run's tag \"country\" (env MLWATCH_COUNTRY)")
	fs.StringVar(&c.group, "group", getenv("MLWATCH_MODEL_GROUP"), "model group, checked against the rules file; default: the run's tag \"model_group\" (env MLWATCH_MODEL_GROUP)")
	fs.StringVar(&c.output, "output", getenv("MLWATCH_OUTPUT"), "write the evaluation JSON here (env MLWATCH_OUTPUT)")
	fs.BoolVar(&c.noUpload, "no-upload", false, "do not upload the report as the artifact mlwatch/evaluation.json; record its path in a tag instead")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Minute, "overall time limit")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if c.timeout <= 0 {
		return c, errors.New("-timeout must be positive")
	}
	return c, nil
}

// run is the whole command; it returns the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, getenv, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "evaluate-step:", err)
		}
		return exitError
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()

	var c *client.Client
	var rules *evaluate.RulesFile
	if getenv("MLFLOW_TRACKING_URI") == "" {
		fmt.Fprintln(stderr, "evaluate-step: MLFLOW_TRACKING_URI is not set; running the demo on an in-process fake MLflow server")
		srv := httptest.NewServer(&clienttest.Server{})
		defer srv.Close()
		if c, err = client.New(srv.URL, client.WithHTTPClient(srv.Client())); err == nil {
			cfg.runID, err = seedDemo(ctx, c)
		}
		if err == nil && cfg.rules == "" {
			rules, err = evaluate.ParseRules("demo.yaml", []byte(demoRules), evaluate.FormatYAML)
		}
	} else {
		c, err = client.NewFromEnv()
	}
	if err != nil {
		fmt.Fprintln(stderr, "evaluate-step:", err)
		return exitError
	}
	if rules == nil {
		if cfg.rules == "" {
			fmt.Fprintln(stderr, "evaluate-step: no rules file: give -rules or MLWATCH_RULES")
			return exitError
		}
		if rules, err = evaluate.LoadRulesFile(cfg.rules); err != nil {
			fmt.Fprintln(stderr, "evaluate-step:", err)
			return exitError
		}
	}
	if cfg.runID == "" {
		fmt.Fprintln(stderr, "evaluate-step: no run: give -run-id or MLFLOW_RUN_ID")
		return exitError
	}
	rep, err := evaluateRun(ctx, c, rules, cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "evaluate-step:", err)
		return exitError
	}
	var opts []evaluate.OutcomeOption
	if cfg.output != "" {
		opts = append(opts, evaluate.WithReportFile(cfg.output))
	}
	if cfg.noUpload {
		opts = append(opts, evaluate.WithoutUpload())
	}
	out, err := evaluate.LogOutcome(ctx, c, cfg.runID, *rep, opts...)
	printSummary(stdout, rep, out)
	if err != nil {
		fmt.Fprintln(stderr, "evaluate-step:", err)
		return exitError
	}
	if rep.Worst() == evaluate.SeverityCritical {
		return exitCritical
	}
	return exitOK
}

// evaluateRun fetches the candidate, resolves its rules and benchmark, and
// evaluates.
func evaluateRun(ctx context.Context, c *client.Client, rules *evaluate.RulesFile, cfg config, stderr io.Writer) (*evaluate.Report, error) {
	run, err := c.GetRun(ctx, cfg.runID)
	if err != nil {
		return nil, fmt.Errorf("candidate run %s: %w", cfg.runID, err)
	}
	fromTag := func(v *string, key string) {
		if *v == "" {
			*v, _ = run.Tag(key)
		}
	}
	fromTag(&cfg.model, "model")
	fromTag(&cfg.country, "country")
	fromTag(&cfg.group, "model_group")
	if cfg.group != "" && cfg.group != rules.Group() {
		return nil, fmt.Errorf("run %s is in model group %q but %s is for group %q", cfg.runID, cfg.group, rules.File(), rules.Group())
	}
	rs, err := rules.Resolve(cfg.model, cfg.country)
	if err != nil {
		return nil, err
	}
	var bench *evaluate.Benchmark
	if rs.Benchmark != nil {
		bench, err = evaluate.ResolveBenchmark(ctx, c, *rs.Benchmark, cfg.runID)
		switch {
		case errors.Is(err, evaluate.ErrNoBenchmark):
			// Not an I/O error: the rules' missing-baseline policy decides.
			fmt.Fprintln(stderr, "evaluate-step: warning:", err)
		case err != nil:
			return nil, err
		}
	}
	rep := evaluate.EvaluateAgainst(evaluate.MetricsFromRun(run), bench, rs)
	rep.RunID = cfg.runID
	return &rep, nil
}

func printSummary(w io.Writer, rep *evaluate.Report, out *evaluate.Outcome) {
	fmt.Fprintf(w, "run %s (%s/%s/%s): %s, %d critical, %d warning, %d checks\n",
		rep.RunID, rep.ModelGroup, rep.Model, rep.Country, rep.Status(), rep.Count(evaluate.SeverityCritical), rep.Count(evaluate.SeverityWarning), len(rep.Checks))
	if rep.Benchmark != nil {
		fmt.Fprintf(w, "benchmark: %s\n", rep.Benchmark.Reason)
	}
	for _, b := range rep.Breaches() {
		fmt.Fprintf(w, "  %-8s %s\n", b.Severity, b.Message)
	}
	if out != nil && out.ReportFile != "" {
		fmt.Fprintf(w, "report: %s\n", out.ReportFile)
	}
	if out != nil && out.ReportArtifact != "" {
		fmt.Fprintf(w, "report artifact: %s\n", out.ReportArtifact)
	}
}

// demoRules are the rules of the demo mode.
const demoRules = `
group: churn
benchmark:
  kind: latest_finished
  experiment: churn-benchmarks
  filter: "tags.model = '{model}' and tags.country = '{country}'"
metrics:
  auc:
    direction: higher_is_better
    threshold: 0.70
    max_regression: 0.02
  log_loss:
    direction: lower_is_better
    threshold: 0.60
    max_relative_regression: 0.10
    severity: warning
`

// seedDemo creates a benchmark run and a candidate run on the fake server and
// returns the candidate's ID.
func seedDemo(ctx context.Context, c *client.Client) (string, error) {
	exp, err := c.GetOrCreateExperiment(ctx, "churn-benchmarks", nil)
	if err != nil {
		return "", err
	}
	tags := []client.Tag{{Key: "model", Value: "churn-xgb"}, {Key: "country", Value: "DE"}, {Key: "model_group", Value: "churn"}}
	var id string
	for i, m := range []map[string]float64{
		{"auc": 0.76, "log_loss": 0.41}, // benchmark
		{"auc": 0.73, "log_loss": 0.47}, // candidate: 0.03 below on auc, log_loss 14.6 % worse
	} {
		start := time.Now().Add(time.Duration(i-2) * time.Hour)
		run, err := c.CreateRun(ctx, client.CreateRunOptions{ExperimentID: exp.ID, StartTime: client.Millis(start), Tags: tags})
		if err != nil {
			return "", err
		}
		var b client.Batch
		for k, v := range m {
			b.Metrics = append(b.Metrics, client.Metric{Key: k, Value: v})
		}
		if err := c.LogBatch(ctx, run.Info.RunID, b); err != nil {
			return "", err
		}
		if _, err := c.UpdateRun(ctx, run.Info.RunID, client.UpdateRunOptions{Status: client.RunFinished, EndTime: client.Millis(start.Add(time.Minute))}); err != nil {
			return "", err
		}
		id = run.Info.RunID
	}
	return id, nil
}
