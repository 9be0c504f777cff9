package evaluate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mlwatch/mlwatch/client"
)

type fakeWriter struct {
	batches []client.Batch
	failTag error
}

func (w *fakeWriter) LogBatch(_ context.Context, runID string, b client.Batch) error {
	if w.failTag != nil {
		return w.failTag
	}
	if len(b.Tags) > 100 {
		return fmt.Errorf("batch of %d tags", len(b.Tags))
	}
	for _, tg := range b.Tags {
		if err := client.ValidateTag(tg); err != nil {
			return err
		}
	}
	w.batches = append(w.batches, b)
	return nil
}

type fakeUploader struct {
	fakeWriter
	artifacts map[string][]byte
	failed    error
}

func (u *fakeUploader) LogArtifactStream(_ context.Context, runID, path string, r io.Reader, size int64, _ ...client.ArtifactOption) error {
	if u.failed != nil {
		return u.failed
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if int64(len(b)) != size {
		return fmt.Errorf("size %d, read %d", size, len(b))
	}
	if u.artifacts == nil {
		u.artifacts = map[string][]byte{}
	}
	u.artifacts[path] = b
	return nil
}

func sampleReport() Report {
	rules := RuleSet{Group: "churn", Model: "churn-xgb", Country: "DE", Rules: []MetricRule{
		{Metric: "auc", Direction: HigherIsBetter, Threshold: p(0.7), MaxRegression: p(0.02)},
		{Metric: "log_loss", Direction: LowerIsBetter, Threshold: p(0.5), Severity: Severities{Threshold: SeverityWarning}},
		{Metric: "val/recall@10", Direction: HigherIsBetter, Threshold: p(0.1)},
	}}
	bench := &Benchmark{Metrics: Metrics{"auc": 0.76}, Source: BaselineSource{Kind: SourceRun, RunID: "bench1"}}
	rep := EvaluateAgainst(Metrics{"auc": 0.75, "log_loss": 0.6, "val/recall@10": 0.3}, bench, rules)
	rep.RunID = "cand1"
	rep.Checks = append(rep.Checks, Check{Kind: KindDrift, Feature: "age", Segment: "country=DE", Passed: false, Severity: SeverityCritical, Message: "drift"})
	return rep
}

func TestOutcomeTags(t *testing.T) {
	t.Parallel()
	got := OutcomeTags(sampleReport())
	want := []client.Tag{
		{Key: "mlwatch.eval.auc.status", Value: "passed"},
		{Key: "mlwatch.eval.log_loss.status", Value: "warning"},
		{Key: "mlwatch.eval.val/recall_10.status", Value: "passed"},
		{Key: "mlwatch.eval.drift.age.country_DE.status", Value: "critical"},
		{Key: "mlwatch.eval.critical", Value: "1"},
		{Key: "mlwatch.eval.warning", Value: "1"},
		{Key: "mlwatch.eval.benchmark_kind", Value: "run"},
		{Key: "mlwatch.eval.benchmark_run", Value: "bench1"},
		{Key: "mlwatch.eval.status", Value: "critical"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("OutcomeTags (-want +got):\n%s", diff)
	}
}

func TestLogOutcomeUploads(t *testing.T) {
	t.Parallel()
	u := &fakeUploader{}
	path := filepath.Join(t.TempDir(), "evaluation.json")
	out, err := LogOutcome(context.Background(), u, "cand1", sampleReport(), WithReportFile(path))
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.artifacts[ReportArtifactPath]; string(got) != string(file) {
		t.Errorf("uploaded report differs from the file")
	}
	var top struct {
		Status string `json:"status"`
		Checks []any  `json:"checks"`
	}
	if err := json.Unmarshal(file, &top); err != nil || top.Status != "critical" || len(top.Checks) != 5 {
		t.Errorf("report file: %v %+v", err, top)
	}
	last := out.Tags[len(out.Tags)-1]
	if last.Key != TagEvalStatus || last.Value != "critical" {
		t.Errorf("last tag = %+v, want the overall status", last)
	}
	if out.ReportArtifact != ReportArtifactPath || out.ReportFile != path || !hasTag(out.Tags, TagEvalReportArtifact) || hasTag(out.Tags, TagEvalReportPath) {
		t.Errorf("outcome %+v", out)
	}
}

func hasTag(tags []client.Tag, key string) bool {
	for _, t := range tags {
		if t.Key == key {
			return true
		}
	}
	return false
}

func TestLogOutcomeWithoutUpload(t *testing.T) {
	t.Parallel()
	for _, w := range []TagWriter{&fakeWriter{}, &fakeUploader{}} {
		path := filepath.Join(t.TempDir(), "r.json")
		out, err := LogOutcome(context.Background(), w, "cand1", sampleReport(), WithReportFile(path), WithoutUpload())
		if err != nil {
			t.Fatal(err)
		}
		if out.ReportArtifact != "" || !hasTag(out.Tags, TagEvalReportPath) {
			t.Errorf("%T: outcome %+v", w, out)
		}
	}
}

func TestLogOutcomeBatchLimit(t *testing.T) {
	t.Parallel()
	rs := RuleSet{}
	cand := Metrics{}
	for i := range 250 {
		m := fmt.Sprintf("m%03d", i)
		rs.Rules = append(rs.Rules, MetricRule{Metric: m, Direction: HigherIsBetter, Threshold: p(0)})
		cand[m] = 1
	}
	w := &fakeWriter{}
	out, err := LogOutcome(context.Background(), w, "r", Evaluate(cand, nil, rs))
	if err != nil {
		t.Fatal(err)
	}
	if len(w.batches) != 3 || len(out.Tags) != 253 {
		t.Errorf("%d batches, %d tags", len(w.batches), len(out.Tags))
	}
	final := w.batches[len(w.batches)-1].Tags
	if final[len(final)-1].Key != TagEvalStatus {
		t.Errorf("status tag not last")
	}
}

func TestLogOutcomeErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	u := &fakeUploader{failed: boom}
	out, err := LogOutcome(context.Background(), u, "r", sampleReport(), WithReportFile(filepath.Join(t.TempDir(), "r.json")))
	if !errors.Is(err, boom) || !hasTag(out.Tags, TagEvalStatus) || !hasTag(out.Tags, TagEvalReportPath) {
		t.Errorf("failed upload: err=%v tags=%v", err, out.Tags)
	}
	if _, err := LogOutcome(context.Background(), &fakeWriter{failTag: boom}, "r", sampleReport()); !errors.Is(err, boom) {
		t.Errorf("failed tagging: %v", err)
	}
	if _, err := LogOutcome(context.Background(), &fakeWriter{}, "r", sampleReport(), WithReportFile("")); err == nil {
		t.Error("empty report path accepted")
	}
	if _, err := LogOutcome(context.Background(), &fakeWriter{}, "r", sampleReport(), WithReportFile(filepath.Join(t.TempDir(), "no", "dir", "r.json"))); err == nil || !strings.HasPrefix(err.Error(), "evaluate: ") {
		t.Errorf("unwritable path: %v", err)
	}
}

func TestSubjectKeyLimits(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 400)
	for _, c := range []Check{{Metric: long}, {Kind: KindDrift, Feature: long, Segment: "a/../b"}, {Metric: "é/ü"}, {Kind: KindDrift}} {
		k := subjectKey(c)
		if err := client.ValidateTag(client.Tag{Key: k, Value: "passed"}); err != nil {
			t.Errorf("subjectKey(%.20q) = %q: %v", c.Subject(), k, err)
		}
	}
}
