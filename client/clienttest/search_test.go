package clienttest

import (
	"math"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAppendPyFloat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   float64
		want string
	}{
		{2, "2.0"}, {0.5, "0.5"}, {-0.125, "-0.125"}, {0, "0.0"}, {math.Copysign(0, -1), "-0.0"},
		{1e-5, "1e-05"}, {1e-4, "0.0001"}, {1.5e-7, "1.5e-07"}, {1e15, "1000000000000000.0"},
		{1e16, "1e+16"}, {1e17, "1e+17"}, {123456789.125, "123456789.125"},
		{math.MaxFloat64, "1.7976931348623157e+308"}, {5e-324, "5e-324"},
		{math.NaN(), "nan"}, {math.Inf(1), "inf"}, {math.Inf(-1), "-inf"},
	}
	for _, tt := range tests {
		if got := string(appendPyFloat(nil, tt.in)); got != tt.want {
			t.Errorf("appendPyFloat(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSampleRows(t *testing.T) {
	t.Parallel()
	steps := func(from, to int) []point {
		var out []point
		for s := from; s < to; s++ {
			out = append(out, point{key: "s", value: float64(s), timestamp: int64(1000 + s), step: int64(s)})
		}
		return out
	}
	stepsOf := func(ps []point) []int64 {
		var out []int64
		for _, p := range ps {
			out = append(out, p.step)
		}
		return out
	}
	// Expected values are MLflow 3.17.2's answers for the same data.
	tests := []struct {
		name string
		rows []point
		max  int
		want []int64
	}{
		{"43 rows into 5", steps(-3, 40), 5, []int64{-3, 6, 15, 24, 39}},
		{"43 rows into 3", steps(-3, 40), 3, []int64{-3, 12, 39}},
		{"43 rows into 4", steps(-3, 40), 4, []int64{-3, 8, 19, 39}},
		{"43 rows into 10", steps(-3, 40), 10, []int64{-3, 2, 7, 12, 16, 20, 24, 28, 32, 39}},
		{"26 rows into 7", steps(5, 31), 7, []int64{5, 9, 13, 17, 21, 25, 30}},
		{"fewer rows than buckets", steps(0, 3), 5, []int64{0, 1, 2}},
		{"one bucket keeps the last", steps(0, 10), 1, []int64{9}},
		{"none", nil, 5, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, stepsOf(sampleRows(tt.rows, tt.max))); diff != "" {
				t.Errorf("sampled steps (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSearchRunsFiltersAndOrder(t *testing.T) {
	t.Parallel()
	s := &Server{}
	type spec struct {
		name, model string
		auc         any // number or "NaN"; nil = not logged
		start       int
	}
	specs := []spec{{"a", "churn", 0.9, 3}, {"b", "churn", 0.7, 2}, {"c", "fraud", "NaN", 1}, {"d", "fraud", nil, 4}}
	ids := map[string]string{}
	for _, sp := range specs {
		out := mustOK(t, s, http.MethodPost, api+"runs/create", map[string]any{"experiment_id": "0", "run_name": sp.name, "start_time": sp.start})
		id := out["run"].(map[string]any)["info"].(map[string]any)["run_id"].(string)
		ids[id] = sp.name
		body := map[string]any{"run_id": id, "params": []map[string]string{{"key": "model", "value": sp.model}}}
		if sp.auc != nil {
			body["metrics"] = []map[string]any{{"key": "auc", "value": sp.auc, "timestamp": 1}}
		}
		mustOK(t, s, http.MethodPost, api+"runs/log-batch", body)
	}
	mustOK(t, s, http.MethodPost, api+"runs/update", map[string]any{"run_id": firstKey(ids, "b"), "status": "FINISHED"})
	tests := []struct {
		filter  string
		orderBy []string
		want    []string
	}{
		{"", nil, []string{"d", "a", "b", "c"}},
		{"", []string{"metrics.auc DESC"}, []string{"a", "b", "c", "d"}},
		{"", []string{"metrics.auc ASC"}, []string{"b", "a", "c", "d"}},
		{"", []string{"params.model DESC", "attributes.start_time"}, []string{"c", "d", "b", "a"}},
		{"metrics.auc > 0.5", nil, []string{"a", "b"}},
		{"metrics.auc != 0.9", nil, []string{"b"}},
		{"params.model ILIKE 'FR%'", nil, []string{"d", "c"}},
		{"params.model LIKE 'FR%'", nil, nil},
		{"status = 'FINISHED'", nil, []string{"b"}},
		{"attributes.run_name != 'a' and start_time >= 2", nil, []string{"d", "b"}},
		{"tags.`mlflow.runName` = 'c'", nil, []string{"c"}},
	}
	for _, tt := range tests {
		t.Run(tt.filter+"|"+joinOrder(tt.orderBy), func(t *testing.T) {
			out := mustOK(t, s, http.MethodPost, api+"runs/search", map[string]any{"experiment_ids": []string{"0"}, "filter": tt.filter, "order_by": tt.orderBy})
			var got []string
			runs, _ := out["runs"].([]any)
			for _, r := range runs {
				got = append(got, ids[r.(map[string]any)["info"].(map[string]any)["run_id"].(string)])
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("runs (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{"metrics.auc > 'x'", "params.model = 1", "tags.a IN ('x')", "(metrics.auc > 1)", "datasets.name = 'x'", "attributes.artifact_uri = 'x'", "metrics.auc LIKE 1", "start_time = 'x'"} {
		wantError(t, s, http.MethodPost, api+"runs/search", map[string]any{"experiment_ids": []string{"0"}, "filter": bad}, 400, codeInvalidParameter)
	}
}

func firstKey(m map[string]string, v string) string {
	for k, x := range m {
		if x == v {
			return k
		}
	}
	return ""
}

func joinOrder(o []string) string {
	out := ""
	for _, s := range o {
		out += s + ";"
	}
	return out
}

func TestRegistryAndArtifacts(t *testing.T) {
	t.Parallel()
	s := &Server{}
	id := newRun(t, s, "0")
	mustOK(t, s, http.MethodPost, api+"registered-models/create", map[string]any{"name": "m"})
	wantError(t, s, http.MethodPost, api+"registered-models/create", map[string]any{"name": "m"}, 400, codeAlreadyExists)
	mv := mustOK(t, s, http.MethodPost, api+"model-versions/create", map[string]any{"name": "m", "source": "runs:/" + id + "/model", "run_id": id})["model_version"].(map[string]any)
	if mv["version"] != "1" || mv["current_stage"] != "None" || mv["status"] != "READY" {
		t.Errorf("model version = %v", mv)
	}
	wantError(t, s, http.MethodPost, api+"model-versions/create", map[string]any{"name": "m", "source": "runs:/" + id + "/model"}, 400, codeInvalidParameter)
	mustOK(t, s, http.MethodPost, api+"model-versions/create", map[string]any{"name": "m", "source": "s3://bucket/model"})
	wantError(t, s, http.MethodPost, api+"model-versions/create", map[string]any{"name": "nope", "source": "s3://b/m"}, 404, codeNotFound)
	mustOK(t, s, http.MethodPost, api+"registered-models/alias", map[string]any{"name": "m", "alias": "champion", "version": "1"})
	for _, alias := range []string{"v1", "latest", "a b"} {
		wantError(t, s, http.MethodPost, api+"registered-models/alias", map[string]any{"name": "m", "alias": alias, "version": "1"}, 400, codeInvalidParameter)
	}
	got := mustOK(t, s, http.MethodGet, api+"registered-models/alias?name=m&alias=champion", nil)["model_version"].(map[string]any)
	if got["run_id"] != id || cmp.Diff([]any{"champion"}, got["aliases"]) != "" {
		t.Errorf("alias resolves to %v", got)
	}
	wantError(t, s, http.MethodGet, api+"registered-models/alias?name=m&alias=nope", nil, 400, codeInvalidParameter)
	latest := mustOK(t, s, http.MethodPost, api+"registered-models/get-latest-versions", map[string]any{"name": "m"})["model_versions"].([]any)
	if len(latest) != 1 || latest[0].(map[string]any)["version"] != "2" {
		t.Errorf("latest versions = %v", latest)
	}
	mustOK(t, s, http.MethodDelete, api+"registered-models/alias", map[string]any{"name": "m", "alias": "champion"})
	wantError(t, s, http.MethodGet, api+"registered-models/alias?name=m&alias=champion", nil, 400, codeInvalidParameter)

	// Proxied artifacts, kept in memory.
	put := func(path, body string) int {
		rec := newRecorder()
		s.ServeHTTP(rec, newRequest(http.MethodPut, "/api/2.0/mlflow-artifacts/artifacts/0/"+id+"/artifacts/"+path, body))
		return rec.Code
	}
	if put("model/m.pkl", "weights") != 200 || put("report.html", "<p>") != 200 {
		t.Fatal("PUT failed")
	}
	if code := put("../evil", "x"); code != 400 {
		t.Errorf("PUT ../evil: %d, want 400", code)
	}
	if diff := cmp.Diff(map[string][]byte{"model/m.pkl": []byte("weights"), "report.html": []byte("<p>")}, s.Artifacts(id)); diff != "" {
		t.Errorf("Artifacts (-want +got):\n%s", diff)
	}
	list := mustOK(t, s, http.MethodGet, api+"artifacts/list?run_id="+id, nil)
	wantFiles := []any{
		map[string]any{"path": "model", "is_dir": true},
		map[string]any{"path": "report.html", "is_dir": false, "file_size": jsonNum("3")},
	}
	if diff := cmp.Diff(wantFiles, list["files"]); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	rec := newRecorder()
	s.ServeHTTP(rec, newRequest(http.MethodGet, "/api/2.0/mlflow-artifacts/artifacts/0/"+id+"/artifacts/model/m.pkl", ""))
	if rec.Code != 200 || rec.Body.String() != "weights" {
		t.Errorf("GET artifact: %d %q", rec.Code, rec.Body)
	}
	rec = newRecorder()
	s.ServeHTTP(rec, newRequest(http.MethodPost, "/api/2.0/mlflow-artifacts/mpu/create/0/"+id+"/artifacts/big.bin", `{"path":"big.bin","num_parts":2}`))
	if rec.Code != http.StatusNotImplemented {
		t.Errorf("multipart create: %d, want 501", rec.Code)
	}
}
