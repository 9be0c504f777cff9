package clienttest

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// call sends one request straight to the handler (no network) and decodes a
// JSON answer into a generic map.
func call(t *testing.T, s *Server, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	out := map[string]any{}
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		dec := json.NewDecoder(rec.Body)
		dec.UseNumber()
		if err := dec.Decode(&out); err != nil {
			t.Fatalf("%s %s: decoding answer: %v", method, path, err)
		}
	}
	return rec.Code, out
}

// mustOK fails the test unless the answer is 200.
func mustOK(t *testing.T, s *Server, method, path string, body any) map[string]any {
	t.Helper()
	code, out := call(t, s, method, path, body)
	if code != http.StatusOK {
		t.Fatalf("%s %s: status %d, body %v", method, path, code, out)
	}
	return out
}

// wantError checks status and error_code of an error answer.
func wantError(t *testing.T, s *Server, method, path string, body any, status int, code string) map[string]any {
	t.Helper()
	gotStatus, out := call(t, s, method, path, body)
	if gotStatus != status || out["error_code"] != code {
		t.Fatalf("%s %s: got %d %v, want %d %s", method, path, gotStatus, out, status, code)
	}
	return out
}

const api = "/api/2.0/mlflow/"

func newRun(t *testing.T, s *Server, expID string) string {
	t.Helper()
	out := mustOK(t, s, http.MethodPost, api+"runs/create", map[string]any{"experiment_id": expID, "start_time": 1000})
	return out["run"].(map[string]any)["info"].(map[string]any)["run_id"].(string)
}

func TestZeroValueHasDefaultExperiment(t *testing.T) {
	t.Parallel()
	var s Server
	out := mustOK(t, &s, http.MethodGet, api+"experiments/get-by-name?experiment_name=Default", nil)
	exp := out["experiment"].(map[string]any)
	if exp["experiment_id"] != "0" || exp["artifact_location"] != "mlflow-artifacts:/0" || exp["lifecycle_stage"] != "active" {
		t.Fatalf("default experiment = %v", exp)
	}
}

func TestExperiments(t *testing.T) {
	t.Parallel()
	s := &Server{}
	out := mustOK(t, s, http.MethodPost, api+"experiments/create", map[string]any{"name": "churn", "tags": []map[string]string{{"key": "team", "value": "ds"}}})
	id := out["experiment_id"].(string)
	if id != "1" {
		t.Fatalf("experiment id = %q, want 1", id)
	}
	tests := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"duplicate name is 400", http.MethodPost, api + "experiments/create", map[string]any{"name": "churn"}, 400, codeAlreadyExists},
		{"missing name", http.MethodPost, api + "experiments/create", map[string]any{}, 400, codeInvalidParameter},
		{"empty name", http.MethodPost, api + "experiments/create", map[string]any{"name": ""}, 400, codeInvalidParameter},
		{"long name", http.MethodPost, api + "experiments/create", map[string]any{"name": strings.Repeat("x", 501)}, 400, codeInvalidParameter},
		{"unknown id", http.MethodGet, api + "experiments/get?experiment_id=999", nil, 404, codeNotFound},
		{"bad id", http.MethodGet, api + "experiments/get?experiment_id=a%21", nil, 400, codeInvalidParameter},
		{"unknown name", http.MethodGet, api + "experiments/get-by-name?experiment_name=nope", nil, 404, codeNotFound},
		{"rename onto existing is BAD_REQUEST", http.MethodPost, api + "experiments/update", map[string]any{"experiment_id": id, "new_name": "Default"}, 400, codeBadRequest},
		{"non-integer id", http.MethodGet, api + "experiments/get?experiment_id=abc", nil, 400, codeInvalidParameter},
		{"delete unknown", http.MethodPost, api + "experiments/delete", map[string]any{"experiment_id": "999"}, 404, codeNotFound},
		{"restore active is not found", http.MethodPost, api + "experiments/restore", map[string]any{"experiment_id": id}, 404, codeNotFound},
		{"bad tag key", http.MethodPost, api + "experiments/set-experiment-tag", map[string]any{"experiment_id": id, "key": "a!", "value": "v"}, 400, codeInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, s, tt.method, tt.path, tt.body, tt.status, tt.code)
		})
	}

	mustOK(t, s, http.MethodPost, api+"experiments/set-experiment-tag", map[string]any{"experiment_id": id, "key": "owner", "value": "me"})
	got := mustOK(t, s, http.MethodGet, api+"experiments/get?experiment_id="+id, nil)["experiment"].(map[string]any)
	wantTags := []any{map[string]any{"key": "team", "value": "ds"}, map[string]any{"key": "owner", "value": "me"}}
	if diff := cmp.Diff(wantTags, got["tags"]); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}

	// Deleting an experiment deletes its runs; writes are then rejected.
	runID := newRun(t, s, id)
	mustOK(t, s, http.MethodPost, api+"experiments/delete", map[string]any{"experiment_id": id})
	wantError(t, s, http.MethodPost, api+"runs/create", map[string]any{"experiment_id": id}, 400, codeInvalidParameter)
	wantError(t, s, http.MethodPost, api+"runs/set-tag", map[string]any{"run_id": runID, "key": "k", "value": "v"}, 400, codeInvalidParameter)
	// The name stays taken, and get-by-name still finds the deleted experiment.
	wantError(t, s, http.MethodPost, api+"experiments/create", map[string]any{"name": "churn"}, 400, codeAlreadyExists)
	byName := mustOK(t, s, http.MethodGet, api+"experiments/get-by-name?experiment_name=churn", nil)["experiment"].(map[string]any)
	if byName["lifecycle_stage"] != "deleted" {
		t.Errorf("lifecycle_stage = %v, want deleted", byName["lifecycle_stage"])
	}
	mustOK(t, s, http.MethodPost, api+"experiments/restore", map[string]any{"experiment_id": id})
	mustOK(t, s, http.MethodPost, api+"runs/set-tag", map[string]any{"run_id": runID, "key": "k", "value": "v"})
}

func TestSearchExperimentsPaging(t *testing.T) {
	t.Parallel()
	s := &Server{}
	for _, n := range []string{"a1", "a2", "a3", "b1"} {
		mustOK(t, s, http.MethodPost, api+"experiments/create", map[string]any{"name": n})
	}
	var names []string
	token := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("too many pages")
		}
		out := mustOK(t, s, http.MethodPost, api+"experiments/search", map[string]any{"filter": "name LIKE 'a%'", "max_results": 2, "page_token": token, "order_by": []string{"name ASC"}})
		for _, e := range out["experiments"].([]any) {
			names = append(names, e.(map[string]any)["name"].(string))
		}
		tok, _ := out["next_page_token"].(string)
		if tok == "" {
			break
		}
		token = tok
	}
	if diff := cmp.Diff([]string{"a1", "a2", "a3"}, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	wantError(t, s, http.MethodPost, api+"experiments/search", map[string]any{"page_token": "%%%"}, 400, codeInvalidParameter)
	wantError(t, s, http.MethodPost, api+"experiments/search", map[string]any{"filter": "name = 'a' OR name = 'b'"}, 400, codeInvalidParameter)
	wantError(t, s, http.MethodPost, api+"experiments/search", map[string]any{"max_results": 50001}, 400, codeInvalidParameter)
	// GET works too.
	wantError(t, s, http.MethodPost, api+"experiments/search", map[string]any{}, 400, codeInvalidParameter) // max_results is required
	out := mustOK(t, s, http.MethodGet, api+"experiments/search?max_results=5&filter="+url.QueryEscape("name = 'b1'"), nil)
	if n := len(out["experiments"].([]any)); n != 1 {
		t.Errorf("GET search found %d experiments, want 1", n)
	}
}

func TestRunLifecycleAndData(t *testing.T) {
	t.Parallel()
	s := &Server{}
	out := mustOK(t, s, http.MethodPost, api+"runs/create", map[string]any{"experiment_id": "0", "run_name": "train", "user_id": "ci", "start_time": "1700000000000"})
	info := out["run"].(map[string]any)["info"].(map[string]any)
	id := info["run_id"].(string)
	if len(id) != 32 || info["artifact_uri"] != "mlflow-artifacts:/0/"+id+"/artifacts" || info["status"] != "RUNNING" {
		t.Fatalf("run info = %v", info)
	}
	if info["start_time"] != json.Number("1700000000000") {
		t.Errorf("start_time = %#v, want number 1700000000000", info["start_time"])
	}
	if _, ok := info["end_time"]; ok {
		t.Errorf("end_time present on a running run")
	}
	if got := s.Tags(id)["mlflow.runName"]; got != "train" {
		t.Errorf("mlflow.runName = %q", got)
	}

	mustOK(t, s, http.MethodPost, api+"runs/log-batch", map[string]any{
		"run_id": id,
		"metrics": []map[string]any{
			{"key": "loss", "value": 1.5, "timestamp": 10, "step": 0},
			{"key": "loss", "value": "NaN", "timestamp": 11, "step": 1},
			{"key": "loss", "value": 0.5, "timestamp": 9, "step": 2},
			{"key": "loss", "value": 0.5, "timestamp": 9, "step": 2}, // identical: stored once
			{"key": "inf", "value": "Infinity", "timestamp": 1},
			{"key": "精度", "value": 0.9, "timestamp": 1},
		},
		"params": []map[string]any{{"key": "précision/été", "value": "1"}},
		"tags":   []map[string]any{{"key": "team", "value": "ds"}},
	})
	hist := s.MetricHistory(id, "loss")
	if len(hist) != 3 {
		t.Fatalf("loss history has %d points, want 3: %v", len(hist), hist)
	}
	run, _ := s.Run(id)
	if v, _ := run.Metric("loss"); v != 0.5 {
		t.Errorf("latest loss = %v, want 0.5 (max step)", v)
	}
	if v, _ := run.Metric("inf"); v != math.MaxFloat64 {
		t.Errorf("inf = %v, want MaxFloat64 (SQL store behaviour)", v)
	}

	// JSON shapes: NaN as a string, int64 as numbers.
	h := mustOK(t, s, http.MethodGet, api+"metrics/get-history?run_id="+id+"&metric_key=loss", nil)
	want := []any{
		map[string]any{"key": "loss", "value": json.Number("0.5"), "timestamp": json.Number("9"), "step": json.Number("2")},
		map[string]any{"key": "loss", "value": json.Number("1.5"), "timestamp": json.Number("10"), "step": json.Number("0")},
		map[string]any{"key": "loss", "value": "NaN", "timestamp": json.Number("11"), "step": json.Number("1")},
	}
	if diff := cmp.Diff(want, h["metrics"]); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}

	// Params are immutable; same value is fine.
	mustOK(t, s, http.MethodPost, api+"runs/log-parameter", map[string]any{"run_id": id, "key": "précision/été", "value": "1"})
	e := wantError(t, s, http.MethodPost, api+"runs/log-parameter", map[string]any{"run_id": id, "key": "précision/été", "value": "2"}, 400, codeInvalidParameter)
	if !strings.Contains(e["message"].(string), "Changing param values is not allowed") {
		t.Errorf("message = %q", e["message"])
	}
	wantError(t, s, http.MethodPost, api+"runs/log-batch", map[string]any{"run_id": id, "params": []map[string]any{{"key": "précision/été", "value": "3"}}}, 400, codeInvalidParameter)

	// End the run, then delete it: writes are rejected.
	u := mustOK(t, s, http.MethodPost, api+"runs/update", map[string]any{"run_id": id, "status": "FINISHED", "end_time": 2000})
	if got := u["run_info"].(map[string]any)["status"]; got != "FINISHED" {
		t.Errorf("status = %v", got)
	}
	mustOK(t, s, http.MethodPost, api+"runs/delete", map[string]any{"run_id": id})
	e = wantError(t, s, http.MethodPost, api+"runs/log-metric", map[string]any{"run_id": id, "key": "x", "value": 1, "timestamp": 1}, 400, codeInvalidParameter)
	if !strings.Contains(e["message"].(string), "must be in the 'active' state") {
		t.Errorf("message = %q", e["message"])
	}
	mustOK(t, s, http.MethodPost, api+"runs/restore", map[string]any{"run_id": id})
	mustOK(t, s, http.MethodPost, api+"runs/log-metric", map[string]any{"run_id": id, "key": "x", "value": 1, "timestamp": 1})
}

func TestStoreInf(t *testing.T) {
	t.Parallel()
	s := &Server{StoreInf: true}
	id := newRun(t, s, "0")
	mustOK(t, s, http.MethodPost, api+"runs/log-metric", map[string]any{"run_id": id, "key": "m", "value": "-Infinity", "timestamp": 1})
	h := mustOK(t, s, http.MethodGet, api+"metrics/get-history?run_id="+id+"&metric_key=m", nil)
	if got := h["metrics"].([]any)[0].(map[string]any)["value"]; got != "-Infinity" {
		t.Errorf("value = %v, want -Infinity", got)
	}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	s := &Server{}
	id := newRun(t, s, "0")
	metric := func(key string) map[string]any {
		return map[string]any{"run_id": id, "key": key, "value": 1, "timestamp": 1}
	}
	many := func(n int, kind string) []map[string]any {
		out := make([]map[string]any, n)
		for i := range out {
			out[i] = map[string]any{"key": kind + "_" + strings.Repeat("k", i%3) + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676)), "value": "1", "timestamp": 1}
			if kind == "m" {
				out[i]["value"] = 1
			}
		}
		return out
	}
	tests := []struct {
		name string
		path string
		body any
	}{
		{"bad character", "runs/log-metric", metric("a!b")},
		{"leading slash", "runs/log-metric", metric("/a")},
		{"trailing slash", "runs/log-metric", metric("a/")},
		{"double slash", "runs/log-metric", metric("a//b")},
		{"dot dot", "runs/log-metric", metric("a/../b")},
		{"empty key", "runs/log-metric", metric("")},
		{"long key", "runs/log-metric", metric(strings.Repeat("k", 251))},
		{"missing timestamp", "runs/log-metric", map[string]any{"run_id": id, "key": "k", "value": 1}},
		{"missing value", "runs/log-metric", map[string]any{"run_id": id, "key": "k", "timestamp": 1}},
		{"negative timestamp", "runs/log-metric", map[string]any{"run_id": id, "key": "k", "value": 1, "timestamp": -1}},
		{"lowercase nan", "runs/log-metric", map[string]any{"run_id": id, "key": "k", "value": "nan", "timestamp": 1}},
		{"bad run id in log-batch", "runs/log-batch", map[string]any{"run_id": "bad id!"}},
		{"missing run id", "runs/log-metric", map[string]any{"key": "k", "value": 1, "timestamp": 1}},
		{"too many metrics", "runs/log-batch", map[string]any{"run_id": id, "metrics": many(1001, "m")}},
		{"too many params", "runs/log-batch", map[string]any{"run_id": id, "params": many(101, "p")}},
		{"too many tags", "runs/log-batch", map[string]any{"run_id": id, "tags": many(101, "t")}},
		{"too many entities", "runs/log-batch", map[string]any{"run_id": id, "metrics": many(950, "m"), "params": many(51, "p")}},
		{"duplicate params", "runs/log-batch", map[string]any{"run_id": id, "params": []map[string]string{{"key": "a", "value": "1"}, {"key": "a", "value": "1"}}}},
		{"run name disagrees with tag", "runs/create", map[string]any{"experiment_id": "0", "run_name": "a", "tags": []map[string]string{{"key": "mlflow.runName", "value": "b"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, s, http.MethodPost, api+tt.path, tt.body, 400, codeInvalidParameter)
		})
	}
	// Nothing from the failed requests was stored.
	if h := s.MetricHistory(id, "k"); h != nil {
		t.Errorf("history after rejected writes = %v", h)
	}
	wantError(t, s, http.MethodGet, api+"runs/get?run_id=0123456789abcdef0123456789abcdef", nil, 404, codeNotFound)
	// Outside log-batch a malformed run ID is simply not found.
	wantError(t, s, http.MethodPost, api+"runs/log-metric", map[string]any{"run_id": "bad id!", "key": "k", "value": 1, "timestamp": 1}, 404, codeNotFound)
	// Unknown statuses are ignored.
	u := mustOK(t, s, http.MethodPost, api+"runs/update", map[string]any{"run_id": id, "status": "DONE"})
	if got := u["run_info"].(map[string]any)["status"]; got != "RUNNING" {
		t.Errorf("status after unknown status = %v", got)
	}
	// A body that is not JSON gets the framework's HTML 500 page.
	if code, _ := call(t, s, http.MethodPost, api+"runs/log-batch", `{"run_id": `); code != 500 {
		t.Errorf("malformed JSON: status %d, want 500", code)
	}

	// Unicode word characters are allowed; long param values are truncated
	// like the real server (MLFLOW_TRUNCATE_LONG_VALUES).
	mustOK(t, s, http.MethodPost, api+"runs/log-batch", map[string]any{"run_id": id, "params": []map[string]string{{"key": "精度 a:b/c-d.e", "value": strings.Repeat("v", 7000)}}})
	if got := len(s.Params(id)["精度 a:b/c-d.e"]); got != 6000 {
		t.Errorf("stored param length = %d, want 6000", got)
	}
}

func TestContentTypeRequired(t *testing.T) {
	t.Parallel()
	s := &Server{}
	req := httptest.NewRequest(http.MethodPost, api+"experiments/create", strings.NewReader(`{"name":"x"}`))
	req.Header.Set("Content-Type", "text/plain")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "Content-Type must be one of ['application/json']") {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
	// charset parameters are fine.
	req = httptest.NewRequest(http.MethodPost, api+"experiments/create", strings.NewReader(`{"name":"x"}`))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
}

func TestUnknownPathsAndMethods(t *testing.T) {
	t.Parallel()
	s := &Server{}
	tests := []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/api/2.0/mlflow/runs/nope", 404},
		{http.MethodGet, "/nope", 404},
		{http.MethodGet, api + "runs/create", 405},
		{http.MethodGet, "/health", 200},
		{http.MethodGet, "/version", 200},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.status {
				t.Errorf("status = %d, want %d", rec.Code, tt.status)
			}
		})
	}
	if got := s.Requests(""); got != 2 {
		t.Errorf("Requests(\"\") = %d, want 2", got)
	}
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func newRequest(method, path, body string) *http.Request {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func jsonNum(s string) json.Number { return json.Number(s) }
