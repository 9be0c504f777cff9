//go:build integration

package client

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlwatch/mlwatch/internal/faultproxy"
)

// The batcher's fault tests run against the real MLflow server of `make
// test` (MLWATCH_TEST_MLFLOW_URI) behind internal/faultproxy on 127.0.0.1.

func batcherMLflowURI(t *testing.T) string {
	t.Helper()
	uri := os.Getenv("MLWATCH_TEST_MLFLOW_URI")
	if uri == "" {
		t.Fatal("MLWATCH_TEST_MLFLOW_URI is not set (run `make test` or scripts/teststack.sh start)")
	}
	return uri
}

// batcherRun creates a fresh experiment and run directly on the server.
func batcherRun(t *testing.T, c *Client, n int) []string {
	t.Helper()
	ctx := context.Background()
	exp, err := c.CreateExperiment(ctx, fmt.Sprintf("batcher-%s-%d", t.Name(), time.Now().UnixNano()), nil)
	if err != nil {
		t.Fatalf("CreateExperiment: %v", err)
	}
	var ids []string
	for i := 0; i < n; i++ {
		r, err := c.CreateRun(ctx, CreateRunOptions{ExperimentID: exp, RunName: fmt.Sprintf("r%d", i)})
		if err != nil {
			t.Fatalf("CreateRun: %v", err)
		}
		ids = append(ids, r.Info.RunID)
	}
	return ids
}

// pointValue is the value logged at step s: NaN, +Inf and -Inf included.
func pointValue(s int) float64 {
	switch s % 97 {
	case 3:
		return math.NaN()
	case 5:
		return math.Inf(1)
	case 7:
		return math.Inf(-1)
	}
	return float64(s)*0.5 - 17
}

// checkSeries reads a metric back with get-history and checks that it holds
// exactly one point for each wanted step, with the value sent (the SQL
// store returns ±MaxFloat64 for ±Inf).
func checkSeries(t *testing.T, c *Client, runID, key string, want map[int64]bool) {
	t.Helper()
	seen := map[int64]int{}
	for m, err := range c.GetMetricHistorySeq(context.Background(), runID, key) {
		if err != nil {
			t.Fatalf("GetMetricHistory %s/%s: %v", runID, key, err)
		}
		seen[m.Step]++
		wantV := pointValue(int(m.Step))
		got := NormalizeInf(m.Value)
		if !(got == wantV || math.IsNaN(got) && math.IsNaN(wantV)) {
			t.Errorf("%s step %d: value %v, want %v", key, m.Step, m.Value, wantV)
		}
	}
	missing, dup, extra := 0, 0, 0
	for s := range want {
		if seen[s] == 0 {
			missing++
		}
	}
	for s, n := range seen {
		if n > 1 {
			dup += n - 1
		}
		if !want[s] {
			extra++
		}
	}
	if missing+dup+extra > 0 {
		t.Errorf("%s/%s: %d missing, %d duplicated, %d unexpected of %d points", runID, key, missing, dup, extra, len(want))
	}
}

// logProgress logs the batcher's and the proxy's counters every 10 s.
func logProgress(t *testing.T, b *Batcher, p *faultproxy.Proxy) func() {
	done := make(chan struct{})
	go func() {
		tk := time.NewTicker(10 * time.Second)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
				t.Logf("progress: batcher %+v proxy %+v", b.Stats(), p.Stats())
			}
		}
	}()
	return func() { close(done) }
}

func steps(n int) map[int64]bool {
	m := make(map[int64]bool, n)
	for i := 0; i < n; i++ {
		m[int64(i)] = true
	}
	return m
}

// TestBatcherUnderFaultsIntegration logs 100,000 points (NaN and ±Inf
// included) through a proxy answering 20% of requests with 503/429,
// resetting 5% of connections and answering 2% after the client's timeout,
// and reads them back: exactly the points sent, none missing, none twice.
func TestBatcherUnderFaultsIntegration(t *testing.T) {
	uri := batcherMLflowURI(t)
	direct, err := New(uri)
	if err != nil {
		t.Fatal(err)
	}
	runs := batcherRun(t, direct, 4)
	// The per-attempt timeout must sit well above a normal log-batch
	// answer of the (single-worker, SQLite) dev server; slow answers come
	// after it.
	p, err := faultproxy.New(uri, faultproxy.Config{ErrorRate: 0.20, ResetRate: 0.05, SlowRate: 0.02, SlowDelay: 12 * time.Second, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := New(p.URL(), WithTimeout(8*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBatcher(c, WithSenders(4), WithRetryBackoff(50*time.Millisecond, time.Second), WithRetryBudget(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	const keys, perKey = 5, 5000 // 4 runs × 5 keys × 5000 = 100,000 points
	start := time.Now()
	for s := 0; s < perKey; s++ {
		for _, r := range runs {
			for k := 0; k < keys; k++ {
				if err := b.LogMetric(r, "m"+strconv.Itoa(k), pointValue(s), int64(s)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	stopProgress := logProgress(t, b, p)
	err = b.Flush(ctx)
	stopProgress()
	if err != nil {
		t.Fatalf("Flush: %v", err)
	}
	elapsed := time.Since(start)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st := b.Stats()
	ps := p.Stats()
	t.Logf("100,000 points in %v; batcher %+v; proxy %+v", elapsed, st, ps)
	if st.Sent != 100_000 || st.Failed != 0 || st.Dropped != 0 {
		t.Errorf("Stats = %+v, want 100000 sent", st)
	}
	if ps.Errors == 0 || ps.ResetsBefore+ps.ResetsAfter == 0 || ps.Slow == 0 || st.Retried == 0 {
		t.Errorf("faults not exercised: proxy %+v, retried %d", ps, st.Retried)
	}
	want := steps(perKey)
	for _, r := range runs {
		for k := 0; k < keys; k++ {
			checkSeries(t, direct, r, "m"+strconv.Itoa(k), want)
		}
	}
}

// TestBatcherServerDownIntegration: MLflow unreachable for the whole job
// (the proxy refuses connections). The job finishes with its points in the
// spool; once the server is back, a replay by the next process delivers
// 100% of them, once. A second phase checks that a live batcher's
// background probe replays by itself when the server returns.
func TestBatcherServerDownIntegration(t *testing.T) {
	uri := batcherMLflowURI(t)
	direct, err := New(uri)
	if err != nil {
		t.Fatal(err)
	}
	runs := batcherRun(t, direct, 2)
	p, err := faultproxy.New(uri, faultproxy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.SetDown(true); err != nil {
		t.Fatal(err)
	}
	c, err := New(p.URL(), WithTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	const n = 10_000
	b, err := NewBatcher(c, WithSpoolDir(dir), WithRetryBudget(500*time.Millisecond), WithRetryBackoff(50*time.Millisecond, 200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for s := 0; s < n; s++ {
		if err := b.LogMetric(runs[0], "loss", pointValue(s), int64(s)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.LogParam(runs[0], "lr", "0.01"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := b.Close(); err != nil {
		t.Fatalf("Close while down: %v", err)
	}
	if d := time.Since(start); d > DefaultBatcherCloseTimeout+5*time.Second {
		t.Errorf("Close took %v", d)
	}
	if st := b.Stats(); st.Spooled != n+1 || st.Sent != 0 {
		t.Fatalf("Stats after the job = %+v, want %d spooled", st, n+1)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.spool"))
	if len(files) == 0 {
		t.Fatal("no spool segments written")
	}
	if err := p.SetDown(false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rs, err := ReplaySpool(ctx, c, dir)
	if err != nil {
		t.Fatalf("ReplaySpool: %v", err)
	}
	t.Logf("replay: %+v", rs)
	if rs.Replayed != n+1 || rs.Segments != 0 {
		t.Errorf("ReplayStats = %+v, want %d replayed", rs, n+1)
	}
	checkSeries(t, direct, runs[0], "loss", steps(n))
	run, err := direct.GetRun(ctx, runs[0])
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := run.Param("lr"); v != "0.01" {
		t.Errorf("param lr = %q, want 0.01", v)
	}

	// Phase 2: the server goes down and comes back under a live batcher.
	if err := p.SetDown(true); err != nil {
		t.Fatal(err)
	}
	b2, err := NewBatcher(c, WithSpoolDir(dir), WithRetryBudget(300*time.Millisecond),
		WithRetryBackoff(50*time.Millisecond, 200*time.Millisecond), WithSpoolProbeInterval(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	for s := 0; s < n; s++ {
		if err := b2.LogMetric(runs[1], "loss", pointValue(s), int64(s)); err != nil {
			t.Fatal(err)
		}
	}
	for b2.Stats().Spooled < n {
		time.Sleep(50 * time.Millisecond)
		if ctx.Err() != nil {
			t.Fatalf("points not spooled: %+v", b2.Stats())
		}
	}
	if err := p.SetDown(false); err != nil {
		t.Fatal(err)
	}
	for b2.Stats().Replayed < n { // the background probe notices by itself
		time.Sleep(50 * time.Millisecond)
		if ctx.Err() != nil {
			t.Fatalf("not replayed: %+v", b2.Stats())
		}
	}
	if err := b2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	checkSeries(t, direct, runs[1], "loss", steps(n))
}

const killChildEnv = "MLWATCH_BATCHER_KILL_CHILD"

// TestBatcherSIGKILLIntegration re-executes the test binary as a child that
// logs through a spooling batcher and is killed with SIGKILL mid-run; this
// process then replays the spool, as the next run of a job would.
//
// With WithSyncSpool every point whose LogMetric call returned is recovered
// (no loss window). In the default mode, what was spooled is recovered; the
// points still in memory (at most the queue: not yet sent nor spooled) are
// the documented loss window.
func TestBatcherSIGKILLIntegration(t *testing.T) {
	if os.Getenv(killChildEnv) != "" {
		killChild(t)
		return
	}
	uri := batcherMLflowURI(t)
	direct, err := New(uri)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"sync", "default"} {
		t.Run(mode, func(t *testing.T) {
			runID := batcherRun(t, direct, 1)[0]
			p, err := faultproxy.New(uri, faultproxy.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if mode == "default" {
				// MLflow unreachable: points reach the spool after the
				// retry budget (the case the spool exists for).
				if err := p.SetDown(true); err != nil {
					t.Fatal(err)
				}
			}
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestBatcherSIGKILLIntegration$", "-test.v")
			cmd.Env = append(os.Environ(), killChildEnv+"="+mode, "MLWATCH_KILL_URI="+p.URL(), "MLWATCH_KILL_DIR="+dir, "MLWATCH_KILL_RUN="+runID)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			acked, spooled := int64(-1), int64(0)
			sc := bufio.NewScanner(out)
			killAt := int64(1500)
			if mode == "sync" {
				killAt = 300 // one fsync per call: keep the test short
			}
			killed := false
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) != 2 {
					continue
				}
				v, _ := strconv.ParseInt(f[1], 10, 64)
				switch f[0] {
				case "ACK":
					acked = v
				case "SPOOLED":
					spooled = v
				}
				if !killed && (acked >= killAt && (mode == "sync" || spooled > 0)) {
					_ = cmd.Process.Signal(syscall.SIGKILL)
					killed = true
				}
			}
			err = cmd.Wait()
			if !killed {
				t.Fatalf("child ended before it was killed: %v", err)
			}
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("child not killed by SIGKILL: %v", cmd.ProcessState)
			}
			if mode == "default" {
				if err := p.SetDown(false); err != nil {
					t.Fatal(err)
				}
			}
			c, err := New(p.URL())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			rs, err := ReplaySpool(ctx, c, dir)
			if err != nil {
				t.Fatalf("ReplaySpool: %v", err)
			}
			got := map[int64]int{}
			for m, err := range direct.GetMetricHistorySeq(ctx, runID, "loss") {
				if err != nil {
					t.Fatal(err)
				}
				got[m.Step]++
			}
			var recovered int64
			for s, n := range got {
				if n > 1 {
					t.Errorf("step %d stored %d times", s, n)
				}
				recovered++
			}
			// The child's reports lag its calls by up to 50 points.
			t.Logf("mode %s: child reported steps 0..%d acknowledged and %d spooled; replay %+v; recovered %d distinct points",
				mode, acked, spooled, rs, recovered)
			switch mode {
			case "sync":
				for s := int64(0); s <= acked; s++ {
					if got[s] == 0 {
						t.Errorf("sync spool: acknowledged step %d lost", s)
					}
				}
			case "default":
				if recovered < spooled {
					t.Errorf("recovered %d points, fewer than the %d the child saw spooled", recovered, spooled)
				}
			}
		})
	}
}

// killChild logs steps of metric "loss" forever, printing "ACK <step>"
// after each call returns and "SPOOLED <n>" as the spool grows.
func killChild(t *testing.T) {
	mode := os.Getenv(killChildEnv)
	c, err := New(os.Getenv("MLWATCH_KILL_URI"), WithTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	opts := []BatcherOption{WithSpoolDir(os.Getenv("MLWATCH_KILL_DIR")), WithRetryBudget(200 * time.Millisecond),
		WithRetryBackoff(20*time.Millisecond, 100*time.Millisecond), WithFlushInterval(50 * time.Millisecond)}
	if mode == "sync" {
		opts = append(opts, WithSyncSpool())
	}
	b, err := NewBatcher(c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	run := os.Getenv("MLWATCH_KILL_RUN")
	w := bufio.NewWriter(os.Stdout)
	deadline := time.Now().Add(2 * time.Minute) // never outlive a parent that failed to kill us
	for s := int64(0); ; s++ {
		if time.Now().After(deadline) {
			os.Exit(3)
		}
		if err := b.LogMetric(run, "loss", float64(s), s); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(w, "ACK %d\n", s)
		if s%50 == 0 {
			fmt.Fprintf(w, "SPOOLED %d\n", b.Stats().Spooled)
			w.Flush()
			time.Sleep(time.Millisecond)
		}
	}
}
