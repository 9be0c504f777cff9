package alerting

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mlwatch/mlwatch/evaluate"
)

func TestFromReport(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC)
	r := &evaluate.Report{Model: "churn-xgb", ModelGroup: "churn", Country: "de", RunID: "r1", Checks: []evaluate.Check{
		{Kind: evaluate.KindThreshold, Metric: "auc", Observed: evaluate.F(0.61), Limit: evaluate.F(0.7), Severity: evaluate.SeverityCritical, Message: "auc 0.61 < 0.7"},
		{Kind: evaluate.KindMaxRegression, Metric: "auc", Observed: evaluate.F(0.61), Limit: evaluate.F(0.05), Baseline: evaluate.F(0.74), Severity: evaluate.SeverityCritical, Message: "regressed"},
		{Kind: evaluate.KindThreshold, Metric: "recall", Observed: evaluate.F(0.5), Limit: evaluate.F(0.4), Passed: true, Severity: evaluate.SeverityNone},
		{Kind: evaluate.KindDrift, Feature: "age", Segment: "mobile", Observed: evaluate.F(0.3), Limit: evaluate.F(0.2), Severity: evaluate.SeverityWarning, Message: "drift"},
	}}
	firing, cleared, err := FromReport(r, ReportSource{Pipeline: "churn-de-daily", RunURL: "http://mlflow/r1", Time: at})
	if err != nil {
		t.Fatal(err)
	}
	base := Alert{Model: "churn-xgb", ModelGroup: "churn", Country: "de", Pipeline: "churn-de-daily", RunID: "r1", RunURL: "http://mlflow/r1", Time: at}
	with := func(f func(*Alert)) Alert { a := base; f(&a); return a }
	wantFiring := []Alert{
		with(func(a *Alert) {
			a.Name, a.Severity, a.Metric, a.Observed, a.Threshold, a.Baseline, a.Summary = "threshold", SeverityCritical, "auc", 0.61, 0.7, math.NaN(), "auc 0.61 < 0.7"
		}),
		with(func(a *Alert) {
			a.Name, a.Severity, a.Metric, a.Observed, a.Threshold, a.Baseline, a.Summary = "drift", SeverityWarning, "drift:age:mobile", 0.3, 0.2, math.NaN(), "drift"
		}),
	}
	if diff := cmp.Diff(wantFiring, firing, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("firing (-want +got):\n%s", diff)
	}
	var gotCleared []string
	for _, a := range cleared {
		gotCleared = append(gotCleared, a.Metric+"/"+string(a.Severity))
	}
	if diff := cmp.Diff([]string{"auc/warning", "recall/warning", "recall/critical", "drift:age:mobile/critical"}, gotCleared); diff != "" {
		t.Errorf("cleared (-want +got):\n%s", diff)
	}
	if cleared[1].Observed != 0.5 {
		t.Errorf("cleared recall observed = %v, want the check's 0.5", cleared[1].Observed)
	}
	if _, _, err := FromReport(&evaluate.Report{Model: "m", Checks: r.Checks}, ReportSource{}); !errors.Is(err, ErrInvalidAlert) {
		t.Errorf("report without model_group: err = %v", err)
	}
}
