// Command artifacts benchmarks artifact uploads of the Go client against
// MLflow's Python client on the same servers, in one run: a large file and a
// directory of many small files, through the proxied route
// (mlflow-artifacts:/) and the S3 route (s3:// on moto). It prints a
// Markdown table and the Go process's peak RSS while uploading (VmHWM,
// reset before each Go upload through /proc/self/clear_refs).
//
// Usage (with the dev stack running, see scripts/teststack.sh):
//
//	eval "$(scripts/teststack.sh env)"
//	go run ./internal/bench/artifacts -size 1GiB -files 1000
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/mlwatch/mlwatch/client"
)

// pyScript times MlflowClient().log_artifact / log_artifacts inside Python
// (interpreter start and `import mlflow` are excluded and reported apart).
const pyScript = `
import json, sys, time
t0 = time.perf_counter()
from mlflow import MlflowClient
c = MlflowClient()
imported = time.perf_counter() - t0
run_id, big, tree, what = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
out = {"import_s": imported}
if what == "file":
    t = time.perf_counter(); c.log_artifact(run_id, big, "file"); out["file_s"] = time.perf_counter() - t
if what == "dir":
    t = time.perf_counter(); c.log_artifacts(run_id, tree, "dir"); out["dir_s"] = time.perf_counter() - t
print(json.dumps(out))
`

type result struct {
	route, what     string
	bytes           int64
	goS, pyS        float64
	goRSS, baseline float64
}

func main() {
	var (
		proxied   = flag.String("mlflow", os.Getenv("MLWATCH_TEST_MLFLOW_URI"), "MLflow with proxied artifacts")
		s3URI     = flag.String("mlflow-s3", os.Getenv("MLWATCH_TEST_MLFLOW_S3_URI"), "MLflow with an s3:// artifact root on moto")
		moto      = flag.String("moto", os.Getenv("MLWATCH_TEST_MOTO_URL"), "moto endpoint (MLFLOW_S3_ENDPOINT_URL)")
		python    = flag.String("python", os.Getenv("MLWATCH_TEST_PYTHON"), "python with mlflow")
		sizeFlag  = flag.String("size", "1GiB", "size of the large file (e.g. 1GiB, 256MiB)")
		nFiles    = flag.Int("files", 1000, "number of small files in the directory")
		smallMax  = flag.Int("small-max", 16<<10, "small files are 1..small-max bytes")
		routes    = flag.String("routes", "proxied,s3", "routes to measure")
		what      = flag.String("what", "file,dir", "file, dir or both")
		conc      = flag.Int("concurrency", 4, "Go client WithConcurrency")
		partSize  = flag.Int64("part-size", 0, "Go client WithPartSize in bytes (0: default)")
		tmpParent = flag.String("tmp", "", "directory for the test data (default: os.TempDir)")
		runs      = flag.Int("runs", 1, "repeat every measurement this many times; the table shows medians")
	)
	flag.Parse()
	size, err := parseSize(*sizeFlag)
	if err != nil {
		fatal(err)
	}
	if *moto != "" {
		os.Setenv("MLFLOW_S3_ENDPOINT_URL", *moto)
	}
	tmp, err := os.MkdirTemp(*tmpParent, "mlwatch-bench-artifacts-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(tmp)
	big := filepath.Join(tmp, "big.bin")
	tree := filepath.Join(tmp, "tree")
	start := time.Now()
	if strings.Contains(*what, "file") {
		if err := writeRandomFile(big, size); err != nil {
			fatal(err)
		}
	}
	var treeBytes int64
	if strings.Contains(*what, "dir") {
		if treeBytes, err = writeTree(tree, *nFiles, *smallMax); err != nil {
			fatal(err)
		}
	}
	fmt.Fprintf(os.Stderr, "test data ready in %s\n", time.Since(start).Round(time.Millisecond))

	ctx := context.Background()
	var results []result
	for range *runs {
		for _, route := range strings.Split(*routes, ",") {
			rs, err := measureRoute(ctx, route, *proxied, *s3URI, *moto, *python, big, tree, *what, size, treeBytes, *conc, *partSize)
			if err != nil {
				fatal(err)
			}
			results = append(results, rs...)
		}
	}
	printTable(results, *nFiles)
}

// measureRoute uploads with Go then Python into two fresh runs of one
// server and removes the uploads afterwards.
func measureRoute(ctx context.Context, route, proxied, s3URI, moto, python, big, tree, what string, size, treeBytes int64, conc int, partSize int64) ([]result, error) {
	uri := proxied
	if route == "s3" {
		uri = s3URI
	}
	if uri == "" {
		return nil, fmt.Errorf("no tracking URI for route %s", route)
	}
	c, err := client.New(uri)
	if err != nil {
		return nil, err
	}
	exp, err := c.GetOrCreateExperiment(ctx, "mlwatch-bench-artifacts", nil)
	if err != nil {
		return nil, err
	}
	goRun, err := c.CreateRun(ctx, client.CreateRunOptions{ExperimentID: exp.ID, RunName: "go-" + route})
	if err != nil {
		return nil, err
	}
	pyRun, err := c.CreateRun(ctx, client.CreateRunOptions{ExperimentID: exp.ID, RunName: "python-" + route})
	if err != nil {
		return nil, err
	}
	defer cleanup(ctx, c, route, []*client.Run{goRun, pyRun}, moto)
	var out []result
	for _, w := range []string{"file", "dir"} {
		if !strings.Contains(what, w) {
			continue
		}
		r := result{route: route, what: w, bytes: size}
		if w == "dir" {
			r.bytes = treeBytes
		}
		debug.FreeOSMemory()
		r.baseline = rssMiB("VmRSS")
		resetPeak()
		opts := []client.ArtifactOption{client.WithConcurrency(conc)}
		if partSize > 0 {
			opts = append(opts, client.WithPartSize(partSize))
		}
		t0 := time.Now()
		if w == "file" {
			err = c.LogArtifact(ctx, goRun.Info.RunID, big, "file", opts...)
		} else {
			err = c.LogArtifacts(ctx, goRun.Info.RunID, tree, "dir", opts...)
		}
		if err != nil {
			return nil, fmt.Errorf("go %s %s: %w", route, w, err)
		}
		r.goS = time.Since(t0).Seconds()
		r.goRSS = rssMiB("VmHWM")
		fmt.Fprintf(os.Stderr, "go     %-7s %-4s %8.2fs peak RSS %.1f MiB (baseline %.1f MiB)\n", route, w, r.goS, r.goRSS, r.baseline)
		if r.pyS, err = runPython(python, uri, moto, pyRun.Info.RunID, big, tree, w); err != nil {
			return nil, fmt.Errorf("python %s %s: %w", route, w, err)
		}
		fmt.Fprintf(os.Stderr, "python %-7s %-4s %8.2fs\n", route, w, r.pyS)
		out = append(out, r)
	}
	return out, nil
}

// printTable prints one Markdown row per route and upload kind with the
// median of the runs (and every run's value when there are several).
func printTable(results []result, nFiles int) {
	type key struct{ route, what string }
	var order []key
	groups := map[key][]result{}
	for _, r := range results {
		k := key{r.route, r.what}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	fmt.Printf("| route | upload | Go | Python | Go speed-up (medians) | Go peak RSS (max) | runs Go / Python (s) |\n|---|---|---:|---:|---:|---:|---|\n")
	for _, k := range order {
		g := groups[k]
		var goS, pyS []float64
		var rss float64
		for _, r := range g {
			goS, pyS = append(goS, r.goS), append(pyS, r.pyS)
			rss = max(rss, r.goRSS)
		}
		label := fmt.Sprintf("1 file, %s", human(g[0].bytes))
		if k.what == "dir" {
			label = fmt.Sprintf("%d files, %s", nFiles, human(g[0].bytes))
		}
		gm, pm := median(goS), median(pyS)
		fmt.Printf("| %s | %s | %.2f s (%.0f MiB/s) | %.2f s (%.0f MiB/s) | %.1f× | %.1f MiB | %s / %s |\n",
			k.route, label, gm, mibps(g[0].bytes, gm), pm, mibps(g[0].bytes, pm), pm/gm, rss, joinF(goS), joinF(pyS))
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func joinF(v []float64) string {
	parts := make([]string, len(v))
	for i, f := range v {
		parts[i] = strconv.FormatFloat(f, 'f', 2, 64)
	}
	return strings.Join(parts, ", ")
}

func runPython(py, uri, moto, runID, big, tree, what string) (float64, error) {
	cmd := exec.Command(py, "-c", pyScript, runID, big, tree, what)
	cmd.Env = append(os.Environ(), "MLFLOW_TRACKING_URI="+uri)
	if moto != "" {
		cmd.Env = append(cmd.Env, "MLFLOW_S3_ENDPOINT_URL="+moto)
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, err
	}
	var v map[string]float64
	if err := json.Unmarshal(out, &v); err != nil {
		return 0, fmt.Errorf("python output %q: %w", out, err)
	}
	return v[what+"_s"], nil
}

// cleanup removes what the benchmark uploaded so the stack does not grow.
func cleanup(ctx context.Context, c *client.Client, route string, runs []*client.Run, moto string) {
	hc := &http.Client{Timeout: time.Minute}
	for _, r := range runs {
		u, err := url.Parse(r.Info.ArtifactURI)
		if err != nil {
			continue
		}
		switch u.Scheme {
		case "mlflow-artifacts":
			for _, sub := range []string{"file", "dir"} {
				target := c.TrackingURI() + "/api/2.0/mlflow-artifacts/artifacts/" + strings.Trim(u.Path, "/") + "/" + sub
				req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, target, nil)
				if resp, err := hc.Do(req); err == nil {
					resp.Body.Close()
				}
			}
		case "s3":
			if err := deletePrefix(ctx, u.Host, strings.Trim(u.Path, "/")+"/", moto); err != nil {
				fmt.Fprintf(os.Stderr, "cleanup %s: %v\n", route, err)
			}
		}
	}
}

func deletePrefix(ctx context.Context, bucket, prefix, endpoint string) error {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	api := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
	})
	p := s3.NewListObjectsV2Paginator(api, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		var ids []s3types.ObjectIdentifier
		for _, o := range page.Contents {
			ids = append(ids, s3types.ObjectIdentifier{Key: o.Key})
		}
		if len(ids) == 0 {
			continue
		}
		if _, err := api.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &s3types.Delete{Objects: ids}}); err != nil {
			return err
		}
	}
	return nil
}

// writeRandomFile writes size pseudo-random bytes (no holes) with a 1 MiB buffer.
func writeRandomFile(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	rng := rand.NewChaCha8([32]byte{1, 2, 3})
	buf := make([]byte, 1<<20)
	for left := size; left > 0; {
		n := min(int64(len(buf)), left)
		_, _ = rng.Read(buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return err
		}
		left -= n
	}
	return f.Close()
}

// writeTree writes n files of 1..maxSize bytes spread over nested folders.
func writeTree(dir string, n, maxSize int) (int64, error) {
	rng := rand.New(rand.NewPCG(7, 11))
	var total int64
	buf := make([]byte, maxSize)
	for i := range n {
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", i%20), fmt.Sprintf("e%d", i%3))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return 0, err
		}
		sz := 1 + rng.IntN(maxSize)
		for j := range sz {
			buf[j] = byte(rng.Uint32())
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%04d.bin", i)), buf[:sz], 0o644); err != nil {
			return 0, err
		}
		total += int64(sz)
	}
	return total, nil
}

// resetPeak resets VmHWM to the current RSS (Linux clear_refs value 5).
func resetPeak() {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		fmt.Fprintf(os.Stderr, "cannot reset VmHWM: %v\n", err)
	}
}

// rssMiB reads a /proc/self/status field (VmRSS, VmHWM) in MiB.
func rssMiB(field string) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return -1
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = v, u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, errors.New("bad -size")
	}
	return n * mult, nil
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
}

func mibps(n int64, s float64) float64 { return float64(n) / (1 << 20) / s }

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench-artifacts:", err)
	os.Exit(1)
}
