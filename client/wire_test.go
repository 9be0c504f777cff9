package client

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestMetricJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want Metric
	}{
		{"numbers", `{"key":"auc","value":0.91,"timestamp":1714400000000,"step":3}`, Metric{Key: "auc", Value: 0.91, Timestamp: 1714400000000, Step: 3}},
		{"nan", `{"key":"k","value":"NaN","timestamp":1,"step":0}`, Metric{Key: "k", Value: math.NaN(), Timestamp: 1}},
		{"inf", `{"key":"k","value":"Infinity","timestamp":1}`, Metric{Key: "k", Value: math.Inf(1), Timestamp: 1}},
		{"-inf", `{"key":"k","value":"-Infinity","timestamp":1}`, Metric{Key: "k", Value: math.Inf(-1), Timestamp: 1}},
		{"python spellings", `{"key":"k","value":"inf"}`, Metric{Key: "k", Value: math.Inf(1)}},
		{"sql store inf", `{"key":"k","value":1.7976931348623157e308}`, Metric{Key: "k", Value: math.MaxFloat64}},
		{"int64 as strings", `{"key":"k","value":"2.5","timestamp":"1714400000000","step":"-7"}`, Metric{Key: "k", Value: 2.5, Timestamp: 1714400000000, Step: -7}},
		{"int64 max", `{"key":"k","timestamp":9223372036854775807}`, Metric{Key: "k", Timestamp: math.MaxInt64}},
		{"exponent int", `{"key":"k","timestamp":1.7144e12}`, Metric{Key: "k", Timestamp: 1714400000000}},
		{"unknown fields ignored", `{"key":"k","value":1,"dataset_name":"d","model_id":"m-1","extra":{"a":[1]}}`, Metric{Key: "k", Value: 1}},
		{"run id", `{"key":"k","value":1,"run_id":"abc"}`, Metric{Key: "k", Value: 1, RunID: "abc"}},
		{"nulls", `{"key":"k","value":null,"timestamp":null}`, Metric{Key: "k"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got Metric
			if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateNaNs()); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
			// Round trip through MarshalJSON.
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			var back Metric
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("Unmarshal(Marshal): %v (%s)", err, b)
			}
			if diff := cmp.Diff(got, back, cmpopts.EquateNaNs()); diff != "" {
				t.Errorf("round trip mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMetricJSONErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{"key":"k","value":"nanx"}`,
		`{"key":"k","value":true}`,
		`{"key":"k","value":{}}`,
		`{"key":"k","timestamp":1.5}`,
		`{"key":"k","timestamp":"12a"}`,
		`{"key":"k","timestamp":1e30}`,
		`{"key":"k","step":"0x10"}`,
		`{"key":"k","value":"0x10"}`,
		`{"key":"k"`,
		`[]`,
	} {
		var m Metric
		if err := json.Unmarshal([]byte(in), &m); err == nil {
			t.Errorf("Unmarshal(%s) = nil error, want one", in)
		}
	}
}

func TestMetricMarshal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		m    Metric
		want string
	}{
		{Metric{Key: "a", Value: 1, Timestamp: 2, Step: 3}, `{"key":"a","value":1,"timestamp":2,"step":3}`},
		{Metric{Key: "a", Value: math.NaN()}, `{"key":"a","value":"NaN","timestamp":0,"step":0}`},
		{Metric{Key: "a", Value: math.Inf(1)}, `{"key":"a","value":"Infinity","timestamp":0,"step":0}`},
		{Metric{Key: "a", Value: math.Inf(-1)}, `{"key":"a","value":"-Infinity","timestamp":0,"step":0}`},
		{Metric{Key: "a", Value: 1e-7, Timestamp: math.MaxInt64}, `{"key":"a","value":1e-07,"timestamp":9223372036854775807,"step":0}`},
		{Metric{Key: "ключ \"q\"\n", Value: 0.1}, `{"key":"ключ \"q\"\n","value":0.1,"timestamp":0,"step":0}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.m)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tt.want {
			t.Errorf("Marshal(%+v) = %s, want %s", tt.m, b, tt.want)
		}
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", "quote\"back\\slash", "ctl\x00\x01\x1f\x7f", "tab\tnl\ncr\r", "日本語", "bad\xffutf8", "\u2028\u2029", "<html>&"} {
		got := appendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("appendString(%q) = %s: not JSON: %v", s, got, err)
		}
		want, _ := json.Marshal(s)
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("appendString(%q) decodes to %q, encoding/json gives %q", s, back, wantBack)
		}
	}
}

// runJSON is a runs/get answer as MLflow 3.x sends it.
const runJSON = `{"run":{"info":{"run_uuid":"0a1b","run_id":"0a1b","run_name":"daily","experiment_id":"7","user_id":"ci","status":"FINISHED",
"start_time":1714400000000,"end_time":"1714400005000","artifact_uri":"mlflow-artifacts:/7/0a1b/artifacts","lifecycle_stage":"active"},
"data":{"metrics":[{"key":"auc","value":0.9,"timestamp":1714400001000,"step":10},{"key":"loss","value":"NaN","timestamp":1714400001000,"step":10}],
"params":[{"key":"lr","value":"0.1"}],"tags":[{"key":"mlflow.runName","value":"daily"}]},
"inputs":{"dataset_inputs":[{"tags":[{"key":"mlflow.data.context","value":"eval"}],"dataset":{"name":"d","digest":"abc","source_type":"s3","source":"{}"}}],"model_inputs":[]},
"outputs":{},"future_field":1}}`

func TestRunJSON(t *testing.T) {
	t.Parallel()
	var out struct {
		Run Run `json:"run"`
	}
	if err := json.Unmarshal([]byte(runJSON), &out); err != nil {
		t.Fatal(err)
	}
	want := Run{
		Info: RunInfo{RunID: "0a1b", RunName: "daily", ExperimentID: "7", UserID: "ci", Status: RunFinished, StartTime: 1714400000000,
			EndTime: 1714400005000, ArtifactURI: "mlflow-artifacts:/7/0a1b/artifacts", LifecycleStage: "active"},
		Data: RunData{
			Metrics: []Metric{{Key: "auc", Value: 0.9, Timestamp: 1714400001000, Step: 10}, {Key: "loss", Value: math.NaN(), Timestamp: 1714400001000, Step: 10}},
			Params:  []Param{{Key: "lr", Value: "0.1"}},
			Tags:    []Tag{{Key: "mlflow.runName", Value: "daily"}},
		},
		Inputs: RunInputs{DatasetInputs: []DatasetInput{{Tags: []Tag{{Key: "mlflow.data.context", Value: "eval"}}, Dataset: Dataset{Name: "d", Digest: "abc", SourceType: "s3", Source: "{}"}}}},
	}
	if diff := cmp.Diff(want, out.Run, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	if v, ok := out.Run.Metric("auc"); !ok || v != 0.9 {
		t.Errorf("Metric(auc) = %v, %v", v, ok)
	}
	if v, ok := out.Run.Param("lr"); !ok || v != "0.1" {
		t.Errorf("Param(lr) = %v, %v", v, ok)
	}
	if _, ok := out.Run.Tag("missing"); ok {
		t.Error("Tag(missing) found")
	}
}

func TestRunInfoLegacyAndNumericStatus(t *testing.T) {
	t.Parallel()
	var ri RunInfo
	if err := json.Unmarshal([]byte(`{"run_uuid":"abc","experiment_id":12,"status":3}`), &ri); err != nil {
		t.Fatal(err)
	}
	want := RunInfo{RunID: "abc", ExperimentID: "12", Status: RunFinished}
	if diff := cmp.Diff(want, ri); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestExperimentAndModelVersionJSON(t *testing.T) {
	t.Parallel()
	var e Experiment
	if err := json.Unmarshal([]byte(`{"experiment_id":"3","name":"x","artifact_location":"s3://b/3","lifecycle_stage":"active","creation_time":"5","last_update_time":6,"tags":[{"key":"a","value":"b"}]}`), &e); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Experiment{ID: "3", Name: "x", ArtifactLocation: "s3://b/3", LifecycleStage: "active", CreationTime: 5, LastUpdateTime: 6, Tags: []Tag{{"a", "b"}}}, e); diff != "" {
		t.Errorf("experiment mismatch (-want +got):\n%s", diff)
	}
	var mv ModelVersion
	if err := json.Unmarshal([]byte(`{"name":"m","version":4,"run_id":"r","creation_timestamp":"7","aliases":["champion"],"current_stage":"None"}`), &mv); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ModelVersion{Name: "m", Version: "4", RunID: "r", CreationTimestamp: 7, Aliases: []string{"champion"}, CurrentStage: "None"}, mv); diff != "" {
		t.Errorf("model version mismatch (-want +got):\n%s", diff)
	}
}

func TestNormalizeInf(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want float64 }{
		{math.MaxFloat64, math.Inf(1)},
		{-math.MaxFloat64, math.Inf(-1)},
		{math.Inf(1), math.Inf(1)},
		{1.5, 1.5},
		{math.Nextafter(math.MaxFloat64, 0), math.Nextafter(math.MaxFloat64, 0)},
	}
	for _, tt := range tests {
		if got := NormalizeInf(tt.in); got != tt.want {
			t.Errorf("NormalizeInf(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if !math.IsNaN(NormalizeInf(math.NaN())) {
		t.Error("NormalizeInf(NaN) is not NaN")
	}
}

func TestEncodeBatch(t *testing.T) {
	t.Parallel()
	b := encodeBatch("r1", []Metric{{Key: "a", Value: math.NaN(), Timestamp: 5, Step: 1}}, []Param{{"p", "v"}}, []Tag{{"t", "w\"x"}})
	want := `{"run_id":"r1","metrics":[{"key":"a","value":"NaN","timestamp":5,"step":1}],"params":[{"key":"p","value":"v"}],"tags":[{"key":"t","value":"w\"x"}]}`
	if string(b) != want {
		t.Errorf("encodeBatch = %s\nwant %s", b, want)
	}
	if !json.Valid(b) {
		t.Error("not valid JSON")
	}
	if strings.Contains(string(encodeBatch("r", nil, nil, nil)), "metrics") {
		t.Error("empty metrics encoded")
	}
}
