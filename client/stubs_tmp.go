package client

import (
	"context"
	"iter"
)

const sagemakerProcessingConfigPath = "/opt/ml/config/processingjobconfig.json"

// NewFromEnv returns a Client configured from MLFLOW_* environment variables.
func NewFromEnv(opts ...Option) (*Client, error) { return nil, errNotImplemented }

// ExperimentOptions are optional fields of CreateExperiment.
type ExperimentOptions struct {
	ArtifactLocation string
	Tags             []Tag
}

// CreateExperiment creates an experiment and returns its ID.
func (c *Client) CreateExperiment(ctx context.Context, name string, opt *ExperimentOptions) (string, error) {
	return "", errNotImplemented
}

// GetExperiment returns the experiment with ID id.
func (c *Client) GetExperiment(ctx context.Context, id string) (*Experiment, error) {
	return nil, errNotImplemented
}

// GetExperimentByName returns the experiment named name.
func (c *Client) GetExperimentByName(ctx context.Context, name string) (*Experiment, error) {
	return nil, errNotImplemented
}

// GetOrCreateExperiment returns the experiment named name, creating it if needed.
func (c *Client) GetOrCreateExperiment(ctx context.Context, name string, opt *ExperimentOptions) (*Experiment, error) {
	return nil, errNotImplemented
}

// DeleteExperiment deletes an experiment.
func (c *Client) DeleteExperiment(ctx context.Context, id string) error { return errNotImplemented }

// RestoreExperiment restores a deleted experiment.
func (c *Client) RestoreExperiment(ctx context.Context, id string) error { return errNotImplemented }

// SetExperimentTag sets an experiment tag.
func (c *Client) SetExperimentTag(ctx context.Context, experimentID, key, value string) error {
	return errNotImplemented
}

// SearchExperimentsOptions are the fields of an experiment search.
type SearchExperimentsOptions struct {
	Filter     string
	OrderBy    []string
	ViewType   ViewType
	MaxResults int
	PageToken  string
}

// ExperimentsPage is one page of experiments.
type ExperimentsPage struct {
	Experiments   []Experiment
	NextPageToken string
}

// SearchExperiments returns one page of experiments.
func (c *Client) SearchExperiments(ctx context.Context, opt SearchExperimentsOptions) (*ExperimentsPage, error) {
	return nil, errNotImplemented
}

// SearchExperimentsSeq iterates over all pages.
func (c *Client) SearchExperimentsSeq(ctx context.Context, opt SearchExperimentsOptions) iter.Seq2[Experiment, error] {
	return func(yield func(Experiment, error) bool) { yield(Experiment{}, errNotImplemented) }
}

// CreateRunOptions are the fields of CreateRun.
type CreateRunOptions struct {
	ExperimentID string
	RunName      string
	UserID       string
	StartTime    int64
	Tags         []Tag
}

// CreateRun creates a run.
func (c *Client) CreateRun(ctx context.Context, opt CreateRunOptions) (*Run, error) {
	return nil, errNotImplemented
}

// GetRun returns a run.
func (c *Client) GetRun(ctx context.Context, runID string) (*Run, error) { return nil, errNotImplemented }

// UpdateRunOptions are the fields of UpdateRun.
type UpdateRunOptions struct {
	Status  RunStatus
	EndTime int64
	RunName string
}

// UpdateRun updates a run.
func (c *Client) UpdateRun(ctx context.Context, runID string, opt UpdateRunOptions) (*RunInfo, error) {
	return nil, errNotImplemented
}

// DeleteRun deletes a run.
func (c *Client) DeleteRun(ctx context.Context, runID string) error { return errNotImplemented }

// RestoreRun restores a run.
func (c *Client) RestoreRun(ctx context.Context, runID string) error { return errNotImplemented }

// SetTag sets a run tag.
func (c *Client) SetTag(ctx context.Context, runID, key, value string) error { return errNotImplemented }

// DeleteTag deletes a run tag.
func (c *Client) DeleteTag(ctx context.Context, runID, key string) error { return errNotImplemented }

// SearchRunsOptions are the fields of a run search.
type SearchRunsOptions struct {
	ExperimentIDs []string
	Filter        string
	OrderBy       []string
	ViewType      ViewType
	MaxResults    int
	PageToken     string
}

// RunsPage is one page of runs.
type RunsPage struct {
	Runs          []Run
	NextPageToken string
}

// SearchRuns returns one page of runs.
func (c *Client) SearchRuns(ctx context.Context, opt SearchRunsOptions) (*RunsPage, error) {
	return nil, errNotImplemented
}

// SearchRunsSeq iterates over all pages.
func (c *Client) SearchRunsSeq(ctx context.Context, opt SearchRunsOptions) iter.Seq2[Run, error] {
	return func(yield func(Run, error) bool) { yield(Run{}, errNotImplemented) }
}

// LogMetric logs one metric point.
func (c *Client) LogMetric(ctx context.Context, runID string, m Metric) error { return errNotImplemented }

// LogParam logs one param.
func (c *Client) LogParam(ctx context.Context, runID, key, value string) error { return errNotImplemented }

// Batch is the content of a log-batch call.
type Batch struct {
	Metrics []Metric
	Params  []Param
	Tags    []Tag
}

// LogBatch logs a batch.
func (c *Client) LogBatch(ctx context.Context, runID string, b Batch) error { return errNotImplemented }

// LogInputs logs dataset inputs.
func (c *Client) LogInputs(ctx context.Context, runID string, inputs []DatasetInput) error {
	return errNotImplemented
}

// MetricHistoryPage is one page of a metric history.
type MetricHistoryPage struct {
	Metrics       []Metric
	NextPageToken string
}

// GetMetricHistory returns one page of history.
func (c *Client) GetMetricHistory(ctx context.Context, runID, key string, maxResults int, pageToken string) (*MetricHistoryPage, error) {
	return nil, errNotImplemented
}

// GetMetricHistorySeq iterates over the history.
func (c *Client) GetMetricHistorySeq(ctx context.Context, runID, key string) iter.Seq2[Metric, error] {
	return func(yield func(Metric, error) bool) { yield(Metric{}, errNotImplemented) }
}

// BulkIntervalOptions are the fields of GetMetricHistoryBulkInterval.
type BulkIntervalOptions struct {
	RunIDs     []string
	MetricKey  string
	StartStep  *int64
	EndStep    *int64
	MaxResults int
}

// GetMetricHistoryBulkInterval returns sampled histories of several runs.
func (c *Client) GetMetricHistoryBulkInterval(ctx context.Context, opt BulkIntervalOptions) ([]Metric, error) {
	return nil, errNotImplemented
}

// CreateRegisteredModel creates a registered model.
func (c *Client) CreateRegisteredModel(ctx context.Context, name string) error { return errNotImplemented }

// CreateModelVersion creates a model version.
func (c *Client) CreateModelVersion(ctx context.Context, name, source, runID string) (*ModelVersion, error) {
	return nil, errNotImplemented
}

// SetModelVersionAlias sets an alias.
func (c *Client) SetModelVersionAlias(ctx context.Context, name, alias, version string) error {
	return errNotImplemented
}

// GetModelVersionByAlias resolves an alias.
func (c *Client) GetModelVersionByAlias(ctx context.Context, name, alias string) (*ModelVersion, error) {
	return nil, errNotImplemented
}

// GetLatestVersions returns the latest versions per stage.
func (c *Client) GetLatestVersions(ctx context.Context, name string, stages ...string) ([]ModelVersion, error) {
	return nil, errNotImplemented
}

// RunOptions are the fields of StartRun.
type RunOptions struct {
	ExperimentID   string
	ExperimentName string
	RunName        string
	RunID          string
	Tags           []Tag
	Flusher        Flusher
}

// Flusher is flushed before a run is ended.
type Flusher interface {
	Flush(ctx context.Context) error
}

// ActiveRun is a started run.
type ActiveRun struct {
	c    *Client
	info RunInfo
}

// StartRun starts or resumes a run.
func (c *Client) StartRun(ctx context.Context, opt RunOptions) (*ActiveRun, error) {
	return nil, errNotImplemented
}

// ID returns the run ID.
func (r *ActiveRun) ID() string { return r.info.RunID }

// Info returns the run info.
func (r *ActiveRun) Info() RunInfo { return r.info }

// Client returns the client.
func (r *ActiveRun) Client() *Client { return r.c }

// URL returns the UI link.
func (r *ActiveRun) URL() string { return r.c.RunURL(r.info.ExperimentID, r.info.RunID) }

// LogMetric logs a metric.
func (r *ActiveRun) LogMetric(ctx context.Context, key string, value float64, step int64) error {
	return errNotImplemented
}

// LogParam logs a param.
func (r *ActiveRun) LogParam(ctx context.Context, key, value string) error { return errNotImplemented }

// SetTag sets a tag.
func (r *ActiveRun) SetTag(ctx context.Context, key, value string) error { return errNotImplemented }

// End ends the run.
func (r *ActiveRun) End(ctx context.Context, errp *error) {}

// ValidateBatch validates a batch.
func ValidateBatch(b Batch) error { return errNotImplemented }

// ValidateMetric validates a metric.
func ValidateMetric(m Metric) error { return errNotImplemented }

// ValidateParam validates a param.
func ValidateParam(p Param) error { return errNotImplemented }

// ValidateTag validates a tag.
func ValidateTag(t Tag) error { return errNotImplemented }
