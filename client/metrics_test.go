package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

type batchBody struct {
	RunID   string   `json:"run_id"`
	Metrics []Metric `json:"metrics"`
	Params  []Param  `json:"params"`
	Tags    []Tag    `json:"tags"`
	size    int
}

// batchRecorder records every log-batch body.
func batchRecorder(t *testing.T, mux *http.ServeMux) func() []batchBody {
	var mu sync.Mutex
	var bodies []batchBody
	mux.HandleFunc("/api/2.0/mlflow/runs/log-batch", func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		var b batchBody
		if err := json.Unmarshal(data, &b); err != nil {
			t.Errorf("log-batch body: %v", err)
		}
		b.size = len(data)
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
		writeJSON(w, 200, map[string]any{})
	})
	return func() []batchBody {
		mu.Lock()
		defer mu.Unlock()
		return append([]batchBody(nil), bodies...)
	}
}

func keyedMetrics(n int) []Metric {
	ms := make([]Metric, n)
	for i := range ms {
		ms[i] = Metric{Key: fmt.Sprintf("m%d", i%50), Value: float64(i) / 3, Timestamp: 1714400000000 + int64(i), Step: int64(i / 50)}
	}
	return ms
}

func keyedParams(n int, valueLen int) []Param {
	ps := make([]Param, n)
	for i := range ps {
		ps[i] = Param{Key: fmt.Sprintf("p%d", i), Value: strings.Repeat("v", valueLen)}
	}
	return ps
}

func keyedTags(n int, valueLen int) []Tag {
	ts := make([]Tag, n)
	for i := range ts {
		ts[i] = Tag{Key: fmt.Sprintf("t%d", i), Value: strings.Repeat("w", valueLen)}
	}
	return ts
}

func TestLogBatchSplitting(t *testing.T) {
	t.Parallel()
	type shape struct{ m, p, t int }
	tests := []struct {
		name  string
		batch Batch
		want  []shape
	}{
		{"small", Batch{Metrics: keyedMetrics(10), Params: keyedParams(2, 1), Tags: keyedTags(1, 1)}, []shape{{10, 2, 1}}},
		{"exactly 1000 metrics", Batch{Metrics: keyedMetrics(1000)}, []shape{{1000, 0, 0}}},
		{"2500 metrics", Batch{Metrics: keyedMetrics(2500)}, []shape{{1000, 0, 0}, {1000, 0, 0}, {500, 0, 0}}},
		// Python: zip_longest(params/100, tags/100), metrics topping each up to 1000, then rest by 1000.
		{"mixed like python", Batch{Metrics: keyedMetrics(2500), Params: keyedParams(150, 1), Tags: keyedTags(30, 1)},
			[]shape{{870, 100, 30}, {950, 50, 0}, {680, 0, 0}}},
		{"params only", Batch{Params: keyedParams(250, 1)}, []shape{{0, 100, 0}, {0, 100, 0}, {0, 50, 0}}},
		// 100 params of 6000 bytes + 100 tags of 8000 bytes: 1.4 MB, split by size.
		{"over 1 MB", Batch{Params: keyedParams(100, 6000), Tags: keyedTags(100, 8000)}, []shape{{0, 100, 0}, {0, 0, 100}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux := setup(t)
			bodies := batchRecorder(t, mux)
			orig := Batch{
				Metrics: append([]Metric(nil), tt.batch.Metrics...),
				Params:  append([]Param(nil), tt.batch.Params...),
				Tags:    append([]Tag(nil), tt.batch.Tags...),
			}
			if err := c.LogBatch(context.Background(), "r1", tt.batch); err != nil {
				t.Fatal(err)
			}
			var got []shape
			var all Batch
			for _, b := range bodies() {
				got = append(got, shape{len(b.Metrics), len(b.Params), len(b.Tags)})
				if b.size > MaxBatchRequestBytes {
					t.Errorf("body of %d bytes", b.size)
				}
				if b.RunID != "r1" {
					t.Errorf("run_id %q", b.RunID)
				}
				all.Metrics = append(all.Metrics, b.Metrics...)
				all.Params = append(all.Params, b.Params...)
				all.Tags = append(all.Tags, b.Tags...)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(shape{})); diff != "" {
				t.Errorf("chunks (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(orig, all, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("sent content differs from the batch (order, timestamps) (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(orig, tt.batch, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("input modified:\n%s", diff)
			}
		})
	}
}

func TestLogBatchTimestampsFixedBeforeRetry(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var now atomic.Int64
	now.Store(1714400000123)
	c.now = func() time.Time { return time.UnixMilli(now.Load()) }
	var mu sync.Mutex
	var bodies []string
	mux.HandleFunc("/api/2.0/mlflow/runs/log-batch", func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(data))
		n := len(bodies)
		mu.Unlock()
		now.Add(1000) // the clock moves between attempts
		if n == 1 {
			mlflowError(w, 500, "INTERNAL_ERROR", "IntegrityError")
			return
		}
		writeJSON(w, 200, map[string]any{})
	})
	in := Batch{Metrics: []Metric{{Key: "a", Value: math.NaN()}, {Key: "b", Value: 1, Timestamp: 5}}}
	if err := c.LogBatch(context.Background(), "r1", in); err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 2 || bodies[0] != bodies[1] {
		t.Fatalf("retry body differs or missing:\n%v", bodies)
	}
	want := `{"run_id":"r1","metrics":[{"key":"a","value":"NaN","timestamp":1714400000123,"step":0},{"key":"b","value":1,"timestamp":5,"step":0}]}`
	if bodies[0] != want {
		t.Errorf("body %s\nwant %s", bodies[0], want)
	}
	if in.Metrics[0].Timestamp != 0 {
		t.Error("input timestamp modified")
	}
}

func TestLogBatchValidatesBeforeSending(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	bodies := batchRecorder(t, mux)
	tests := []struct {
		name  string
		runID string
		b     Batch
		field string
	}{
		{"bad key late in a big batch", "r1", Batch{Metrics: append(keyedMetrics(1500), Metric{Key: "bad key!"})}, "metrics[1500].key"},
		{"duplicate params across chunks", "r1", Batch{Params: append(keyedParams(150, 1), Param{Key: "p3", Value: "v"})}, "params[150].key"},
		{"bad run id", "not/a/run", Batch{Metrics: keyedMetrics(1)}, "run_id"},
		{"long tag", "r1", Batch{Tags: keyedTags(1, 8001)}, "tags[0].value"},
	}
	for _, tt := range tests {
		err := c.LogBatch(context.Background(), tt.runID, tt.b)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("%s: err = %v, want field %s", tt.name, err, tt.field)
		}
	}
	if n := len(bodies()); n != 0 {
		t.Errorf("%d requests sent for invalid batches", n)
	}
	if err := c.LogBatch(context.Background(), "r1", Batch{}); err != nil || len(bodies()) != 0 {
		t.Errorf("empty batch: %v, %d requests", err, len(bodies()))
	}
}

func TestLogBatchStopsAtFirstError(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("/api/2.0/mlflow/runs/log-batch", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		mlflowError(w, 400, "INVALID_PARAMETER_VALUE", "The run r1 must be in the 'active' state. Current state is deleted.")
	})
	err := c.LogBatch(context.Background(), "r1", Batch{Metrics: keyedMetrics(3000)})
	if !errors.Is(err, ErrInvalidParameter) || calls.Load() != 1 {
		t.Errorf("err = %v after %d calls", err, calls.Load())
	}
}

func TestForEachChunkInvariants(t *testing.T) {
	t.Parallel()
	for _, n := range [][3]int{{0, 0, 0}, {1, 0, 0}, {999, 1, 0}, {1000, 100, 100}, {5000, 0, 250}, {3, 400, 7}} {
		ms, ps, ts := keyedMetrics(n[0]), keyedParams(n[1], 1), keyedTags(n[2], 1)
		var gm, gp, gt int
		err := forEachChunk(ms, ps, ts, func(m []Metric, p []Param, tg []Tag) error {
			if len(m) > MaxMetricsPerBatch || len(p) > MaxParamsTagsPerBatch || len(tg) > MaxParamsTagsPerBatch || len(m)+len(p)+len(tg) > MaxEntitiesPerBatch {
				t.Errorf("%v: chunk %d/%d/%d over limits", n, len(m), len(p), len(tg))
			}
			if len(m)+len(p)+len(tg) == 0 {
				t.Errorf("%v: empty chunk", n)
			}
			gm, gp, gt = gm+len(m), gp+len(p), gt+len(tg)
			return nil
		})
		if err != nil || gm != n[0] || gp != n[1] || gt != n[2] {
			t.Errorf("%v: sent %d/%d/%d, err %v", n, gm, gp, gt, err)
		}
	}
}

func TestMetricHistorySeqPages(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("/api/2.0/mlflow/metrics/get-history", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("run_id") != "r1" || q.Get("metric_key") != "val/auc" || q.Get("max_results") != "25000" {
			t.Errorf("query %v", q)
		}
		switch q.Get("page_token") {
		case "":
			writeJSON(w, 200, map[string]any{"metrics": []map[string]any{{"key": "val/auc", "value": 0.5, "timestamp": 1, "step": 0}, {"key": "val/auc", "value": "Infinity", "timestamp": 2, "step": 1}}, "next_page_token": "p2"})
		case "p2":
			writeJSON(w, 200, map[string]any{"metrics": []map[string]any{{"key": "val/auc", "value": 1.7976931348623157e308, "timestamp": "3", "step": "2"}}})
		default:
			mlflowError(w, 400, "INVALID_PARAMETER_VALUE", "bad token")
		}
	})
	var got []Metric
	for m, err := range c.GetMetricHistorySeq(context.Background(), "r1", "val/auc") {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	want := []Metric{{Key: "val/auc", Value: 0.5, Timestamp: 1}, {Key: "val/auc", Value: math.Inf(1), Timestamp: 2, Step: 1}, {Key: "val/auc", Value: math.MaxFloat64, Timestamp: 3, Step: 2}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	// Early break stops fetching.
	for range c.GetMetricHistorySeq(context.Background(), "r1", "val/auc") {
		break
	}
}

func TestBulkIntervalValidation(t *testing.T) {
	t.Parallel()
	c, _ := setup(t)
	one, two := int64(1), int64(2)
	tooMany := make([]string, 101)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("r%d", i)
	}
	for _, opt := range []BulkIntervalOptions{
		{MetricKey: "k"},
		{RunIDs: tooMany, MetricKey: "k"},
		{RunIDs: []string{"r1"}, MetricKey: "k", StartStep: &one},
		{RunIDs: []string{"r1"}, MetricKey: "k", StartStep: &two, EndStep: &one},
		{RunIDs: []string{"r1"}, MetricKey: "k", MaxResults: 2501},
		{RunIDs: []string{"r1"}, MetricKey: ""},
	} {
		if _, err := c.GetMetricHistoryBulkInterval(context.Background(), opt); !errors.Is(err, ErrInvalidParameter) {
			t.Errorf("%+v: err = %v", opt, err)
		}
	}
}
