//go:build integration

package evaluate_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mlwatch/mlwatch/evaluate"
)

// parityScript applies MLflow's own MetricThreshold / validate_evaluation_results
// to each case and prints "pass", "fail" or "error:<exception type>" per case.
const parityScript = `
import json, logging, sys
logging.disable(logging.CRITICAL)
import mlflow
from mlflow.models import MetricThreshold
from mlflow.models.evaluation import EvaluationResult
out = []
for c in json.load(open(sys.argv[1])):
    kw = {k: float(c[k]) for k in ("threshold", "min_absolute_change", "min_relative_change") if c.get(k) is not None}
    th = {"m": MetricThreshold(greater_is_better=c["higher"], **kw)}
    cand = EvaluationResult({"m": c["c"]} if c.get("c") is not None else {"other": 1.0}, {})
    base = EvaluationResult(c["b"], {}) if c.get("b") is not None else None
    try:
        mlflow.validate_evaluation_results(th, cand, base)
        out.append("pass")
    except mlflow.exceptions.MlflowException as e:
        out.append("fail" if "validation failed" in str(e) or "comparison failed" in str(e) or "check failed" in str(e) else "error:" + type(e).__name__)
    except Exception as e:
        out.append("error:" + type(e).__name__)
print(json.dumps(out))
`

type parityCase struct {
	Name      string             `json:"name"`
	C         *float64           `json:"c"`
	B         map[string]float64 `json:"b"`
	Threshold *float64           `json:"threshold"`
	MinAbs    *float64           `json:"min_absolute_change"`
	MinRel    *float64           `json:"min_relative_change"`
	Higher    bool               `json:"higher"`
	// mlflow is MLflow's answer when it differs from ours by design; empty
	// means both must agree.
	mlflow string
}

// TestMLflowParity compares Evaluate with MLflow's validate_evaluation_results
// (the pinned MLflow in $MLWATCH_TEST_PYTHON) on hand-picked and random cases:
// they must agree, except on the flaws the package documents as fixed.
func TestMLflowParity(t *testing.T) {
	py := os.Getenv("MLWATCH_TEST_PYTHON")
	if py == "" {
		t.Fatal("MLWATCH_TEST_PYTHON is not set (run the tests through make test)")
	}
	cases := []parityCase{
		{Name: "float trap", C: ptr(0.85), B: map[string]float64{"m": 0.8}, MinAbs: ptr(0.05), Higher: true, mlflow: "fail"},
		{Name: "float trap lower", C: ptr(0.8), B: map[string]float64{"m": 0.85}, MinAbs: ptr(0.05), mlflow: "fail"},
		{Name: "baseline lacks the metric", C: ptr(0.5), B: map[string]float64{"x": 0.8}, MinRel: ptr(0.1), Higher: true, mlflow: "error:KeyError"},
		{Name: "min_relative_change 0 is a limit", C: ptr(0.5), B: map[string]float64{"m": 0.8}, MinRel: ptr(0.0), Higher: true},
		{Name: "min_relative_change 0 without a baseline", C: ptr(0.5), MinRel: ptr(0.0), Higher: true, mlflow: "error:TypeError"},
		{Name: "clear improvement", C: ptr(0.9), B: map[string]float64{"m": 0.8}, MinAbs: ptr(0.05), Higher: true},
		{Name: "negative baseline (abs in both)", C: ptr(-1.0), B: map[string]float64{"m": -2.0}, MinRel: ptr(0.4), Higher: true},
		{Name: "zero baseline, improvement", C: ptr(0.5), B: map[string]float64{"m": 0}, MinRel: ptr(0.4), Higher: true},
		{Name: "zero baseline, equal", C: ptr(0.0), B: map[string]float64{"m": 0}, MinRel: ptr(0.4), Higher: true},
		{Name: "missing candidate", B: map[string]float64{"m": 0.8}, Threshold: ptr(0.5), Higher: true},
		{Name: "threshold equality", C: ptr(0.7), Threshold: ptr(0.7), Higher: true},
		{Name: "threshold lower", C: ptr(0.71), Threshold: ptr(0.7)},
		{Name: "no baseline, change rule", C: ptr(0.9), MinAbs: ptr(0.05), Higher: true},
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 200 {
		c := parityCase{Name: "random", C: ptr(r.Float64()), B: map[string]float64{"m": r.Float64()}, Higher: i%2 == 0}
		switch i % 3 {
		case 0:
			c.Threshold = ptr(r.Float64())
		case 1:
			c.MinAbs = ptr(0.01 + r.Float64()/5)
		default:
			c.MinRel = ptr(r.Float64() / 2)
		}
		cases = append(cases, c)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "cases.json")
	b, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, b, 0o600); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "parity.py")
	if err := os.WriteFile(script, []byte(parityScript), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, script, in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	var got []string
	if err := json.Unmarshal(out, &got); err != nil || len(got) != len(cases) {
		t.Fatalf("python output %q: %v", out, err)
	}
	for i, c := range cases {
		cand := evaluate.Metrics{}
		if c.C != nil {
			cand["m"] = *c.C
		}
		dir := evaluate.LowerIsBetter
		if c.Higher {
			dir = evaluate.HigherIsBetter
		}
		rule := evaluate.MetricRule{Metric: "m", Direction: dir, Threshold: c.Threshold, MinAbsoluteChange: c.MinAbs, MinRelativeChange: c.MinRel}
		rep := evaluate.Evaluate(cand, c.B, evaluate.RuleSet{Rules: []evaluate.MetricRule{rule}})
		ours := "fail"
		if rep.Passed() {
			ours = "pass"
		}
		switch {
		case c.mlflow == "" && got[i] != ours:
			t.Errorf("case %d %s %+v: mlflow %s, evaluate %s (%v)", i, c.Name, c, got[i], ours, rep.Checks)
		case c.mlflow != "" && (got[i] != c.mlflow || ours == got[i]):
			t.Errorf("case %d %s: mlflow %s (documented %s), evaluate %s: expected the documented difference", i, c.Name, got[i], c.mlflow, ours)
		}
	}
}
