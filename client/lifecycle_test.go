package client

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// lifecycleSetup returns a client on a mini store with a fixed environment.
func lifecycleSetup(t *testing.T, env map[string]string) (*Client, *miniStore) {
	t.Helper()
	c, mux := setup(t)
	store := newMiniStore()
	store.register(t, mux)
	c.getenv = envMap(env)
	c.sagemakerConfigPath = filepath.Join(t.TempDir(), "missing.json")
	return c, store
}

func TestStartRunSystemTags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	smConfig := filepath.Join(dir, "processingjobconfig.json")
	if err := os.WriteFile(smConfig, []byte(`{"ProcessingJobArn":"arn:aws:sagemaker:eu-west-1:123456789012:processing-job/eval-de","ProcessingJobName":"eval-de","Environment":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		env      map[string]string
		smConfig string
		want     map[string]string
	}{
		{"local", map[string]string{"USER": "alice"}, "", map[string]string{
			TagUser: "alice", TagSourceName: os.Args[0], TagSourceType: "LOCAL", TagRunName: "daily"}},
		{"logname first", map[string]string{"LOGNAME": "bob", "USER": "alice"}, "", map[string]string{
			TagUser: "bob", TagSourceName: os.Args[0], TagSourceType: "LOCAL", TagRunName: "daily"}},
		{"gitlab", map[string]string{"USER": "ci", "CI": "true", "GITLAB_CI": "true", "CI_JOB_NAME": "evaluate", "CI_PROJECT_PATH": "ml/churn",
			"CI_COMMIT_SHA": "abc123", "CI_PIPELINE_URL": "https://gitlab.example.com/ml/churn/-/pipelines/7", "CI_JOB_URL": "https://gitlab.example.com/ml/churn/-/jobs/9",
			"CI_PROJECT_URL": "https://gitlab.example.com/ml/churn"}, "", map[string]string{
			TagUser: "ci", TagSourceName: "ml/churn:evaluate", TagSourceType: "JOB", TagGitCommit: "abc123", TagRunName: "daily",
			TagCIPipelineURL: "https://gitlab.example.com/ml/churn/-/pipelines/7", TagCIJobURL: "https://gitlab.example.com/ml/churn/-/jobs/9",
			TagGitRepoURL: "https://gitlab.example.com/ml/churn"}},
		{"github", map[string]string{"USER": "runner", "GITHUB_ACTIONS": "true", "GITHUB_SHA": "def456", "GITHUB_REPOSITORY": "acme/ml", "GITHUB_WORKFLOW": "nightly",
			"GITHUB_JOB": "eval", "GITHUB_SERVER_URL": "https://github.com"}, "", map[string]string{
			TagUser: "runner", TagSourceName: "acme/ml:nightly/eval", TagSourceType: "JOB", TagGitCommit: "def456", TagRunName: "daily",
			TagGitRepoURL: "https://github.com/acme/ml"}},
		{"jenkins commit", map[string]string{"USER": "j", "GIT_COMMIT": "0badc0de"}, "", map[string]string{
			TagUser: "j", TagSourceName: os.Args[0], TagSourceType: "LOCAL", TagGitCommit: "0badc0de", TagRunName: "daily"}},
		{"sagemaker processing", map[string]string{"USER": "root"}, smConfig, map[string]string{
			TagUser: "root", TagSourceName: "eval-de", TagSourceType: "JOB", TagRunName: "daily", TagSageMakerJobName: "eval-de",
			TagSageMakerJobARN: "arn:aws:sagemaker:eu-west-1:123456789012:processing-job/eval-de"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, store := lifecycleSetup(t, tt.env)
			if tt.smConfig != "" {
				c.sagemakerConfigPath = tt.smConfig
			}
			run, err := c.StartRun(context.Background(), RunOptions{ExperimentID: "0", RunName: "daily", Tags: []Tag{{"team", "de"}}})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			r := store.runs[run.ID()]
			for _, tg := range r.Data.Tags {
				got[tg.Key] = tg.Value
			}
			if got[RequestIDTag] == "" || got["team"] != "de" {
				t.Errorf("missing request or user tag: %v", got)
			}
			delete(got, RequestIDTag)
			delete(got, "team")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("system tags (-want +got):\n%s", diff)
			}
			if r.Info.UserID != tt.want[TagUser] {
				t.Errorf("user_id %q", r.Info.UserID)
			}
			if run.URL() != c.RunURL("0", run.ID()) || run.Client() != c {
				t.Errorf("URL %q", run.URL())
			}
		})
	}
}

func TestStartRunExperimentResolution(t *testing.T) {
	t.Parallel()
	c, store := lifecycleSetup(t, map[string]string{"USER": "u"})
	ctx := context.Background()
	run, err := c.StartRun(ctx, RunOptions{ExperimentName: "churn-de"})
	if err != nil {
		t.Fatal(err)
	}
	if store.experiments[run.Info().ExperimentID].Name != "churn-de" {
		t.Errorf("run in experiment %s", run.Info().ExperimentID)
	}
	c.defaults = EnvDefaults{ExperimentName: "from-env"}
	run, err = c.StartRun(ctx, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if store.experiments[run.Info().ExperimentID].Name != "from-env" {
		t.Errorf("env experiment not used")
	}
	c.defaults = EnvDefaults{}
	run, err = c.StartRun(ctx, RunOptions{})
	if err != nil || run.Info().ExperimentID != "0" {
		t.Errorf("default experiment: %v %v", run, err)
	}
	if _, err := c.StartRun(ctx, RunOptions{Tags: []Tag{{Key: "bad!"}}}); !errors.Is(err, ErrInvalidParameter) {
		t.Errorf("bad tag: %v", err)
	}
}

func TestStartRunResume(t *testing.T) {
	t.Parallel()
	c, store := lifecycleSetup(t, map[string]string{"USER": "u"})
	old := store.createRun("0", "old", "u", 1, nil)
	store.runs[old.Info.RunID].Info.Status = RunFailed
	store.runs[old.Info.RunID].Info.EndTime = 5
	c.defaults = EnvDefaults{RunID: old.Info.RunID}
	run, err := c.StartRun(context.Background(), RunOptions{Tags: []Tag{{"resumed", "yes"}}})
	if err != nil {
		t.Fatal(err)
	}
	if run.ID() != old.Info.RunID || run.Info().Status != RunRunning {
		t.Errorf("resumed %+v", run.Info())
	}
	if v, _ := store.runs[old.Info.RunID].Tag("resumed"); v != "yes" {
		t.Error("tags not logged on resume")
	}
	if store.runCount() != 1 {
		t.Error("a new run was created")
	}
	store.runs[old.Info.RunID].Info.LifecycleStage = "deleted"
	if _, err := c.StartRun(context.Background(), RunOptions{RunID: old.Info.RunID}); err == nil {
		t.Error("resumed a deleted run")
	}
}

type flushRecorder struct {
	flushed atomic.Bool
	err     error
	store   *miniStore
	runID   string
	sawEnd  atomic.Bool
}

func (f *flushRecorder) Flush(ctx context.Context) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	f.store.mu.Lock()
	if f.store.runs[f.runID].Info.Status != RunRunning {
		f.sawEnd.Store(true)
	}
	f.store.mu.Unlock()
	f.flushed.Store(true)
	return f.err
}

func TestEndStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		fn         func(ctx context.Context, run *ActiveRun) error
		cancel     bool
		flushErr   error
		wantStatus RunStatus
		wantPanic  bool
		wantErr    bool
	}{
		{"finished", func(context.Context, *ActiveRun) error { return nil }, false, nil, RunFinished, false, false},
		{"failed by error", func(context.Context, *ActiveRun) error { return errors.New("boom") }, false, nil, RunFailed, false, true},
		{"failed by panic", func(context.Context, *ActiveRun) error { panic("kaboom") }, false, nil, RunFailed, true, false},
		{"killed by cancel", func(context.Context, *ActiveRun) error { return nil }, true, nil, RunKilled, false, false},
		{"canceled error", func(context.Context, *ActiveRun) error { return context.Canceled }, false, nil, RunKilled, false, true},
		{"flush failure", func(context.Context, *ActiveRun) error { return nil }, false, errors.New("spool full"), RunFailed, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, store := lifecycleSetup(t, map[string]string{"USER": "u"})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			fl := &flushRecorder{store: store, err: tt.flushErr}
			run, err := c.StartRun(ctx, RunOptions{Flusher: fl})
			if err != nil {
				t.Fatal(err)
			}
			fl.runID = run.ID()
			var gotErr error
			panicked := func() (p any) {
				defer func() { p = recover() }()
				func() (err error) {
					defer func() { gotErr = err }()
					defer run.End(ctx, &err)
					if tt.cancel {
						cancel()
					}
					return tt.fn(ctx, run)
				}()
				return nil
			}()
			if (panicked != nil) != tt.wantPanic {
				t.Errorf("panic = %v, want %v", panicked, tt.wantPanic)
			}
			if (gotErr != nil) != tt.wantErr {
				t.Errorf("err = %v", gotErr)
			}
			r := store.runs[run.ID()]
			if r.Info.Status != tt.wantStatus || r.Info.EndTime == 0 {
				t.Errorf("status %s end %d, want %s", r.Info.Status, r.Info.EndTime, tt.wantStatus)
			}
			if run.Info().Status != tt.wantStatus {
				t.Errorf("ActiveRun.Info().Status = %s", run.Info().Status)
			}
			if !fl.flushed.Load() || fl.sawEnd.Load() {
				t.Errorf("flushed %v, after end %v", fl.flushed.Load(), fl.sawEnd.Load())
			}
			// A second End does nothing.
			before := store.callCount("/api/2.0/mlflow/runs/update")
			run.End(context.Background(), nil)
			if store.callCount("/api/2.0/mlflow/runs/update") != before {
				t.Error("second End sent an update")
			}
		})
	}
}

func TestEndUpdateFailureReported(t *testing.T) {
	t.Parallel()
	c, store := lifecycleSetup(t, map[string]string{"USER": "u"})
	run, err := c.StartRun(context.Background(), RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	store.mu.Lock()
	delete(store.runs, run.ID())
	store.mu.Unlock()
	var endErr error
	run.End(context.Background(), &endErr)
	if !errors.Is(endErr, ErrNotFound) {
		t.Errorf("End error = %v", endErr)
	}
}

func TestActiveRunLogging(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	store := newMiniStore()
	sm := http.NewServeMux()
	store.register(t, sm)
	mux.Handle("/", sm)
	c.getenv = envMap(map[string]string{"USER": "u"})
	var metricBody, paramBody map[string]any
	mux.HandleFunc("/api/2.0/mlflow/runs/log-metric", func(w http.ResponseWriter, r *http.Request) {
		metricBody = readBody(t, r)
		writeJSON(w, 200, map[string]any{})
	})
	mux.HandleFunc("/api/2.0/mlflow/runs/log-parameter", func(w http.ResponseWriter, r *http.Request) {
		paramBody = readBody(t, r)
		writeJSON(w, 200, map[string]any{})
	})
	c.now = func() time.Time { return time.UnixMilli(42) }
	run, err := c.StartRun(context.Background(), RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := run.LogMetric(ctx, "auc", 0.9, 3); err != nil {
		t.Fatal(err)
	}
	if err := run.LogParam(ctx, "lr", "0.1"); err != nil {
		t.Fatal(err)
	}
	if err := run.SetTag(ctx, "stage", "eval"); err != nil {
		t.Fatal(err)
	}
	if metricBody["timestamp"] != float64(42) || metricBody["step"] != float64(3) || metricBody["value"] != 0.9 {
		t.Errorf("metric body %v", metricBody)
	}
	if paramBody["key"] != "lr" {
		t.Errorf("param body %v", paramBody)
	}
}
