package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// createFaultServer mounts a mini store whose runs/create answers are
// scripted: "timeout" creates the run and then stalls past the client's
// per-attempt timeout, "503" fails without creating, "429" is rate limited,
// "drop" creates the run and closes the connection, "ok" creates normally.
func createFaultServer(t *testing.T, script []string, opts ...Option) (*Client, *miniStore, *atomic.Int32) {
	t.Helper()
	c, mux := setup(t, append([]Option{WithTimeout(100 * time.Millisecond)}, opts...)...)
	store := newMiniStore()
	storeMux := http.NewServeMux()
	store.register(t, storeMux)
	mux.Handle("/", storeMux)
	var calls atomic.Int32
	mux.HandleFunc("/api/2.0/mlflow/runs/create", func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1)) - 1
		var in struct {
			ExperimentID string `json:"experiment_id"`
			RunName      string `json:"run_name"`
			StartTime    int64  `json:"start_time"`
			Tags         []Tag  `json:"tags"`
		}
		data, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(data, &in); err != nil {
			t.Errorf("create body: %v", err)
		}
		action := script[min(n, len(script)-1)]
		switch action {
		case "503":
			mlflowError(w, 503, "TEMPORARILY_UNAVAILABLE", "busy")
			return
		case "429":
			mlflowError(w, 429, "REQUEST_LIMIT_EXCEEDED", "slow down")
			return
		case "400":
			mlflowError(w, 400, "INVALID_PARAMETER_VALUE", "bad run name")
			return
		}
		run := store.createRun(in.ExperimentID, in.RunName, "", in.StartTime, in.Tags)
		switch action {
		case "timeout":
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
			return
		case "drop":
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		writeJSON(w, 200, map[string]any{"run": run})
	})
	return c, store, &calls
}

func TestCreateRunNeverDuplicates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		script      []string
		wantCreates int32
		wantSearch  int
		wantRuns    int
		wantErr     error
	}{
		{"ok", []string{"ok"}, 1, 0, 1, nil},
		{"created then timed out", []string{"timeout", "ok"}, 1, 1, 1, nil},
		{"created then dropped", []string{"drop", "ok"}, 1, 1, 1, nil},
		{"503 not created", []string{"503", "ok"}, 2, 2, 1, nil}, // search before re-create, check after
		{"429 retried without search", []string{"429", "ok"}, 2, 0, 1, nil},
		{"400 not retried", []string{"400", "ok"}, 1, 0, 0, ErrInvalidParameter},
		{"all 503", []string{"503"}, 4, 3, 0, ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, store, calls := createFaultServer(t, tt.script)
			tags := []Tag{{Key: "team", Value: "de"}}
			run, err := c.CreateRun(context.Background(), CreateRunOptions{ExperimentID: "0", RunName: "daily", Tags: tags})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("CreateRun: %v", err)
			}
			if got := calls.Load(); got != tt.wantCreates {
				t.Errorf("create calls = %d, want %d", got, tt.wantCreates)
			}
			if got := store.callCount("/api/2.0/mlflow/runs/search"); got != tt.wantSearch {
				t.Errorf("search calls = %d, want %d", got, tt.wantSearch)
			}
			if got := store.runCount(); got != tt.wantRuns {
				t.Errorf("runs on server = %d, want %d", got, tt.wantRuns)
			}
			if diff := cmp.Diff([]Tag{{Key: "team", Value: "de"}}, tags); diff != "" {
				t.Errorf("input tags modified: %s", diff)
			}
			if err == nil {
				if _, ok := run.Tag(RequestIDTag); !ok {
					t.Error("run has no request tag")
				}
				if run.Info.RunName != "daily" || run.Info.Status != RunRunning {
					t.Errorf("run info %+v", run.Info)
				}
			}
		})
	}
}

// TestCreateRunRemovesStraggler covers the race a search cannot close: the
// first create times out, the search finds nothing, and the server commits
// the first run only afterwards. The check after the successful retry finds
// both runs and deletes the straggler.
func TestCreateRunRemovesStraggler(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithTimeout(100*time.Millisecond))
	store := newMiniStore()
	sm := http.NewServeMux()
	store.register(t, sm)
	mux.Handle("/", sm)
	searchDone, aCommitted := make(chan struct{}), make(chan struct{})
	var searches, creates atomic.Int32
	mux.HandleFunc("/api/2.0/mlflow/runs/search", func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		sm.ServeHTTP(rec, r) // compute the answer first
		if searches.Add(1) == 1 {
			close(searchDone) // the straggler may commit now
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
	var deleted []string
	var mu sync.Mutex
	mux.HandleFunc("/api/2.0/mlflow/runs/delete", func(w http.ResponseWriter, r *http.Request) {
		body := readBody(t, r)
		mu.Lock()
		deleted = append(deleted, body["run_id"].(string))
		mu.Unlock()
		store.mu.Lock()
		store.runs[body["run_id"].(string)].Info.LifecycleStage = "deleted"
		store.mu.Unlock()
		writeJSON(w, 200, map[string]any{})
	})
	mux.HandleFunc("/api/2.0/mlflow/runs/create", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			ExperimentID string `json:"experiment_id"`
			StartTime    int64  `json:"start_time"`
			Tags         []Tag  `json:"tags"`
		}
		data, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(data, &in)
		if creates.Add(1) == 1 {
			<-r.Context().Done() // the client timed out
			select {
			case <-searchDone:
			case <-time.After(5 * time.Second):
				t.Error("no search before the re-create")
			}
			store.createRun(in.ExperimentID, "straggler", "", in.StartTime, in.Tags)
			close(aCommitted)
			return
		}
		select {
		case <-aCommitted:
		case <-time.After(5 * time.Second):
			t.Error("straggler never committed")
		}
		writeJSON(w, 200, map[string]any{"run": store.createRun(in.ExperimentID, "winner", "", in.StartTime, in.Tags)})
	})
	run, err := c.CreateRun(context.Background(), CreateRunOptions{ExperimentID: "0"})
	if err != nil {
		t.Fatal(err)
	}
	if run.Info.RunName != "winner" {
		t.Errorf("returned %q", run.Info.RunName)
	}
	if len(deleted) != 1 || deleted[0] == run.Info.RunID {
		t.Fatalf("deleted %v, want the straggler only", deleted)
	}
	active := 0
	for _, r := range store.runs {
		if r.Info.LifecycleStage == "active" {
			active++
		}
	}
	if active != 1 {
		t.Errorf("%d active runs, want 1", active)
	}
}

// TestCreateRunSearchFailureDoesNotCreate: the first create is stored but
// answered 503, the first search fails; CreateRun must search again, find
// the run, and never send a second create.
func TestCreateRunSearchFailureDoesNotCreate(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	store := newMiniStore()
	sm := http.NewServeMux()
	store.register(t, sm)
	mux.Handle("/", sm)
	var searches, creates atomic.Int32
	mux.HandleFunc("/api/2.0/mlflow/runs/search", func(w http.ResponseWriter, r *http.Request) {
		if searches.Add(1) == 1 {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			io.WriteString(w, "<title>502 Bad Gateway</title>")
			return
		}
		sm.ServeHTTP(w, r)
	})
	mux.HandleFunc("/api/2.0/mlflow/runs/create", func(w http.ResponseWriter, r *http.Request) {
		creates.Add(1)
		var in struct {
			ExperimentID string `json:"experiment_id"`
			Tags         []Tag  `json:"tags"`
		}
		data, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(data, &in)
		store.createRun(in.ExperimentID, "first", "", 1, in.Tags)
		mlflowError(w, 503, "TEMPORARILY_UNAVAILABLE", "stored, then failed")
	})
	run, err := c.CreateRun(context.Background(), CreateRunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if run.Info.RunName != "first" || creates.Load() != 1 || searches.Load() < 2 || store.runCount() != 1 {
		t.Errorf("run %q after %d creates, %d searches, %d runs", run.Info.RunName, creates.Load(), searches.Load(), store.runCount())
	}
}

func TestCreateRunDefaultsAndValidation(t *testing.T) {
	t.Parallel()
	c, store, _ := createFaultServer(t, []string{"ok"})
	c.now = func() time.Time { return time.UnixMilli(1714400000000) }
	run, err := c.CreateRun(context.Background(), CreateRunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if run.Info.ExperimentID != "0" || run.Info.StartTime != 1714400000000 {
		t.Errorf("defaults not applied: %+v", run.Info)
	}
	for _, opt := range []CreateRunOptions{
		{ExperimentID: "bad id"},
		{StartTime: -1},
		{Tags: []Tag{{Key: "bad!", Value: "v"}}},
	} {
		if _, err := c.CreateRun(context.Background(), opt); !errors.Is(err, ErrInvalidParameter) {
			t.Errorf("CreateRun(%+v) = %v, want a validation error", opt, err)
		}
	}
	if store.runCount() != 1 {
		t.Errorf("invalid input reached the server")
	}
}

func TestRunEndpoints(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	got := map[string]map[string]any{}
	for _, p := range []string{"runs/delete", "runs/restore", "runs/set-tag", "runs/delete-tag", "runs/log-parameter", "runs/log-inputs",
		"experiments/delete", "experiments/restore", "experiments/set-experiment-tag", "registered-models/alias", "registered-models/create"} {
		p := p
		mux.HandleFunc("/api/2.0/mlflow/"+p, func(w http.ResponseWriter, r *http.Request) {
			got[p] = readBody(t, r)
			writeJSON(w, 200, map[string]any{})
		})
	}
	ctx := context.Background()
	for name, err := range map[string]error{
		"DeleteRun":             c.DeleteRun(ctx, "r1"),
		"RestoreRun":            c.RestoreRun(ctx, "r1"),
		"SetTag":                c.SetTag(ctx, "r1", "k", "v"),
		"DeleteTag":             c.DeleteTag(ctx, "r1", "k"),
		"LogParam":              c.LogParam(ctx, "r1", "lr", "0.1"),
		"LogInputs":             c.LogInputs(ctx, "r1", []DatasetInput{{Dataset: Dataset{Name: "d", Digest: "x", SourceType: "s3", Source: "{}"}}}),
		"DeleteExperiment":      c.DeleteExperiment(ctx, "3"),
		"RestoreExperiment":     c.RestoreExperiment(ctx, "3"),
		"SetExperimentTag":      c.SetExperimentTag(ctx, "3", "owner", "ml"),
		"SetModelVersionAlias":  c.SetModelVersionAlias(ctx, "churn", "champion", "4"),
		"CreateRegisteredModel": c.CreateRegisteredModel(ctx, "churn"),
	} {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	want := map[string]map[string]any{
		"runs/delete":                    {"run_id": "r1"},
		"runs/restore":                   {"run_id": "r1"},
		"runs/set-tag":                   {"run_id": "r1", "run_uuid": "r1", "key": "k", "value": "v"},
		"runs/delete-tag":                {"run_id": "r1", "key": "k"},
		"runs/log-parameter":             {"run_id": "r1", "run_uuid": "r1", "key": "lr", "value": "0.1"},
		"runs/log-inputs":                {"run_id": "r1", "datasets": []any{map[string]any{"dataset": map[string]any{"name": "d", "digest": "x", "source_type": "s3", "source": "{}"}}}},
		"experiments/delete":             {"experiment_id": "3"},
		"experiments/restore":            {"experiment_id": "3"},
		"experiments/set-experiment-tag": {"experiment_id": "3", "key": "owner", "value": "ml"},
		"registered-models/alias":        {"name": "churn", "alias": "champion", "version": "4"},
		"registered-models/create":       {"name": "churn"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request bodies (-want +got):\n%s", diff)
	}
}

func TestRegistryReads(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("GET /api/2.0/mlflow/registered-models/alias", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("alias") != "champion" || r.URL.Query().Get("name") != "churn" {
			mlflowError(w, 404, "RESOURCE_DOES_NOT_EXIST", "no alias")
			return
		}
		writeJSON(w, 200, map[string]any{"model_version": map[string]any{"name": "churn", "version": "4", "run_id": "r9", "aliases": []string{"champion"}}})
	})
	mux.HandleFunc("/api/2.0/mlflow/registered-models/get-latest-versions", func(w http.ResponseWriter, r *http.Request) {
		body := readBody(t, r)
		if diff := cmp.Diff(map[string]any{"name": "churn", "stages": []any{"Production"}}, body); diff != "" {
			t.Errorf("body: %s", diff)
		}
		writeJSON(w, 200, map[string]any{"model_versions": []map[string]any{{"name": "churn", "version": 3, "current_stage": "Production", "run_id": "r8"}}})
	})
	mv, err := c.GetModelVersionByAlias(context.Background(), "churn", "champion")
	if err != nil || mv.RunID != "r9" || mv.Version != "4" {
		t.Fatalf("GetModelVersionByAlias = %+v, %v", mv, err)
	}
	if _, err := c.GetModelVersionByAlias(context.Background(), "churn", "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown alias: %v", err)
	}
	vs, err := c.GetLatestVersions(context.Background(), "churn", "Production")
	if err != nil || len(vs) != 1 || vs[0].Version != "3" || vs[0].RunID != "r8" {
		t.Fatalf("GetLatestVersions = %+v, %v", vs, err)
	}
}
