// Command batcher measures the client batcher against a real MLflow server
// (see BENCHMARKS.md, "client: batcher").
//
//	go run ./internal/bench/batcher -mode throughput -uri $MLWATCH_TEST_MLFLOW_URI
//	go run ./internal/bench/batcher -mode raw        -uri $MLWATCH_TEST_MLFLOW_URI
//	go run ./internal/bench/batcher -mode memory
//
// throughput: 200,000 metric points across 20 runs through the Batcher,
// timed from the first enqueue to the end of Flush.
// raw: the same points as pre-encoded log-batch bodies of 1000 points, sent
// by a minimal net/http sender with the same concurrency: the server's limit.
// memory: MLflow unreachable (a refused loopback port), 1,000,000 points
// enqueued with a spool directory; reports peak RSS (VmHWM) and what was
// spooled.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mlwatch/mlwatch/client"
)

func main() {
	mode := flag.String("mode", "throughput", "throughput, raw or memory")
	uri := flag.String("uri", os.Getenv("MLWATCH_TEST_MLFLOW_URI"), "MLflow tracking URI")
	points := flag.Int("points", 200_000, "points to log (memory mode: 1,000,000 by default)")
	runs := flag.Int("runs", 20, "runs")
	senders := flag.Int("senders", client.DefaultBatcherSenders, "concurrent senders")
	spoolDir := flag.String("spool", "", "spool directory (memory mode; default a temp dir)")
	flag.Parse()
	log.SetFlags(0)
	var err error
	switch *mode {
	case "throughput":
		err = throughput(*uri, *points, *runs, *senders)
	case "raw":
		err = raw(*uri, *points, *runs, *senders)
	case "memory":
		n := *points
		if !flagSet("points") {
			n = 1_000_000
		}
		err = memory(n, *spoolDir)
	default:
		err = fmt.Errorf("unknown mode %q", *mode)
	}
	if err != nil {
		log.Fatal(err)
	}
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// setup creates an experiment and n runs.
func setup(c *client.Client, n int) ([]string, error) {
	ctx := context.Background()
	exp, err := c.CreateExperiment(ctx, fmt.Sprintf("bench-batcher-%d", time.Now().UnixNano()), nil)
	if err != nil {
		return nil, err
	}
	ids := make([]string, n)
	for i := range ids {
		r, err := c.CreateRun(ctx, client.CreateRunOptions{ExperimentID: exp, RunName: "run" + strconv.Itoa(i)})
		if err != nil {
			return nil, err
		}
		ids[i] = r.Info.RunID
	}
	return ids, nil
}

const keysPerRun = 10

func throughput(uri string, points, nRuns, senders int) error {
	c, err := client.New(uri, client.WithTimeout(60*time.Second))
	if err != nil {
		return err
	}
	ids, err := setup(c, nRuns)
	if err != nil {
		return err
	}
	b, err := client.NewBatcher(c, client.WithSenders(senders))
	if err != nil {
		return err
	}
	keys := make([]string, keysPerRun)
	for i := range keys {
		keys[i] = "metric_" + strconv.Itoa(i)
	}
	steps := points / nRuns / keysPerRun
	start := time.Now()
	for s := 0; s < steps; s++ {
		for _, r := range ids {
			for _, k := range keys {
				if err := b.LogMetric(r, k, float64(s)*0.001, int64(s)); err != nil {
					return err
				}
			}
		}
	}
	enq := time.Since(start)
	if err := b.Flush(context.Background()); err != nil {
		return err
	}
	total := time.Since(start)
	st := b.Stats()
	if err := b.Close(); err != nil {
		return err
	}
	n := steps * nRuns * keysPerRun
	fmt.Printf("go-batcher points=%d runs=%d senders=%d enqueue=%v total=%v points_per_s=%.0f batches=%d retried=%d failed=%d\n",
		n, nRuns, senders, enq.Round(time.Millisecond), total.Round(time.Millisecond), float64(n)/total.Seconds(), st.Batches, st.Retried, st.Failed)
	return nil
}

// raw sends pre-encoded bodies of 1000 points with a bare net/http client.
func raw(uri string, points, nRuns, senders int) error {
	c, err := client.New(uri)
	if err != nil {
		return err
	}
	ids, err := setup(c, nRuns)
	if err != nil {
		return err
	}
	steps := points / nRuns / keysPerRun
	ts := time.Now().UnixMilli()
	var bodies [][]byte
	for _, r := range ids {
		var buf bytes.Buffer
		count := 0
		flush := func() {
			if count == 0 {
				return
			}
			buf.WriteString("]}")
			bodies = append(bodies, append([]byte(nil), buf.Bytes()...))
			buf.Reset()
			count = 0
		}
		for s := 0; s < steps; s++ {
			for k := 0; k < keysPerRun; k++ {
				if count == 0 {
					fmt.Fprintf(&buf, `{"run_id":%q,"metrics":[`, r)
				} else {
					buf.WriteByte(',')
				}
				fmt.Fprintf(&buf, `{"key":"metric_%d","value":%s,"timestamp":%d,"step":%d}`, k, strconv.FormatFloat(float64(s)*0.001, 'g', -1, 64), ts, s)
				count++
				if count == 1000 {
					flush()
				}
			}
		}
		flush()
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	url := strings.TrimRight(uri, "/") + "/api/2.0/mlflow/runs/log-batch"
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for w := 0; w < senders; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(bodies) {
					return
				}
				resp, err := hc.Post(url, "application/json", bytes.NewReader(bodies[i]))
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					firstErr.CompareAndSwap(nil, fmt.Errorf("status %d", resp.StatusCode))
					return
				}
			}
		}()
	}
	wg.Wait()
	total := time.Since(start)
	if e := firstErr.Load(); e != nil {
		return e.(error)
	}
	n := steps * nRuns * keysPerRun
	fmt.Printf("raw-sender points=%d runs=%d senders=%d bodies=%d total=%v points_per_s=%.0f\n",
		n, nRuns, senders, len(bodies), total.Round(time.Millisecond), float64(n)/total.Seconds())
	return nil
}

// memory enqueues points while MLflow is unreachable and reports peak RSS.
func memory(points int, dir string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a port nobody serves
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	if dir == "" {
		dir, err = os.MkdirTemp("", "batcher-spool-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	c, err := client.New("http://"+addr, client.WithTimeout(time.Second))
	if err != nil {
		return err
	}
	b, err := client.NewBatcher(c, client.WithSpoolDir(dir), client.WithRetryBudget(time.Second),
		client.WithoutSpoolReplay())
	if err != nil {
		return err
	}
	keys := make([]string, 50)
	for i := range keys {
		keys[i] = "feature_drift/" + strconv.Itoa(i)
	}
	start := time.Now()
	var maxQueue int64
	for i := 0; i < points; i++ {
		run := "run" + strconv.Itoa(i%20)
		if err := b.LogMetric(run, keys[i%len(keys)], float64(i), int64(i)); err != nil {
			return err
		}
		if i%10000 == 0 {
			if q := b.Stats().QueueBytes; q > maxQueue {
				maxQueue = q
			}
		}
	}
	enq := time.Since(start)
	rssEnq := vmHWM()
	if err := b.Close(); err != nil {
		return err
	}
	st := b.Stats()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("memory points=%d enqueue=%v queue_bound_MiB=%d max_queue_bytes_MiB=%.1f peak_rss_MiB=%.1f (after enqueue %.1f) heap_sys_MiB=%.1f spooled=%d failed=%d dropped=%d spool_segments=%d\n",
		points, enq.Round(time.Millisecond), client.DefaultBatcherMaxQueueBytes>>20, float64(maxQueue)/(1<<20),
		float64(vmHWM())/(1<<20), float64(rssEnq)/(1<<20), float64(ms.HeapSys)/(1<<20), st.Spooled, st.Failed, st.Dropped, st.SpoolSegments)
	if st.Spooled != int64(points) {
		return fmt.Errorf("spooled %d of %d points", st.Spooled, points)
	}
	return nil
}

// vmHWM returns the process's peak resident set size in bytes (Linux).
func vmHWM() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}
