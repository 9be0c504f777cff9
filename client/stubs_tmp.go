package client

import "context"

const sagemakerProcessingConfigPath = "/opt/ml/config/processingjobconfig.json"

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
