package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"sync"
	"time"
)

// System tags set by StartRun (MLflow's names from mlflow/utils/mlflow_tags.py,
// mlwatch's own under "mlwatch.").
const (
	TagRunName           = "mlflow.runName"
	TagUser              = "mlflow.user"
	TagSourceName        = "mlflow.source.name"
	TagSourceType        = "mlflow.source.type"
	TagGitCommit         = "mlflow.source.git.commit"
	TagGitRepoURL        = "mlflow.source.git.repoURL"
	TagCIPipelineURL     = "mlwatch.ci.pipelineUrl"
	TagCIJobURL          = "mlwatch.ci.jobUrl"
	TagSageMakerJobName  = "mlwatch.sagemaker.processingJobName"
	TagSageMakerJobARN   = "mlwatch.sagemaker.processingJobArn"
	TagSageMakerTraining = "mlwatch.sagemaker.trainingJobName"
)

// sagemakerProcessingConfigPath is where SageMaker Processing containers
// find their job configuration (with ProcessingJobName and ProcessingJobArn).
const sagemakerProcessingConfigPath = "/opt/ml/config/processingjobconfig.json"

// finalUpdateTimeout bounds flushing and the final runs/update in End.
const finalUpdateTimeout = 30 * time.Second

// RunOptions are the fields of StartRun. RunID (or the client's
// MLFLOW_RUN_ID default) resumes an existing run; otherwise a new run is
// created in ExperimentID, else in the experiment named ExperimentName
// (created if needed), else in the client's MLFLOW_EXPERIMENT_ID /
// MLFLOW_EXPERIMENT_NAME defaults, else in the Default experiment "0".
// Tags override system tags of the same key. Flusher (e.g. a batcher) is
// flushed by End before the run is marked ended.
type RunOptions struct {
	ExperimentID   string
	ExperimentName string
	RunName        string
	RunID          string
	Tags           []Tag
	Flusher        Flusher
}

// Flusher is something holding data for a run that must be sent before the
// run ends, such as a batcher. Flush returns when everything accepted before
// the call has been sent, or with the error that prevented it.
type Flusher interface {
	Flush(ctx context.Context) error
}

// ActiveRun is a run started or resumed by StartRun. Its methods are safe
// for concurrent use; End ends the run once (later calls do nothing).
type ActiveRun struct {
	c       *Client
	flusher Flusher
	mu      sync.Mutex
	info    RunInfo
	ended   bool
}

// StartRun creates a run with system tags, or resumes one (opt.RunID, else
// the client's MLFLOW_RUN_ID default) by setting it back to RUNNING and
// adding opt.Tags. System tags on a new run:
//
//	mlflow.runName            opt.RunName, when set
//	mlflow.user               $LOGNAME, $USER, $LNAME, $USERNAME, else the OS account (like Python's getpass)
//	mlflow.source.name        GitLab "<CI_PROJECT_PATH>:<CI_JOB_NAME>", GitHub "<GITHUB_REPOSITORY>:<GITHUB_WORKFLOW>/<GITHUB_JOB>",
//	                          the SageMaker processing job name, else os.Args[0]
//	mlflow.source.type        JOB in CI ($CI, $GITLAB_CI, $GITHUB_ACTIONS) or SageMaker, else LOCAL
//	mlflow.source.git.commit  $CI_COMMIT_SHA, $GITHUB_SHA or $GIT_COMMIT (first set)
//	mlflow.source.git.repoURL $CI_PROJECT_URL, or $GITHUB_SERVER_URL/$GITHUB_REPOSITORY
//	mlwatch.ci.pipelineUrl    $CI_PIPELINE_URL (GitLab)
//	mlwatch.ci.jobUrl         $CI_JOB_URL (GitLab)
//	mlwatch.sagemaker.processingJobName / processingJobArn
//	                          from /opt/ml/config/processingjobconfig.json when present
//	mlwatch.sagemaker.trainingJobName  $TRAINING_JOB_NAME (SageMaker training)
//
// These are the only environment reads outside NewFromEnv. opt is not modified.
func (c *Client) StartRun(ctx context.Context, opt RunOptions) (*ActiveRun, error) {
	for i := range opt.Tags {
		if e := validateTagAt(&opt.Tags[i]); e != nil {
			e.Field = fmt.Sprintf("tags[%d].%s", i, e.Field)
			return nil, e
		}
	}
	runID := opt.RunID
	if runID == "" {
		runID = c.defaults.RunID
	}
	if runID != "" {
		return c.resumeRun(ctx, runID, opt)
	}
	expID, err := c.resolveExperiment(ctx, opt)
	if err != nil {
		return nil, err
	}
	sys := c.systemTags()
	if opt.RunName != "" {
		sys = append(sys, Tag{Key: TagRunName, Value: opt.RunName})
	}
	tags := mergeTags(sys, opt.Tags)
	userID, _ := findTag(tags, TagUser)
	run, err := c.CreateRun(ctx, CreateRunOptions{ExperimentID: expID, RunName: opt.RunName, UserID: userID, Tags: tags})
	if err != nil {
		return nil, err
	}
	return &ActiveRun{c: c, flusher: opt.Flusher, info: run.Info}, nil
}

func (c *Client) resolveExperiment(ctx context.Context, opt RunOptions) (string, error) {
	switch {
	case opt.ExperimentID != "":
		return opt.ExperimentID, nil
	case opt.ExperimentName != "":
		exp, err := c.GetOrCreateExperiment(ctx, opt.ExperimentName, nil)
		if err != nil {
			return "", err
		}
		return exp.ID, nil
	case c.defaults.ExperimentID != "":
		return c.defaults.ExperimentID, nil
	case c.defaults.ExperimentName != "":
		exp, err := c.GetOrCreateExperiment(ctx, c.defaults.ExperimentName, nil)
		if err != nil {
			return "", err
		}
		return exp.ID, nil
	}
	return defaultExperimentID, nil
}

// resumeRun sets an existing run back to RUNNING (keeping its end time, as
// MLflow's fluent start_run does) and logs opt.Tags.
func (c *Client) resumeRun(ctx context.Context, runID string, opt RunOptions) (*ActiveRun, error) {
	run, err := c.GetRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	if run.Info.LifecycleStage == "deleted" {
		return nil, fmt.Errorf("client: cannot resume run %s: it is deleted", runID)
	}
	info := run.Info
	if info.Status != RunRunning {
		ri, err := c.UpdateRun(ctx, runID, UpdateRunOptions{Status: RunRunning, EndTime: run.Info.EndTime})
		if err != nil {
			return nil, err
		}
		info = *ri
	}
	if len(opt.Tags) > 0 {
		if err := c.LogBatch(ctx, runID, Batch{Tags: opt.Tags}); err != nil {
			return nil, err
		}
	}
	return &ActiveRun{c: c, flusher: opt.Flusher, info: info}, nil
}

// mergeTags returns sys with user tags appended, user values winning.
func mergeTags(sys, user []Tag) []Tag {
	out := make([]Tag, 0, len(sys)+len(user))
	for _, t := range sys {
		if _, ok := findTag(user, t.Key); !ok {
			out = append(out, t)
		}
	}
	return append(out, user...)
}

// systemTags derives the system tags from the environment.
func (c *Client) systemTags() []Tag {
	env := c.getenv
	var tags []Tag
	add := func(k, v string) {
		if v != "" {
			tags = append(tags, Tag{Key: k, Value: truncateRunes(v, MaxTagValueLength)})
		}
	}
	add(TagUser, currentUser(env))
	smName, smARN := readProcessingJobConfig(c.sagemakerConfigPath)
	training := env("TRAINING_JOB_NAME")
	ci := env("CI") != "" || env("GITLAB_CI") != "" || env("GITHUB_ACTIONS") != ""
	source := ""
	switch {
	case env("GITLAB_CI") != "" && env("CI_JOB_NAME") != "":
		source = joinNonEmpty(":", env("CI_PROJECT_PATH"), env("CI_JOB_NAME"))
	case env("GITHUB_ACTIONS") != "":
		source = joinNonEmpty(":", env("GITHUB_REPOSITORY"), joinNonEmpty("/", env("GITHUB_WORKFLOW"), env("GITHUB_JOB")))
	case smName != "":
		source = smName
	case training != "":
		source = training
	}
	if source == "" && len(os.Args) > 0 {
		source = os.Args[0]
	}
	add(TagSourceName, source)
	if ci || smName != "" || training != "" {
		add(TagSourceType, "JOB")
	} else {
		add(TagSourceType, "LOCAL")
	}
	add(TagGitCommit, firstNonEmpty(env("CI_COMMIT_SHA"), env("GITHUB_SHA"), env("GIT_COMMIT")))
	repo := env("CI_PROJECT_URL")
	if repo == "" && env("GITHUB_SERVER_URL") != "" && env("GITHUB_REPOSITORY") != "" {
		repo = env("GITHUB_SERVER_URL") + "/" + env("GITHUB_REPOSITORY")
	}
	add(TagGitRepoURL, repo)
	add(TagCIPipelineURL, env("CI_PIPELINE_URL"))
	add(TagCIJobURL, env("CI_JOB_URL"))
	add(TagSageMakerJobName, smName)
	add(TagSageMakerJobARN, smARN)
	add(TagSageMakerTraining, training)
	return tags
}

// currentUser follows Python's getpass.getuser: LOGNAME, USER, LNAME,
// USERNAME, then the OS account.
func currentUser(env func(string) string) string {
	for _, k := range []string{"LOGNAME", "USER", "LNAME", "USERNAME"} {
		if v := env(k); v != "" {
			return v
		}
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

// readProcessingJobConfig reads ProcessingJobName/Arn from SageMaker's job
// config file; a missing or malformed file gives "".
func readProcessingJobConfig(path string) (name, arn string) {
	if path == "" {
		return "", ""
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", ""
	}
	var cfg struct {
		ProcessingJobName string
		ProcessingJobArn  string
	}
	if json.Unmarshal(data, &cfg) != nil {
		return "", ""
	}
	return cfg.ProcessingJobName, cfg.ProcessingJobArn
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func joinNonEmpty(sep string, vs ...string) string {
	out := ""
	for _, v := range vs {
		if v == "" {
			continue
		}
		if out != "" {
			out += sep
		}
		out += v
	}
	return out
}

// ID returns the run ID.
func (r *ActiveRun) ID() string { return r.Info().RunID }

// Info returns a copy of the run's info as last known (updated by End).
func (r *ActiveRun) Info() RunInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.info
}

// Client returns the client the run was started with.
func (r *ActiveRun) Client() *Client { return r.c }

// URL returns the run's MLflow UI link.
func (r *ActiveRun) URL() string {
	info := r.Info()
	return r.c.RunURL(info.ExperimentID, info.RunID)
}

// LogMetric logs one point of metric key at step, timestamped now.
func (r *ActiveRun) LogMetric(ctx context.Context, key string, value float64, step int64) error {
	return r.c.LogMetric(ctx, r.ID(), Metric{Key: key, Value: value, Step: step})
}

// LogParam logs a param of the run.
func (r *ActiveRun) LogParam(ctx context.Context, key, value string) error {
	return r.c.LogParam(ctx, r.ID(), key, value)
}

// SetTag sets a tag of the run.
func (r *ActiveRun) SetTag(ctx context.Context, key, value string) error {
	return r.c.SetTag(ctx, r.ID(), key, value)
}

// End ends the run; use it as `defer run.End(ctx, &err)` where err is the
// surrounding function's named error result. The final status is:
//
//   - FAILED when the function panics (End recovers, ends the run, then
//     panics again with the same value) or *errp is non-nil;
//   - KILLED when ctx is cancelled or past its deadline;
//   - FINISHED otherwise.
//
// The Flusher, if any, is flushed first; the flush and the final runs/update
// use a fresh context (values of ctx kept) bounded by 30 s, so they happen
// even when ctx is already cancelled. A flush or update failure is stored in
// *errp when it is nil (a failed flush also makes the status FAILED). errp
// may be nil. End runs once; later calls do nothing.
func (r *ActiveRun) End(ctx context.Context, errp *error) {
	p := recover()
	r.end(ctx, errp, p != nil)
	if p != nil {
		panic(p)
	}
}

func (r *ActiveRun) end(ctx context.Context, errp *error, panicked bool) {
	r.mu.Lock()
	if r.ended {
		r.mu.Unlock()
		return
	}
	r.ended = true
	r.mu.Unlock()

	status := RunFinished
	switch {
	case panicked:
		status = RunFailed
	case ctx.Err() != nil:
		status = RunKilled
	case errp != nil && *errp != nil:
		status = RunFailed
		if errors.Is(*errp, context.Canceled) {
			status = RunKilled
		}
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalUpdateTimeout)
	defer cancel()
	var ferr error
	if r.flusher != nil {
		if err := r.flusher.Flush(fctx); err != nil {
			ferr = fmt.Errorf("client: flushing run %s before ending it: %w", r.ID(), err)
			if status == RunFinished {
				status = RunFailed
			}
		}
	}
	info, err := r.c.UpdateRun(fctx, r.ID(), UpdateRunOptions{Status: status, EndTime: Millis(r.c.now())})
	if err == nil {
		r.mu.Lock()
		r.info = *info
		r.mu.Unlock()
	}
	if errp != nil && *errp == nil {
		*errp = errors.Join(ferr, err)
	}
}
