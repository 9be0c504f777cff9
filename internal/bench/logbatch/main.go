// Command logbatch is the issue-2 benchmark: it logs 100,000 metric points
// (20 runs × 50 keys × 100 steps) to a real MLflow server through the Go
// client's LogBatch and the same data through the official Python client's
// MlflowClient.log_batch, and prints both wall times and their ratio.
//
//	eval "$(scripts/teststack.sh env)"
//	go run ./internal/bench/logbatch [-concurrency N] [-reps 3]
//
// It reads MLWATCH_TEST_MLFLOW_URI and MLWATCH_TEST_PYTHON. For every run
// each client creates the run (not timed), builds the run's 5000 points and
// logs them with one log-batch call (both clients split it into requests of
// 1000 metrics; this part is timed), then ends the run (not timed). Go and
// Python take turns run by run, alternating who goes first, so that load
// changes on a shared machine hit both alike; the Python client lives in one
// long-running process, so interpreter start-up and `import mlflow` are not
// timed. The medians over -reps repetitions are reported. With -null-server
// both clients log to an in-process server that discards everything, which
// isolates the clients' own overhead from MLflow's.
//
// With -concurrency N (default 1: one run after another) the Go side logs N
// runs at once through the same client, as a Go pipeline logging several
// runs would: the N runs are created (not timed), their points are built and
// logged by N goroutines (timed: wall time until the last LogBatch returns),
// then the runs are ended (not timed). The Python side stays the official
// sequential MlflowClient.log_batch, one run after another; Go and Python
// take turns group by group of N runs.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mlwatch/mlwatch/client"
)

const pyWorker = `
import json, math, sys, time
from mlflow.tracking import MlflowClient
from mlflow.entities import Metric
uri, exp_id, keys, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
c = MlflowClient(tracking_uri=uri)
print("ready", flush=True)
for line in sys.stdin:
    r, base = (int(x) for x in line.split())
    rid = c.create_run(exp_id, run_name="py-%d" % r).info.run_id
    t0 = time.perf_counter()
    ms = [Metric("metric_%02d" % k, math.sin(r + k * 0.1 + s * 0.01), base + s, s) for k in range(keys) for s in range(steps)]
    c.log_batch(rid, metrics=ms)
    t1 = time.perf_counter()
    c.update_run(rid, status="FINISHED")
    print(json.dumps({"seconds": t1 - t0}), flush=True)
`

func main() {
	runs := flag.Int("runs", 20, "runs per client")
	keys := flag.Int("keys", 50, "metric keys per run")
	steps := flag.Int("steps", 100, "steps per key")
	reps := flag.Int("reps", 3, "repetitions")
	concurrency := flag.Int("concurrency", 1, "runs the Go client logs at once (Python stays sequential)")
	null := flag.Bool("null-server", false, "log to an in-process server that accepts and discards everything, to isolate client overhead")
	flag.Parse()
	uri := os.Getenv("MLWATCH_TEST_MLFLOW_URI")
	if *null {
		srv := httptest.NewServer(nullMLflow())
		defer srv.Close()
		uri = srv.URL
	}
	if *concurrency < 1 {
		fmt.Fprintln(os.Stderr, "logbatch: -concurrency must be at least 1")
		os.Exit(2)
	}
	if err := run(uri, *runs, *keys, *steps, *reps, *concurrency); err != nil {
		fmt.Fprintln(os.Stderr, "logbatch:", err)
		os.Exit(1)
	}
}

func run(uri string, runs, keys, steps, reps, concurrency int) error {
	python := os.Getenv("MLWATCH_TEST_PYTHON")
	if uri == "" || python == "" {
		return errors.New("MLWATCH_TEST_MLFLOW_URI and MLWATCH_TEST_PYTHON must be set (eval \"$(scripts/teststack.sh env)\")")
	}
	ctx := context.Background()
	c, err := client.New(uri)
	if err != nil {
		return err
	}
	exp, err := c.GetOrCreateExperiment(ctx, fmt.Sprintf("mlwatch-bench-logbatch-%d", time.Now().Unix()), nil)
	if err != nil {
		return err
	}
	py, err := startPy(ctx, python, uri, exp.ID, keys, steps)
	if err != nil {
		return err
	}
	defer py.close()
	points := runs * keys * steps
	fmt.Printf("MLflow %s, %d points (%d runs × %d keys × %d steps) per client, %d repetitions, Go concurrency %d\n",
		uri, points, runs, keys, steps, reps, concurrency)
	var goTimes, pyTimes []time.Duration
	for rep := 0; rep < reps; rep++ {
		var g, p time.Duration
		for first, group := 0, 0; first < runs; first, group = first+concurrency, group+1 {
			n := min(concurrency, runs-first)
			base := client.Millis(time.Now())
			for turn := 0; turn < 2; turn++ {
				if (group+turn)%2 == 0 {
					d, err := goRuns(ctx, c, exp.ID, first, n, keys, steps, base)
					if err != nil {
						return err
					}
					g += d
				} else {
					for r := first; r < first+n; r++ {
						d, err := py.logRun(r, base)
						if err != nil {
							return err
						}
						p += d
					}
				}
			}
		}
		goTimes, pyTimes = append(goTimes, g), append(pyTimes, p)
		fmt.Printf("rep %d: go %v  python %v  ratio %.2f×\n", rep+1, g.Round(time.Millisecond), p.Round(time.Millisecond), p.Seconds()/g.Seconds())
	}
	g, p := median(goTimes), median(pyTimes)
	fmt.Printf("median: go %v (%.0f points/s)  python %v (%.0f points/s)  ratio python/go %.2f×\n",
		g.Round(time.Millisecond), float64(points)/g.Seconds(), p.Round(time.Millisecond), float64(points)/p.Seconds(), p.Seconds()/g.Seconds())
	return nil
}

// goRuns creates runs first..first+n-1 (untimed), builds and logs each
// run's points with one LogBatch call, the n runs in n goroutines (timed:
// until the last LogBatch returns), and ends the runs (untimed). With n = 1
// it logs a single run as the sequential benchmark always did.
func goRuns(ctx context.Context, c *client.Client, expID string, first, n, keys, steps int, base int64) (time.Duration, error) {
	ids := make([]string, n)
	for i := range ids {
		run, err := c.CreateRun(ctx, client.CreateRunOptions{ExperimentID: expID, RunName: "go-" + strconv.Itoa(first+i)})
		if err != nil {
			return 0, err
		}
		ids[i] = run.Info.RunID
	}
	errs := make([]error, n)
	start := time.Now()
	if n == 1 {
		errs[0] = goLog(ctx, c, ids[0], first, keys, steps, base)
	} else {
		var wg sync.WaitGroup
		for i, id := range ids {
			wg.Go(func() { errs[i] = goLog(ctx, c, id, first+i, keys, steps, base) })
		}
		wg.Wait()
	}
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	for _, id := range ids {
		if _, err := c.UpdateRun(ctx, id, client.UpdateRunOptions{Status: client.RunFinished, EndTime: client.Millis(time.Now())}); err != nil {
			return 0, err
		}
	}
	return elapsed, nil
}

// goLog builds run r's points and logs them with one LogBatch call.
func goLog(ctx context.Context, c *client.Client, runID string, r, keys, steps int, base int64) error {
	ms := make([]client.Metric, 0, keys*steps)
	for k := 0; k < keys; k++ {
		key := fmt.Sprintf("metric_%02d", k)
		for s := 0; s < steps; s++ {
			ms = append(ms, client.Metric{Key: key, Value: math.Sin(float64(r) + float64(k)*0.1 + float64(s)*0.01), Timestamp: base + int64(s), Step: int64(s)})
		}
	}
	return c.LogBatch(ctx, runID, client.Batch{Metrics: ms})
}

// pyProc is a long-lived Python process logging one run per request.
type pyProc struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	stderr *strings.Builder
}

func startPy(ctx context.Context, python, uri, expID string, keys, steps int) (*pyProc, error) {
	cmd := exec.CommandContext(ctx, python, "-c", pyWorker, uri, expID, strconv.Itoa(keys), strconv.Itoa(steps))
	p := &pyProc{cmd: cmd, stderr: &strings.Builder{}}
	cmd.Stderr = p.stderr
	var err error
	if p.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.out = bufio.NewScanner(stdout)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	for p.out.Scan() {
		if p.out.Text() == "ready" {
			return p, nil
		}
	}
	p.close()
	return nil, fmt.Errorf("python worker did not start: %s", tail(p.stderr.String(), 1500))
}

// logRun asks the worker to log run r and returns its timed part.
func (p *pyProc) logRun(r int, base int64) (time.Duration, error) {
	if _, err := fmt.Fprintf(p.in, "%d %d\n", r, base); err != nil {
		return 0, fmt.Errorf("python worker: %v: %s", err, tail(p.stderr.String(), 1500))
	}
	// MLflow may print "View run ..." lines to stdout; the result is the JSON line.
	for p.out.Scan() {
		line := p.out.Text()
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var res struct{ Seconds float64 }
		if err := json.Unmarshal([]byte(line), &res); err != nil {
			return 0, fmt.Errorf("python output %q: %v", line, err)
		}
		return time.Duration(res.Seconds * float64(time.Second)), nil
	}
	return 0, fmt.Errorf("python worker exited: %s", tail(p.stderr.String(), 1500))
}

func (p *pyProc) close() {
	p.in.Close()
	_ = p.cmd.Wait()
}

// nullMLflow answers the few endpoints the benchmark uses with minimal
// valid MLflow JSON and discards every log-batch body after reading it.
func nullMLflow() http.Handler {
	var n atomic.Int64
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, body string) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}
	exp := `{"experiment":{"experiment_id":"1","name":"bench","lifecycle_stage":"active"}}`
	mux.HandleFunc("/api/2.0/mlflow/experiments/get-by-name", func(w http.ResponseWriter, r *http.Request) { reply(w, exp) })
	mux.HandleFunc("/api/2.0/mlflow/experiments/get", func(w http.ResponseWriter, r *http.Request) { reply(w, exp) })
	runJSON := func(id, status string) string {
		return `{"run":{"info":{"run_id":"` + id + `","run_uuid":"` + id + `","experiment_id":"1","status":"` + status +
			`","start_time":1,"lifecycle_stage":"active","artifact_uri":"mlflow-artifacts:/1/` + id + `/artifacts"},"data":{}}}`
	}
	mux.HandleFunc("/api/2.0/mlflow/runs/create", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		reply(w, runJSON(fmt.Sprintf("%032x", n.Add(1)), "RUNNING"))
	})
	mux.HandleFunc("/api/2.0/mlflow/runs/get", func(w http.ResponseWriter, r *http.Request) {
		reply(w, runJSON(r.URL.Query().Get("run_id"), "FINISHED"))
	})
	mux.HandleFunc("/api/2.0/mlflow/runs/update", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		reply(w, `{"run_info":{"run_id":"x","experiment_id":"1","status":"FINISHED","lifecycle_stage":"active"}}`)
	})
	mux.HandleFunc("/api/2.0/mlflow/runs/log-batch", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		reply(w, `{}`)
	})
	return mux
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
