// Package evaluate decides, in process, whether a model run is healthy: it checks
// the run's metrics against hard thresholds and against a benchmark run, compares
// feature and prediction distributions with a reference (drift), and returns every
// check with a severity for alerting.
//
// # Rules
//
// A MetricRule holds the checks for one metric. Direction (HigherIsBetter or
// LowerIsBetter) is required. The limits, each optional:
//
//   - Threshold: candidate >= t (or <= t). Equality passes.
//   - MinAbsoluteChange Δ > 0 and MinRelativeChange r in [0, 1]: MLflow's
//     MetricThreshold meaning, a required improvement over the benchmark:
//     c - b >= Δ and (c - b)/|b| >= r (signs swapped for LowerIsBetter).
//   - MaxRegression X >= 0 and MaxRelativeRegression x >= 0: the candidate may
//     be at most X, and at most x·|b|, worse than the benchmark. When both are
//     set both must hold (each is its own check), so the stricter one decides.
//
// Severity is set per kind of check (defaults: threshold critical, min_change
// warning, max_regression critical). A metric missing from the candidate, or NaN
// there, is one KindMissing breach (default critical) and its other checks are
// skipped. A metric missing from (or NaN in) the benchmark is a KindMissing
// breach (default warning) or, with MissingPolicy.Baseline = BaselineIgnore, a
// passed KindMissing check noting that the comparison was skipped; the threshold
// check runs either way. Evaluate runs every rule and collects every check
// before returning; it never panics on absent data.
//
// # Differences from MLflow's MetricThreshold
//
// Each of MLflow's known flaws (see validate_evaluation_results) is fixed; an
// integration test runs MLflow's own validate_evaluation_results (the pinned
// MLflow 3.17) on 200 random and a dozen edge cases and requires the same
// verdict everywhere except on these documented differences:
//
//   - Float trap. MLflow compares c >= b + Δ after computing b + Δ in floating
//     point, so c=0.85, b=0.8, Δ=0.05 fails. Here every comparison is made on
//     the difference (c - b >= Δ) with a slack of four units in the last place
//     of the largest operand (4·2⁻⁵²·max(|c|, |b|, |Δ|)), so it passes, while
//     any difference a person would notice still counts.
//   - Negative baseline. MLflow up to the 2.x line divides by the signed
//     baseline, which flips the direction for negative metrics (MLflow 3.17
//     divides by |b| too). Here relative changes divide by |b|.
//   - Zero baseline. A change relative to b = 0 (or b = ±Inf) is undefined.
//     If the rule also has the absolute counterpart (MinAbsoluteChange for
//     MinRelativeChange, MaxRegression for MaxRelativeRegression), the relative
//     check passes with a message saying the absolute check decides. Otherwise
//     the relative change is taken as its limit, ±Inf by the sign of c - b:
//     MinRelativeChange passes only on a strict improvement (or, for r = 0, no
//     deterioration), and MaxRelativeRegression fails on any deterioration.
//     MLflow instead falls back to c >= b + 1e-10.
//   - Missing baseline metric. MLflow raises a KeyError when the baseline has
//     other metrics but not this one. Here it follows MissingPolicy.
//   - Zero limits. MLflow tests limits by truthiness, so with
//     min_relative_change 0.0 and no baseline it skips the missing-baseline
//     check and raises a TypeError. Here a nil pointer means unset, 0 is a
//     limit, and a missing baseline follows MissingPolicy.
//   - Infinities. MLflow's SQL store returns ±math.MaxFloat64 for ±Inf; both
//     candidate and benchmark values are read through client.NormalizeInf.
//   - Comparing a run with itself. ResolveBenchmark never picks the candidate
//     run as its own benchmark (MLflow PR #12213 fixed the same bug).
//
// # Results
//
// A Check is plain data with JSON tags; Report collects them with Breaches,
// Worst and Status. Values may be NaN or ±Inf, which encoding/json cannot
// encode, so Check fields use Float: NaN and ±Inf are written as the strings
// "NaN", "Infinity" and "-Infinity" (as in MLflow's REST API), and a value that
// does not apply is omitted. Report's JSON adds "status" (passed, warning or
// critical), "passed", and the "critical" and "warning" breach counts at the top
// level, ready for a SageMaker PropertyFile.
//
// # Rules files
//
// LoadRulesFile reads a YAML (.yaml, .yml) or JSON (.json) rules file for one
// model group, with overrides per model, per country and per model+country,
// merged in that order (see RulesFile). Unknown keys, wrong types, duplicate
// keys and invalid limits are rejected with a *RuleError naming the file, line,
// column and field. Example files are in the repository's testdata/rules.
//
// # Benchmarks
//
// ResolveBenchmark chooses the benchmark of one candidate through the MLflow
// client (any RunSource; *client.Client is one) and says which run it used, how
// and why (BaselineSource):
//
//   - run: an explicit run ID;
//   - latest_finished: the most recently started FINISHED run in a benchmark
//     experiment matching a filter, e.g. tags.model = 'churn' and
//     tags.country = 'DE' (order by start_time DESC);
//   - champion: the source run of the registered model version holding an
//     alias;
//   - rolling_median: the per-metric median of the last N FINISHED runs whose
//     tag mlwatch.eval.status is "passed" (NaN values skipped).
//
// The candidate is never its own benchmark; when nothing else qualifies the
// error matches ErrNoBenchmark, and callers can evaluate without a benchmark
// (MissingPolicy decides). For a fleet, LatestFinishedBy selects the newest
// FINISHED run per pipeline tag with one paged search instead of one search
// per candidate.
//
// # Drift
//
// The drift functions (CompareDataset, ReferenceProfile.Compare,
// CompareSegments, ...) return FeatureDrift and DatasetDrift results;
// DriftChecks and FeatureDriftCheck turn them into KindDrift Checks with the
// severities of a rule set's DriftSettings, so metric and drift checks share
// one Report.
//
// # Outcome
//
// LogOutcome writes the result back to the candidate run: a status tag per
// subject (mlwatch.eval.<metric>.status, mlwatch.eval.drift.<feature>.status,
// each passed, warning or critical), the breach counts, the benchmark, and the
// overall mlwatch.eval.status last, in batches of at most 100 tags. The JSON
// report is written to a file (WithReportFile) and uploaded as the artifact
// mlwatch/evaluation.json when the client can upload artifacts
// (ArtifactUploader); otherwise the file's path is recorded in the tag
// mlwatch.eval.report_path.
//
// # Concurrency
//
// Functions that take only values are pure and safe for concurrent use; a
// RulesFile is immutable. Nothing in the package modifies its inputs.
package evaluate
