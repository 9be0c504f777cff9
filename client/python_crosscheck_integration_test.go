//go:build integration

package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// pyReadBack reads a run with the official Python client and prints every
// param, tag and metric point as JSON. Floats are printed with repr() so
// that NaN and ±Inf survive and every finite value round-trips exactly.
const pyReadBack = `
import json, sys
from mlflow.tracking import MlflowClient
uri, run_id = sys.argv[1], sys.argv[2]
c = MlflowClient(tracking_uri=uri)
run = c.get_run(run_id)
out = {"params": dict(run.data.params), "tags": dict(run.data.tags), "status": run.info.status, "metrics": {}}
for key in run.data.metrics:
    out["metrics"][key] = [[m.step, m.timestamp, repr(float(m.value))] for m in c.get_metric_history(run_id, key)]
json.dump(out, sys.stdout)
`

type pyRun struct {
	Params  map[string]string   `json:"params"`
	Tags    map[string]string   `json:"tags"`
	Status  string              `json:"status"`
	Metrics map[string][][3]any `json:"metrics"`
}

type point struct {
	Step, Timestamp int64
	Value           float64
}

// integrationEnv returns the variable or fails the test.
func integrationEnv(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run the integration tests through `make test` or `scripts/teststack.sh start`", name)
	}
	return v
}

// sqlStored is what MLflow's SQL store returns for a logged value: ±Inf
// comes back as ±MaxFloat64 and -0 as 0 (SQLite does not keep the sign of
// zero); everything else, NaN included, is exact.
func sqlStored(v float64) float64 {
	switch {
	case v == 0:
		return 0
	case math.IsInf(v, 1):
		return math.MaxFloat64
	case math.IsInf(v, -1):
		return -math.MaxFloat64
	}
	return v
}

func sameFloat(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (math.IsNaN(a) && math.IsNaN(b))
}

func TestPythonCrossCheck(t *testing.T) {
	uri := integrationEnv(t, "MLWATCH_TEST_MLFLOW_URI")
	python := integrationEnv(t, "MLWATCH_TEST_PYTHON")
	if resp, err := http.Get(uri + "/health"); err != nil {
		t.Fatalf("MLflow at %s is unreachable: %v", uri, err)
	} else {
		resp.Body.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := New(uri)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := c.GetOrCreateExperiment(ctx, fmt.Sprintf("mlwatch-crosscheck-%d", time.Now().UnixNano()), nil)
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.StartRun(ctx, RunOptions{ExperimentID: exp.ID, RunName: "crosscheck", Tags: []Tag{{"Länder/国", "DE FR 日本"}, {"team", "ml-platform"}}})
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"auc", "val/loss", "métrique_été", "精度", "точность:top-1"}
	special := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), math.SmallestNonzeroFloat64, math.MaxFloat64 / 2, 1e-300, 0.1, 1.0 / 3}
	base := Millis(time.Now())
	logged := map[string][]point{}
	var batch Batch
	for k, key := range keys {
		for step := int64(0); step < 40; step++ {
			v := math.Sin(float64(step)*0.3+float64(k)) * math.Pow(10, float64(k-2))
			if step < int64(len(special)) && k != 0 {
				v = special[(int(step)+k)%len(special)]
			}
			m := Metric{Key: key, Value: v, Timestamp: base + step*1000 + int64(k), Step: step - 5}
			batch.Metrics = append(batch.Metrics, m)
			logged[key] = append(logged[key], point{m.Step, m.Timestamp, sqlStored(v)})
		}
	}
	batch.Params = []Param{{"learning_rate", "0.05"}, {"Modell/Größe", "groß 🚀"}, {"特徴量", "年齢,収入"}, {"empty", ""}, {"long", string(bytes.Repeat([]byte("x"), 6000))}}
	batch.Tags = []Tag{{"stage", "evaluation"}, {"descr", "line one\nline \"two\"\ttab"}}
	if err := c.LogBatch(ctx, run.ID(), batch); err != nil {
		t.Fatal(err)
	}
	var runErr error
	run.End(ctx, &runErr)
	if runErr != nil {
		t.Fatal(runErr)
	}

	// Read back with Python.
	cmd := exec.CommandContext(ctx, python, "-c", pyReadBack, uri, run.ID())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python read-back: %v\n%s", err, stderr.String())
	}
	var py pyRun
	if err := json.Unmarshal(out, &py); err != nil {
		t.Fatalf("python output: %v\n%s", err, out)
	}

	// Read back with Go.
	goRun, err := c.GetRun(ctx, run.ID())
	if err != nil {
		t.Fatal(err)
	}
	goParams, goTags := map[string]string{}, map[string]string{}
	for _, p := range goRun.Data.Params {
		goParams[p.Key] = p.Value
	}
	for _, tg := range goRun.Data.Tags {
		goTags[tg.Key] = tg.Value
	}
	wantParams := map[string]string{}
	for _, p := range batch.Params {
		wantParams[p.Key] = p.Value
	}
	if diff := cmp.Diff(wantParams, py.Params); diff != "" {
		t.Errorf("params read by Python (-logged +python):\n%s", diff)
	}
	if diff := cmp.Diff(py.Params, goParams); diff != "" {
		t.Errorf("params (-python +go):\n%s", diff)
	}
	if diff := cmp.Diff(py.Tags, goTags); diff != "" {
		t.Errorf("tags (-python +go):\n%s", diff)
	}
	for _, tg := range append(batch.Tags, Tag{"Länder/国", "DE FR 日本"}, Tag{"team", "ml-platform"}, Tag{TagRunName, "crosscheck"}) {
		if py.Tags[tg.Key] != tg.Value {
			t.Errorf("tag %q: python read %q, logged %q", tg.Key, py.Tags[tg.Key], tg.Value)
		}
	}
	if py.Tags[TagUser] == "" || py.Tags[TagSourceType] == "" || py.Tags[RequestIDTag] == "" {
		t.Errorf("system tags missing: %v", py.Tags)
	}
	if py.Status != "FINISHED" || goRun.Info.Status != RunFinished {
		t.Errorf("status python %s go %s", py.Status, goRun.Info.Status)
	}

	if len(py.Metrics) != len(keys) {
		t.Errorf("python sees %d metric keys, want %d", len(py.Metrics), len(keys))
	}
	points := 0
	for _, key := range keys {
		var pyPts []point
		for _, row := range py.Metrics[key] {
			v, err := strconv.ParseFloat(row[2].(string), 64)
			if err != nil {
				t.Fatalf("python value %v: %v", row[2], err)
			}
			pyPts = append(pyPts, point{int64(row[0].(float64)), int64(row[1].(float64)), v})
		}
		var goPts []point
		for m, err := range c.GetMetricHistorySeq(ctx, run.ID(), key) {
			if err != nil {
				t.Fatal(err)
			}
			goPts = append(goPts, point{m.Step, m.Timestamp, m.Value})
		}
		sortPoints(pyPts)
		sortPoints(goPts)
		want := append([]point(nil), logged[key]...)
		sortPoints(want)
		eq := cmp.Comparer(sameFloat)
		if diff := cmp.Diff(want, pyPts, eq); diff != "" {
			t.Errorf("%s: Python history (-logged, Inf as ±MaxFloat64 +python):\n%s", key, diff)
		}
		if diff := cmp.Diff(pyPts, goPts, eq); diff != "" {
			t.Errorf("%s: history (-python +go):\n%s", key, diff)
		}
		points += len(pyPts)
	}
	t.Logf("compared %d metric points, %d params and %d tags with the Python client", points, len(py.Params), len(py.Tags))
}

func sortPoints(ps []point) {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Step != ps[j].Step {
			return ps[i].Step < ps[j].Step
		}
		return ps[i].Timestamp < ps[j].Timestamp
	})
}
