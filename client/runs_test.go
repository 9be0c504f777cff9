package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
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
		{"503 not created", []string{"503", "ok"}, 2, 1, 1, nil},
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
