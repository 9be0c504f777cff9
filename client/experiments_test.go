package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGetOrCreateExperiment(t *testing.T) {
	t.Parallel()
	t.Run("existing", func(t *testing.T) {
		t.Parallel()
		c, mux := setup(t)
		store := newMiniStore()
		store.register(t, mux)
		store.experiments["5"] = &Experiment{ID: "5", Name: "churn-de", LifecycleStage: "active"}
		exp, err := c.GetOrCreateExperiment(context.Background(), "churn-de", nil)
		if err != nil || exp.ID != "5" {
			t.Fatalf("got %+v, %v", exp, err)
		}
		if store.callCount("/api/2.0/mlflow/experiments/create") != 0 {
			t.Error("created an existing experiment")
		}
	})
	t.Run("new", func(t *testing.T) {
		t.Parallel()
		c, mux := setup(t)
		store := newMiniStore()
		store.register(t, mux)
		exp, err := c.GetOrCreateExperiment(context.Background(), "churn-fr", &ExperimentOptions{Tags: []Tag{{"owner", "ml"}}})
		if err != nil || exp.Name != "churn-fr" || exp.ID == "" {
			t.Fatalf("got %+v, %v", exp, err)
		}
	})
	t.Run("lost race", func(t *testing.T) {
		t.Parallel()
		c, mux := setup(t)
		var lookups atomic.Int32
		mux.HandleFunc("/api/2.0/mlflow/experiments/get-by-name", func(w http.ResponseWriter, r *http.Request) {
			if lookups.Add(1) == 1 {
				mlflowError(w, 404, "RESOURCE_DOES_NOT_EXIST", "Could not find experiment")
				return
			}
			writeJSON(w, 200, map[string]any{"experiment": map[string]any{"experiment_id": "9", "name": "x"}})
		})
		mux.HandleFunc("/api/2.0/mlflow/experiments/create", func(w http.ResponseWriter, r *http.Request) {
			mlflowError(w, 400, "RESOURCE_ALREADY_EXISTS", "Experiment(name=x) already exists.")
		})
		exp, err := c.GetOrCreateExperiment(context.Background(), "x", nil)
		if err != nil || exp.ID != "9" {
			t.Fatalf("got %+v, %v", exp, err)
		}
	})
	t.Run("other error", func(t *testing.T) {
		t.Parallel()
		c, mux := setup(t)
		mux.HandleFunc("/api/2.0/mlflow/experiments/get-by-name", func(w http.ResponseWriter, r *http.Request) {
			mlflowError(w, 403, "PERMISSION_DENIED", "no")
		})
		if _, err := c.GetOrCreateExperiment(context.Background(), "x", nil); !errors.Is(err, ErrPermissionDenied) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestExperimentValidation(t *testing.T) {
	t.Parallel()
	c, _ := setup(t)
	ctx := context.Background()
	checks := map[string]error{
		"empty name": func() error { _, err := c.CreateExperiment(ctx, "", nil); return err }(),
		"long name":  func() error { _, err := c.CreateExperiment(ctx, strings.Repeat("x", 501), nil); return err }(),
		"long tag value": func() error {
			_, err := c.CreateExperiment(ctx, "x", &ExperimentOptions{Tags: []Tag{{"k", strings.Repeat("v", 5001)}}})
			return err
		}(),
		"bad id":           func() error { _, err := c.GetExperiment(ctx, "../1"); return err }(),
		"set tag long key": c.SetExperimentTag(ctx, "1", strings.Repeat("k", 251), "v"),
		"bad view type": func() error {
			_, err := c.SearchExperiments(ctx, SearchExperimentsOptions{ViewType: "SOME"})
			return err
		}(),
		"max results": func() error {
			_, err := c.SearchRuns(ctx, SearchRunsOptions{ExperimentIDs: []string{"1"}, MaxResults: 50001})
			return err
		}(),
		"no experiments": func() error { _, err := c.SearchRuns(ctx, SearchRunsOptions{}); return err }(),
	}
	for name, err := range checks {
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: err = %v, want *ValidationError", name, err)
		}
	}
}

func TestSearchSeqPaging(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("/api/2.0/mlflow/experiments/search", func(w http.ResponseWriter, r *http.Request) {
		body := readBody(t, r)
		tok, _ := body["page_token"].(string)
		if body["max_results"] != float64(2) || body["view_type"] != "ALL" || body["filter"] != "name LIKE 'churn%'" {
			t.Errorf("body %v", body)
		}
		page := map[string]any{"": 0, "t1": 1, "t2": 2}[tok].(int)
		exps := []map[string]any{{"experiment_id": fmt.Sprint(page*2 + 1), "name": "a"}, {"experiment_id": fmt.Sprint(page*2 + 2), "name": "b"}}
		next := map[int]string{0: "t1", 1: "t2", 2: ""}[page]
		writeJSON(w, 200, map[string]any{"experiments": exps, "next_page_token": next})
	})
	mux.HandleFunc("/api/2.0/mlflow/runs/search", func(w http.ResponseWriter, r *http.Request) {
		body := readBody(t, r)
		want := map[string]any{"experiment_ids": []any{"1", "2"}, "filter": "metrics.auc > 0.8", "run_view_type": "ACTIVE_ONLY", "max_results": float64(1), "order_by": []any{"start_time DESC"}}
		tok, _ := body["page_token"].(string)
		delete(body, "page_token")
		if diff := cmp.Diff(want, body); diff != "" {
			t.Errorf("runs/search body (-want +got):\n%s", diff)
		}
		if tok == "" {
			writeJSON(w, 200, map[string]any{"runs": []map[string]any{{"info": map[string]any{"run_id": "r1"}}}, "next_page_token": "n"})
			return
		}
		writeJSON(w, 200, map[string]any{"runs": []map[string]any{{"info": map[string]any{"run_id": "r2"}}}})
	})
	var ids []string
	for e, err := range c.SearchExperimentsSeq(context.Background(), SearchExperimentsOptions{Filter: "name LIKE 'churn%'", ViewType: ViewAll, MaxResults: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	if diff := cmp.Diff([]string{"1", "2", "3", "4", "5", "6"}, ids); diff != "" {
		t.Errorf("experiments (-want +got):\n%s", diff)
	}
	ids = nil
	for r, err := range c.SearchRunsSeq(context.Background(), SearchRunsOptions{ExperimentIDs: []string{"1", "2"}, Filter: "metrics.auc > 0.8", ViewType: ViewActiveOnly, MaxResults: 1, OrderBy: []string{"start_time DESC"}}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.Info.RunID)
	}
	if diff := cmp.Diff([]string{"r1", "r2"}, ids); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
}

func TestSearchSeqYieldsError(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("/api/2.0/mlflow/runs/search", func(w http.ResponseWriter, r *http.Request) {
		mlflowError(w, 404, "RESOURCE_DOES_NOT_EXIST", "no experiment")
	})
	n := 0
	for _, err := range c.SearchRunsSeq(context.Background(), SearchRunsOptions{ExperimentIDs: []string{"1"}}) {
		n++
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("err = %v", err)
		}
	}
	if n != 1 {
		t.Errorf("%d yields, want 1", n)
	}
}
