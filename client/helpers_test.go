package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// testPrefix is where tests mount the API: a client that drops the tracking
// URI's path prefix hits the catch-all handler and fails the test.
const testPrefix = "/mlflow/prefix"

// fastRetry keeps retry tests quick.
var fastRetry = RetryPolicy{MaxRetries: 3, BackoffFactor: time.Millisecond, MaxBackoff: 5 * time.Millisecond, RespectRetryAfter: true}

// setup starts an httptest server that serves mux under testPrefix and
// returns a client for it, go-github style.
func setup(t testing.TB, opts ...Option) (*Client, *http.ServeMux) {
	t.Helper()
	mux := http.NewServeMux()
	root := http.NewServeMux()
	root.Handle(testPrefix+"/", http.StripPrefix(testPrefix, mux))
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request outside the tracking URI prefix: %s %s", r.Method, r.URL.Path)
		http.Error(w, "outside prefix", http.StatusTeapot)
	})
	srv := httptest.NewServer(root)
	t.Cleanup(srv.Close)
	all := append([]Option{WithRetryPolicy(fastRetry)}, opts...)
	c, err := New(srv.URL+testPrefix+"/", all...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, mux
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// mlflowError writes an MLflow error body.
func mlflowError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error_code": code, "message": msg})
}

// readBody decodes a JSON request body into a map, failing the test on error.
func readBody(t testing.TB, r *http.Request) map[string]any {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", r.Method, r.URL.Path, ct)
	}
	var m map[string]any
	data, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(data, &m); err != nil {
		t.Errorf("%s: body is not JSON: %v", r.URL.Path, err)
	}
	return m
}

// recordHandler is a slog.Handler that keeps records.
type recordHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }

func (h *recordHandler) all() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]slog.Record(nil), h.records...)
}

func attrsOf(r slog.Record) map[string]string {
	m := map[string]string{}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	return m
}

// miniStore is a tiny in-memory MLflow used by this package's own tests
// (the full fake lives in package clienttest).
type miniStore struct {
	mu          sync.Mutex
	experiments map[string]*Experiment
	runs        map[string]*Run
	history     map[string][]Metric // runID + "\x00" + key
	nextExp     int
	nextRun     int
	calls       map[string]int
}

func newMiniStore() *miniStore {
	return &miniStore{
		experiments: map[string]*Experiment{"0": {ID: "0", Name: "Default", LifecycleStage: "active"}},
		runs:        map[string]*Run{},
		history:     map[string][]Metric{},
		nextExp:     1,
		calls:       map[string]int{},
	}
}

func (s *miniStore) callCount(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// register mounts the store's endpoints on mux.
func (s *miniStore) register(t testing.TB, mux *http.ServeMux) {
	h := func(path string, fn func(w http.ResponseWriter, r *http.Request)) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			s.calls[path]++
			s.mu.Unlock()
			fn(w, r)
		})
	}
	h("/api/2.0/mlflow/experiments/get-by-name", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		name := r.URL.Query().Get("experiment_name")
		for _, e := range s.experiments {
			if e.Name == name {
				writeJSON(w, 200, map[string]any{"experiment": e})
				return
			}
		}
		mlflowError(w, 404, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Could not find experiment with name '%s'", name))
	})
	h("/api/2.0/mlflow/experiments/get", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		e, ok := s.experiments[r.URL.Query().Get("experiment_id")]
		if !ok {
			mlflowError(w, 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id")
			return
		}
		writeJSON(w, 200, map[string]any{"experiment": e})
	})
	h("/api/2.0/mlflow/experiments/create", func(w http.ResponseWriter, r *http.Request) {
		body := readBody(t, r)
		s.mu.Lock()
		defer s.mu.Unlock()
		name, _ := body["name"].(string)
		for _, e := range s.experiments {
			if e.Name == name {
				mlflowError(w, 400, "RESOURCE_ALREADY_EXISTS", "Experiment(name="+name+") already exists.")
				return
			}
		}
		id := fmt.Sprint(s.nextExp)
		s.nextExp++
		s.experiments[id] = &Experiment{ID: id, Name: name, LifecycleStage: "active", ArtifactLocation: "mlflow-artifacts:/" + id}
		writeJSON(w, 200, map[string]any{"experiment_id": id})
	})
	h("/api/2.0/mlflow/runs/create", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			ExperimentID string `json:"experiment_id"`
			UserID       string `json:"user_id"`
			RunName      string `json:"run_name"`
			StartTime    int64  `json:"start_time"`
			Tags         []Tag  `json:"tags"`
		}
		data, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(data, &in); err != nil {
			mlflowError(w, 400, "BAD_REQUEST", err.Error())
			return
		}
		writeJSON(w, 200, map[string]any{"run": s.createRun(in.ExperimentID, in.RunName, in.UserID, in.StartTime, in.Tags)})
	})
	h("/api/2.0/mlflow/runs/get", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		run, ok := s.runs[r.URL.Query().Get("run_id")]
		if !ok {
			mlflowError(w, 404, "RESOURCE_DOES_NOT_EXIST", "Run not found")
			return
		}
		writeJSON(w, 200, map[string]any{"run": run})
	})
	h("/api/2.0/mlflow/runs/update", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			RunID   string    `json:"run_id"`
			Status  RunStatus `json:"status"`
			EndTime int64     `json:"end_time"`
		}
		data, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(data, &in)
		s.mu.Lock()
		defer s.mu.Unlock()
		run, ok := s.runs[in.RunID]
		if !ok {
			mlflowError(w, 404, "RESOURCE_DOES_NOT_EXIST", "Run not found")
			return
		}
		if in.Status != "" {
			run.Info.Status = in.Status
		}
		if in.EndTime != 0 {
			run.Info.EndTime = in.EndTime
		}
		writeJSON(w, 200, map[string]any{"run_info": run.Info})
	})
	h("/api/2.0/mlflow/runs/search", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			ExperimentIDs []string `json:"experiment_ids"`
			Filter        string   `json:"filter"`
		}
		data, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(data, &in)
		s.mu.Lock()
		defer s.mu.Unlock()
		var out []Run
		for _, run := range s.runs {
			if len(in.ExperimentIDs) > 0 && run.Info.ExperimentID != in.ExperimentIDs[0] {
				continue
			}
			if in.Filter != "" {
				// Supports only: tags.`k` = 'v'
				k, v, _ := strings.Cut(strings.TrimPrefix(in.Filter, "tags.`"), "` = '")
				v = strings.TrimSuffix(v, "'")
				if got, ok := run.Tag(k); !ok || got != v {
					continue
				}
			}
			out = append(out, *run)
		}
		writeJSON(w, 200, map[string]any{"runs": out})
	})
	h("/api/2.0/mlflow/runs/log-batch", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			RunID   string   `json:"run_id"`
			Metrics []Metric `json:"metrics"`
			Params  []Param  `json:"params"`
			Tags    []Tag    `json:"tags"`
		}
		data, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(data, &in); err != nil {
			mlflowError(w, 400, "BAD_REQUEST", err.Error())
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		run, ok := s.runs[in.RunID]
		if !ok {
			mlflowError(w, 404, "RESOURCE_DOES_NOT_EXIST", "Run not found")
			return
		}
		for _, m := range in.Metrics {
			s.history[in.RunID+"\x00"+m.Key] = append(s.history[in.RunID+"\x00"+m.Key], m)
			run.Data.Metrics = upsertMetric(run.Data.Metrics, m)
		}
		run.Data.Params = append(run.Data.Params, in.Params...)
		for _, tg := range in.Tags {
			run.Data.Tags = upsertTag(run.Data.Tags, tg)
		}
		writeJSON(w, 200, map[string]any{})
	})
	h("/api/2.0/mlflow/runs/set-tag", func(w http.ResponseWriter, r *http.Request) {
		body := readBody(t, r)
		s.mu.Lock()
		defer s.mu.Unlock()
		run, ok := s.runs[fmt.Sprint(body["run_id"])]
		if !ok {
			mlflowError(w, 404, "RESOURCE_DOES_NOT_EXIST", "Run not found")
			return
		}
		run.Data.Tags = upsertTag(run.Data.Tags, Tag{Key: fmt.Sprint(body["key"]), Value: fmt.Sprint(body["value"])})
		writeJSON(w, 200, map[string]any{})
	})
}

func (s *miniStore) createRun(expID, name, user string, start int64, tags []Tag) Run {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextRun++
	id := fmt.Sprintf("%032x", s.nextRun)
	if name == "" {
		name = "run-" + fmt.Sprint(s.nextRun)
	}
	run := &Run{Info: RunInfo{RunID: id, RunName: name, ExperimentID: expID, UserID: user, Status: RunRunning,
		StartTime: start, LifecycleStage: "active", ArtifactURI: "mlflow-artifacts:/" + expID + "/" + id + "/artifacts"}}
	run.Data.Tags = append(run.Data.Tags, tags...)
	if _, ok := run.Tag(TagRunName); !ok {
		run.Data.Tags = append(run.Data.Tags, Tag{Key: TagRunName, Value: name})
	}
	s.runs[id] = run
	return *run
}

func (s *miniStore) runCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.runs)
}

func upsertMetric(ms []Metric, m Metric) []Metric {
	for i := range ms {
		if ms[i].Key == m.Key {
			if m.Step >= ms[i].Step {
				ms[i] = m
			}
			return ms
		}
	}
	return append(ms, m)
}

func upsertTag(ts []Tag, t Tag) []Tag {
	for i := range ts {
		if ts[i].Key == t.Key {
			ts[i] = t
			return ts
		}
	}
	return append(ts, t)
}
