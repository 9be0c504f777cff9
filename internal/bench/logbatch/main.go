// Command logbatch is the issue-2 benchmark: it logs 100,000 metric points
// (20 runs × 50 keys × 100 steps) to a real MLflow server through the Go
// client's LogBatch and the same data through the official Python client's
// MlflowClient.log_batch, and prints both wall times and their ratio.
//
//	eval "$(scripts/teststack.sh env)"
//	go run ./internal/bench/logbatch
//
// It reads MLWATCH_TEST_MLFLOW_URI and MLWATCH_TEST_PYTHON. Each side
// creates its runs first (not timed), then builds and logs the points of
// each run in one log-batch call per run (both clients split it into
// requests of 1000 metrics), sequentially. Go and Python alternate for
// -reps repetitions; the medians are reported. With -concurrency > 1 the Go
// side also reports a run with that many runs logged in parallel. With
// -null-server both clients log to an in-process server that discards
// everything, which isolates the clients' own overhead from MLflow's.
package main

import (
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

const pyBench = `
import json, math, sys, time
from mlflow.tracking import MlflowClient
from mlflow.entities import Metric
uri, exp_id, runs, keys, steps, base = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
c = MlflowClient(tracking_uri=uri)
run_ids = [c.create_run(exp_id, run_name="py-%d" % i).info.run_id for i in range(runs)]
t0 = time.perf_counter()
for r, rid in enumerate(run_ids):
    ms = [Metric("metric_%02d" % k, math.sin(r + k * 0.1 + s * 0.01), base + s, s) for k in range(keys) for s in range(steps)]
    c.log_batch(rid, metrics=ms)
t1 = time.perf_counter()
for rid in run_ids:
    c.set_terminated(rid)
sys.stdout.write("\n" + json.dumps({"seconds": t1 - t0}) + "\n")
`

func main() {
	runs := flag.Int("runs", 20, "runs")
	keys := flag.Int("keys", 50, "metric keys per run")
	steps := flag.Int("steps", 100, "steps per key")
	reps := flag.Int("reps", 3, "repetitions (Go and Python alternate)")
	conc := flag.Int("concurrency", 1, "also time the Go client with this many runs in parallel (1 = skip)")
	null := flag.Bool("null-server", false, "log to an in-process server that accepts and discards everything, to isolate client overhead")
	flag.Parse()
	uri := os.Getenv("MLWATCH_TEST_MLFLOW_URI")
	if *null {
		srv := httptest.NewServer(nullMLflow())
		defer srv.Close()
		uri = srv.URL
	}
	if err := run(uri, *runs, *keys, *steps, *reps, *conc); err != nil {
		fmt.Fprintln(os.Stderr, "logbatch:", err)
		os.Exit(1)
	}
}

func run(uri string, runs, keys, steps, reps, conc int) error {
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
	points := runs * keys * steps
	fmt.Printf("MLflow %s, %d points (%d runs × %d keys × %d steps), %d repetitions\n", uri, points, runs, keys, steps, reps)
	var goTimes, pyTimes, goConcTimes []time.Duration
	for rep := 0; rep < reps; rep++ {
		d, err := goSide(ctx, c, exp.ID, runs, keys, steps, 1)
		if err != nil {
			return err
		}
		goTimes = append(goTimes, d)
		p, err := pySide(ctx, python, uri, exp.ID, runs, keys, steps)
		if err != nil {
			return err
		}
		pyTimes = append(pyTimes, p)
		line := fmt.Sprintf("rep %d: go %v  python %v", rep+1, d.Round(time.Millisecond), p.Round(time.Millisecond))
		if conc > 1 {
			dc, err := goSide(ctx, c, exp.ID, runs, keys, steps, conc)
			if err != nil {
				return err
			}
			goConcTimes = append(goConcTimes, dc)
			line += fmt.Sprintf("  go(%d parallel) %v", conc, dc.Round(time.Millisecond))
		}
		fmt.Println(line)
	}
	g, p := median(goTimes), median(pyTimes)
	fmt.Printf("median: go %v (%.0f points/s)  python %v (%.0f points/s)  ratio python/go %.2f×\n",
		g.Round(time.Millisecond), float64(points)/g.Seconds(), p.Round(time.Millisecond), float64(points)/p.Seconds(), p.Seconds()/g.Seconds())
	if conc > 1 {
		gc := median(goConcTimes)
		fmt.Printf("median: go with %d runs in parallel %v  ratio python/go %.2f×\n", conc, gc.Round(time.Millisecond), p.Seconds()/gc.Seconds())
	}
	return nil
}

// goSide creates the runs (untimed), then times building and logging every point.
func goSide(ctx context.Context, c *client.Client, expID string, runs, keys, steps, conc int) (time.Duration, error) {
	ids := make([]string, runs)
	for i := range ids {
		r, err := c.CreateRun(ctx, client.CreateRunOptions{ExperimentID: expID, RunName: "go-" + strconv.Itoa(i)})
		if err != nil {
			return 0, err
		}
		ids[i] = r.Info.RunID
	}
	base := client.Millis(time.Now())
	names := make([]string, keys)
	for k := range names {
		names[k] = fmt.Sprintf("metric_%02d", k)
	}
	logRun := func(r int) error {
		ms := make([]client.Metric, 0, keys*steps)
		for k := 0; k < keys; k++ {
			for s := 0; s < steps; s++ {
				ms = append(ms, client.Metric{Key: names[k], Value: math.Sin(float64(r) + float64(k)*0.1 + float64(s)*0.01), Timestamp: base + int64(s), Step: int64(s)})
			}
		}
		return c.LogBatch(ctx, ids[r], client.Batch{Metrics: ms})
	}
	start := time.Now()
	var firstErr error
	if conc <= 1 {
		for r := range ids {
			if err := logRun(r); err != nil {
				return 0, err
			}
		}
	} else {
		var wg sync.WaitGroup
		var mu sync.Mutex
		next := 0
		for w := 0; w < conc; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					mu.Lock()
					r := next
					next++
					mu.Unlock()
					if r >= len(ids) {
						return
					}
					if err := logRun(r); err != nil {
						mu.Lock()
						firstErr = errors.Join(firstErr, err)
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
	}
	elapsed := time.Since(start)
	if firstErr != nil {
		return 0, firstErr
	}
	for _, id := range ids {
		if _, err := c.UpdateRun(ctx, id, client.UpdateRunOptions{Status: client.RunFinished, EndTime: client.Millis(time.Now())}); err != nil {
			return 0, err
		}
	}
	return elapsed, nil
}

// pySide runs the same workload in the Python client and returns its timed part.
func pySide(ctx context.Context, python, uri, expID string, runs, keys, steps int) (time.Duration, error) {
	base := strconv.FormatInt(client.Millis(time.Now()), 10)
	cmd := exec.CommandContext(ctx, python, "-c", pyBench, uri, expID, strconv.Itoa(runs), strconv.Itoa(keys), strconv.Itoa(steps), base)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("python: %v: %s", err, tail(stderr.String(), 1500))
	}
	// MLflow prints "View run ..." lines to stdout; the result is the last line.
	var res struct{ Seconds float64 }
	if err := json.Unmarshal([]byte(lastLine(string(out))), &res); err != nil {
		return 0, fmt.Errorf("python output %q: %v", out, err)
	}
	return time.Duration(res.Seconds * float64(time.Second)), nil
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
	mux.HandleFunc("/api/2.0/mlflow/experiments/get-by-name", func(w http.ResponseWriter, r *http.Request) {
		reply(w, `{"experiment":{"experiment_id":"1","name":"bench","lifecycle_stage":"active"}}`)
	})
	mux.HandleFunc("/api/2.0/mlflow/experiments/get", func(w http.ResponseWriter, r *http.Request) {
		reply(w, `{"experiment":{"experiment_id":"1","name":"bench","lifecycle_stage":"active"}}`)
	})
	mux.HandleFunc("/api/2.0/mlflow/runs/create", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		id := fmt.Sprintf("%032x", n.Add(1))
		reply(w, `{"run":{"info":{"run_id":"`+id+`","run_uuid":"`+id+`","experiment_id":"1","status":"RUNNING","start_time":1,"lifecycle_stage":"active","artifact_uri":"mlflow-artifacts:/1/`+id+`/artifacts"},"data":{}}}`)
	})
	mux.HandleFunc("/api/2.0/mlflow/runs/get", func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("run_id")
		reply(w, `{"run":{"info":{"run_id":"`+id+`","run_uuid":"`+id+`","experiment_id":"1","status":"FINISHED","start_time":1,"lifecycle_stage":"active"},"data":{}}}`)
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

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
