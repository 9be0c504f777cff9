// Command evalscale measures the evaluation step at fleet scale against the
// real MLflow server of `make test` (MLWATCH_TEST_MLFLOW_URI): it seeds N
// candidate runs with M metrics each and their benchmark runs, then times
// evaluating every candidate against its benchmark, fetching included, in Go
// (package evaluate over package client, bounded concurrency) and in Python
// (MlflowClient from $MLWATCH_TEST_PYTHON, the same fetches and comparisons in
// one process). It prints a Markdown table for BENCHMARKS.md.
//
// Three fetch strategies are timed, each the same in Go and Python:
//
//	per-run search   GetRun(candidate) + search for the latest FINISHED benchmark run
//	                 of the candidate's pipeline (ResolveBenchmark, latest_finished)
//	per-run explicit GetRun(candidate) + GetRun(benchmark) (ResolveBenchmark, run)
//	bulk             one paged search per experiment (evaluate.LatestFinishedBy for the
//	                 benchmarks), then pairing and evaluation in memory
//
// Usage: go run ./internal/bench/evalscale [-runs 400] [-metrics 20] [-concurrency 16] [-reps 3]
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mlwatch/mlwatch/client"
	"github.com/mlwatch/mlwatch/evaluate"
)

//go:embed evalscale.py
var pythonScript string

type params struct {
	runs, metrics, concurrency, seedConcurrency, reps int
	python                                            string
}

func main() {
	var p params
	flag.IntVar(&p.runs, "runs", 400, "candidate runs (one pipeline each)")
	flag.IntVar(&p.metrics, "metrics", 20, "metrics per run")
	flag.IntVar(&p.concurrency, "concurrency", 16, "concurrent evaluations (Go and Python)")
	flag.IntVar(&p.seedConcurrency, "seed-concurrency", 6, "concurrent requests while seeding (MLflow's SQLite pool is small)")
	flag.IntVar(&p.reps, "reps", 3, "timed repetitions per strategy; the median is reported")
	flag.StringVar(&p.python, "python", os.Getenv("MLWATCH_TEST_PYTHON"), "python with mlflow (default $MLWATCH_TEST_PYTHON)")
	flag.Parse()
	if err := run(context.Background(), p); err != nil {
		fmt.Fprintln(os.Stderr, "evalscale:", err)
		os.Exit(1)
	}
}

// fleet is what was seeded.
type fleet struct {
	candExp, benchExp     string // experiment names
	candExpID, benchExpID string
	cands, benches        []string // run IDs by pipeline
	wantBreaches          int
}

func metricName(k int) string { return fmt.Sprintf("m%02d", k) }

func pipeline(i int) string { return fmt.Sprintf("p%04d", i) }

// rules: every metric higher is better, floor 0.5, at most 0.02 and 5 % below the benchmark.
func rules(m int) evaluate.RuleSet {
	rs := evaluate.RuleSet{Group: "scale"}
	for k := range m {
		floor, reg, rel := 0.5, 0.02, 0.05
		rs.Rules = append(rs.Rules, evaluate.MetricRule{Metric: metricName(k), Direction: evaluate.HigherIsBetter,
			Threshold: &floor, MaxRegression: &reg, MaxRelativeRegression: &rel})
	}
	return rs
}

func run(ctx context.Context, p params) error {
	uri := os.Getenv("MLWATCH_TEST_MLFLOW_URI")
	if uri == "" {
		return errors.New("MLWATCH_TEST_MLFLOW_URI is not set (run through make bench)")
	}
	if p.python == "" {
		return errors.New("no python: set MLWATCH_TEST_PYTHON or -python")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 2 * p.concurrency
	retries := &retryCounter{}
	c, err := client.New(uri, client.WithHTTPClient(&http.Client{Transport: tr}), client.WithLogger(slog.New(retries)))
	if err != nil {
		return err
	}
	t0 := time.Now()
	f, err := seed(ctx, c, p)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	seedTime := time.Since(t0)

	type result struct {
		name         string
		goMed        time.Duration
		goAll        []time.Duration
		goCPU, pyCPU float64 // median client CPU seconds (user+sys) per pass
		pyMed        float64
		pyAll        []float64
		checks       int
		retries      int64
	}
	var results []result
	strategies := []struct {
		name string
		fn   func(context.Context, *client.Client, *fleet, params) (int, int, error)
	}{
		{"per-run search", perRunSearch},
		{"per-run explicit", perRunExplicit},
		{"bulk", bulk},
	}
	for _, s := range strategies {
		r := result{name: s.name}
		var cpus []float64
		retries0 := retries.n.Load()
		for range p.reps {
			cpu0 := cpuSeconds()
			start := time.Now()
			checks, breaches, err := s.fn(ctx, c, f, p)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			r.goAll = append(r.goAll, time.Since(start))
			cpus = append(cpus, cpuSeconds()-cpu0)
			if breaches != f.wantBreaches {
				return fmt.Errorf("%s: %d breaches, want %d", s.name, breaches, f.wantBreaches)
			}
			r.checks = checks
		}
		r.goMed = medianDur(r.goAll)
		r.goCPU = medianF(cpus)
		r.retries = retries.n.Load() - retries0
		results = append(results, r)
	}
	py, err := runPython(ctx, p, uri, f)
	if err != nil {
		return fmt.Errorf("python: %w", err)
	}
	for i := range results {
		pr, ok := py.Strategies[results[i].name]
		if !ok {
			return fmt.Errorf("python did not time %q", results[i].name)
		}
		if pr.Breaches != f.wantBreaches {
			return fmt.Errorf("python %s: %d breaches, want %d", results[i].name, pr.Breaches, f.wantBreaches)
		}
		results[i].pyAll = pr.Seconds
		results[i].pyMed = medianF(pr.Seconds)
		results[i].pyCPU = medianF(pr.CPU)
	}

	fmt.Printf("\nevalscale: %d candidate runs x %d metrics (%d checks per evaluation pass), %d benchmark runs, concurrency %d, GOMAXPROCS %d, %d reps (median shown)\n",
		p.runs, p.metrics, results[0].checks, len(f.benches)+p.runs/4, p.concurrency, runtime.GOMAXPROCS(0), p.reps)
	fmt.Printf("seeding took %v; python %s, mlflow %s (import %.2fs)\n\n", seedTime.Round(time.Millisecond), py.Python, py.MLflow, py.ImportSeconds)
	fmt.Println("| fetch strategy | requests | Go wall (evaluate + client) | Python MlflowClient wall | Go client CPU | Python client CPU | CPU Python / Go |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, r := range results {
		reqs := map[string]string{"per-run search": fmt.Sprintf("%d GetRun + %d SearchRuns", p.runs, p.runs),
			"per-run explicit": fmt.Sprintf("%d GetRun", 2*p.runs), "bulk": "2 paged SearchRuns (1 page each)"}[r.name]
		fmt.Printf("| %s | %s | %.3f s | %.3f s | %.3f s | %.3f s | %.1fx |\n", r.name, reqs, r.goMed.Seconds(), r.pyMed, r.goCPU, r.pyCPU, r.pyCPU/r.goCPU)
	}
	fmt.Println()
	for _, r := range results {
		fmt.Printf("raw %s: go %v (%d client retries) python %v\n", r.name, r.goAll, r.retries, r.pyAll)
	}
	fmt.Printf("Go client retries during the whole run (seeding included): %d\n", retries.n.Load())
	fmt.Printf("reproduce: scripts/teststack.sh start; eval \"$(scripts/teststack.sh env)\"; go run ./internal/bench/evalscale -runs %d -metrics %d -concurrency %d -reps %d\n",
		p.runs, p.metrics, p.concurrency, p.reps)
	return nil
}

// cpuSeconds returns this process's user+system CPU time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// retryCounter is a slog.Handler counting the client's retry log lines.
type retryCounter struct{ n atomic.Int64 }

func (h *retryCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *retryCounter) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "retrying") {
		h.n.Add(1)
	}
	return nil
}
func (h *retryCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *retryCounter) WithGroup(string) slog.Handler      { return h }

func medianDur(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianF(d []float64) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// parallel runs fn(0..n-1) on at most k goroutines and returns the first error.
func parallel(n, k int, fn func(i int) error) error {
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	sem := make(chan struct{}, k)
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(i); err != nil {
				once.Do(func() { first = err })
			}
		}()
	}
	wg.Wait()
	return first
}

// seed creates the experiments and runs. Candidates for every 10th pipeline
// regress m00 by 0.1 (two critical breaches: 0.1 > 0.02 and > 5 %); every 4th
// pipeline also has an older benchmark run that must not be chosen.
func seed(ctx context.Context, c *client.Client, p params) (*fleet, error) {
	stamp := time.Now().UnixNano()
	f := &fleet{candExp: fmt.Sprintf("mlwatch-evalscale-cand-%d", stamp), benchExp: fmt.Sprintf("mlwatch-evalscale-bench-%d", stamp),
		cands: make([]string, p.runs), benches: make([]string, p.runs)}
	ce, err := c.CreateExperiment(ctx, f.candExp, nil)
	if err != nil {
		return nil, err
	}
	be, err := c.CreateExperiment(ctx, f.benchExp, nil)
	if err != nil {
		return nil, err
	}
	f.candExpID, f.benchExpID = ce, be
	base := time.Now().Add(-48 * time.Hour)
	mk := func(exp string, i int, start time.Time, values func(k int) float64) (string, error) {
		run, err := c.CreateRun(ctx, client.CreateRunOptions{ExperimentID: exp, StartTime: client.Millis(start),
			Tags: []client.Tag{{Key: "pipeline", Value: pipeline(i)}, {Key: "model", Value: fmt.Sprintf("model-%02d", i%20)}, {Key: "country", Value: []string{"DE", "FR", "ES", "IT", "NL"}[i%5]}}})
		if err != nil {
			return "", err
		}
		b := client.Batch{}
		for k := range p.metrics {
			b.Metrics = append(b.Metrics, client.Metric{Key: metricName(k), Value: values(k), Timestamp: client.Millis(start)})
		}
		if err := c.LogBatch(ctx, run.Info.RunID, b); err != nil {
			return "", err
		}
		_, err = c.UpdateRun(ctx, run.Info.RunID, client.UpdateRunOptions{Status: client.RunFinished, EndTime: client.Millis(start.Add(time.Minute))})
		return run.Info.RunID, err
	}
	err = parallel(p.runs, p.seedConcurrency, func(i int) error {
		r := rand.New(rand.NewPCG(uint64(i), 7))
		bench := make([]float64, p.metrics)
		for k := range bench {
			bench[k] = 0.7 + 0.2*r.Float64()
		}
		if i%4 == 0 {
			if _, err := mk(be, i, base.Add(time.Duration(i)*time.Second), func(int) float64 { return 0.99 }); err != nil {
				return err
			}
		}
		var err error
		if f.benches[i], err = mk(be, i, base.Add(time.Hour+time.Duration(i)*time.Second), func(k int) float64 { return bench[k] }); err != nil {
			return err
		}
		f.cands[i], err = mk(ce, i, base.Add(24*time.Hour+time.Duration(i)*time.Second), func(k int) float64 {
			if k == 0 && i%10 == 0 {
				return bench[k] - 0.1
			}
			return bench[k] + 0.005*r.Float64()
		})
		return err
	})
	f.wantBreaches = 2 * ((p.runs + 9) / 10)
	return f, err
}

// cachedSource resolves experiment names once; everything else goes to the client.
type cachedSource struct {
	*client.Client
	mu   sync.Mutex
	exps map[string]*client.Experiment
}

func (s *cachedSource) GetExperimentByName(ctx context.Context, name string) (*client.Experiment, error) {
	s.mu.Lock()
	e, ok := s.exps[name]
	s.mu.Unlock()
	if ok {
		return e, nil
	}
	e, err := s.Client.GetExperimentByName(ctx, name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.exps[name] = e
	s.mu.Unlock()
	return e, nil
}

func evaluateAll(ctx context.Context, p params, f *fleet, bench func(i int, cand string) (*evaluate.Benchmark, error), cand func(i int) (evaluate.Metrics, error)) (int, int, error) {
	rs := rules(p.metrics)
	reports := make([]evaluate.Report, p.runs)
	err := parallel(p.runs, p.concurrency, func(i int) error {
		m, err := cand(i)
		if err != nil {
			return err
		}
		b, err := bench(i, f.cands[i])
		if err != nil {
			return err
		}
		reports[i] = evaluate.EvaluateAgainst(m, b, rs)
		return nil
	})
	checks, breaches := 0, 0
	for _, r := range reports {
		checks += len(r.Checks)
		breaches += len(r.Breaches())
	}
	return checks, breaches, err
}

func getCandidate(ctx context.Context, c *client.Client, f *fleet) func(i int) (evaluate.Metrics, error) {
	return func(i int) (evaluate.Metrics, error) {
		run, err := c.GetRun(ctx, f.cands[i])
		if err != nil {
			return nil, err
		}
		return evaluate.MetricsFromRun(run), nil
	}
}

func perRunSearch(ctx context.Context, c *client.Client, f *fleet, p params) (int, int, error) {
	src := &cachedSource{Client: c, exps: map[string]*client.Experiment{}}
	return evaluateAll(ctx, p, f, func(i int, cand string) (*evaluate.Benchmark, error) {
		spec := evaluate.BenchmarkSpec{Kind: evaluate.SourceLatestFinished, Experiment: f.benchExp, Filter: "tags.pipeline = '" + pipeline(i) + "'"}
		b, err := evaluate.ResolveBenchmark(ctx, src, spec, cand)
		if err == nil && b.Source.RunID != f.benches[i] {
			err = fmt.Errorf("pipeline %d: benchmark %s, want %s", i, b.Source.RunID, f.benches[i])
		}
		return b, err
	}, getCandidate(ctx, c, f))
}

func perRunExplicit(ctx context.Context, c *client.Client, f *fleet, p params) (int, int, error) {
	return evaluateAll(ctx, p, f, func(i int, cand string) (*evaluate.Benchmark, error) {
		return evaluate.ResolveBenchmark(ctx, c, evaluate.BenchmarkSpec{Kind: evaluate.SourceRun, RunID: f.benches[i]}, cand)
	}, getCandidate(ctx, c, f))
}

// bulk fetches the candidates with one paged search and the benchmarks with
// evaluate.LatestFinishedBy (one paged search), concurrently, then evaluates in
// memory.
func bulk(ctx context.Context, c *client.Client, f *fleet, p params) (int, int, error) {
	cands := map[string]client.Run{}
	var benches map[string]*evaluate.Benchmark
	var cerr, berr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for r, err := range c.SearchRunsSeq(ctx, client.SearchRunsOptions{ExperimentIDs: []string{f.candExpID},
			Filter: "attributes.status = 'FINISHED'", MaxResults: 1000}) {
			if err != nil {
				cerr = err
				return
			}
			key, _ := r.Tag("pipeline")
			cands[key] = r
		}
	}()
	go func() {
		defer wg.Done()
		benches, berr = evaluate.LatestFinishedBy(ctx, c, f.benchExp, "", "pipeline")
	}()
	wg.Wait()
	if err := errors.Join(cerr, berr); err != nil {
		return 0, 0, err
	}
	return evaluateAll(ctx, p, f, func(i int, _ string) (*evaluate.Benchmark, error) {
		b, ok := benches[pipeline(i)]
		if !ok || b.Source.RunID != f.benches[i] {
			return nil, fmt.Errorf("pipeline %d: wrong or no benchmark", i)
		}
		return b, nil
	}, func(i int) (evaluate.Metrics, error) {
		r, ok := cands[pipeline(i)]
		if !ok {
			return nil, fmt.Errorf("pipeline %d: no candidate", i)
		}
		return evaluate.MetricsFromRun(&r), nil
	})
}

type pyResult struct {
	Python, MLflow string
	ImportSeconds  float64 `json:"import_seconds"`
	Strategies     map[string]struct {
		Seconds  []float64 `json:"seconds"`
		CPU      []float64 `json:"cpu"`
		Breaches int       `json:"breaches"`
	} `json:"strategies"`
}

func runPython(ctx context.Context, p params, uri string, f *fleet) (*pyResult, error) {
	dir, err := os.MkdirTemp("", "evalscale")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "evalscale.py")
	input := filepath.Join(dir, "fleet.json")
	if err := os.WriteFile(script, []byte(pythonScript), 0o600); err != nil {
		return nil, err
	}
	in, err := json.Marshal(map[string]any{"uri": uri, "cands": f.cands, "benches": f.benches, "bench_exp": f.benchExp,
		"cand_exp_id": f.candExpID, "bench_exp_id": f.benchExpID, "metrics": p.metrics, "concurrency": p.concurrency, "reps": p.reps})
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(input, in, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, p.python, script, input)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	var r pyResult
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("decode %q: %w", out, err)
	}
	return &r, nil
}
