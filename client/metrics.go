package client

import (
	"context"
	"iter"
	"net/url"
	"strconv"
)

// API paths for logging and metric history.
const (
	pathRunsLogMetric        = "/api/2.0/mlflow/runs/log-metric"
	pathRunsLogParameter     = "/api/2.0/mlflow/runs/log-parameter"
	pathRunsLogBatch         = "/api/2.0/mlflow/runs/log-batch"
	pathRunsLogInputs        = "/api/2.0/mlflow/runs/log-inputs"
	pathMetricsGetHistory    = "/api/2.0/mlflow/metrics/get-history"
	pathMetricsBulkInterval  = "/api/2.0/mlflow/metrics/get-history-bulk-interval"
	metricHistoryPageSize    = 25000 // GET_METRIC_HISTORY_MAX_RESULTS of the Python client
	maxRunsBulkInterval      = 100   // MAX_RUNS_GET_METRIC_HISTORY_BULK
	maxResultsPerRunInterval = 2500  // MAX_RESULTS_PER_RUN
)

// LogMetric logs one metric point. A zero Timestamp is replaced by the
// current time before the first attempt, so a retried request is identical
// and MLflow's SQL store does not duplicate the point. m is not modified.
func (c *Client) LogMetric(ctx context.Context, runID string, m Metric) error {
	if err := validateRunID(runID); err != nil {
		return err
	}
	if m.Timestamp == 0 {
		m.Timestamp = Millis(c.now())
	}
	if err := ValidateMetric(m); err != nil {
		return err
	}
	m.RunID = ""
	b := make([]byte, 0, 96+len(m.Key)+len(runID))
	b = append(b, `{"run_id":`...)
	b = appendString(b, runID)
	b = append(b, `,"run_uuid":`...)
	b = appendString(b, runID)
	b = append(b, ',')
	b = append(b, appendMetric(nil, &m)[1:]...)
	return c.doJSON(ctx, "POST", pathRunsLogMetric, b, nil, true)
}

// LogParam logs one param. Logging the same value again is a no-op;
// a different value gives an error matching ErrInvalidParameter.
func (c *Client) LogParam(ctx context.Context, runID, key, value string) error {
	if err := validateRunID(runID); err != nil {
		return err
	}
	if err := ValidateParam(Param{Key: key, Value: value}); err != nil {
		return err
	}
	in := map[string]string{"run_id": runID, "run_uuid": runID, "key": key, "value": value}
	return c.doJSON(ctx, "POST", pathRunsLogParameter, in, nil, true)
}

// Batch is the content of a LogBatch call.
type Batch struct {
	Metrics []Metric
	Params  []Param
	Tags    []Tag
}

// Len returns the number of entities in b.
func (b Batch) Len() int { return len(b.Metrics) + len(b.Params) + len(b.Tags) }

// LogBatch logs metrics, params and tags to a run. It validates the whole
// batch first (ValidateBatch; nothing is sent when any element is invalid),
// then splits it like MLflow's Python client into requests of at most 1000
// metrics, 100 params, 100 tags and 1000 entities, each body kept under
// 1 MB. Metrics with Timestamp 0 get the current time, fixed once before the
// first request, so retries re-send identical points (MLflow's SQL store
// drops exact duplicates). Requests are sent in order; the first failure
// stops the call, and earlier chunks stay logged. b is not modified. Safe for
// concurrent use.
func (c *Client) LogBatch(ctx context.Context, runID string, b Batch) error {
	if err := validateRunID(runID); err != nil {
		return err
	}
	if err := ValidateBatch(b); err != nil {
		return err
	}
	if b.Len() == 0 {
		return nil
	}
	metrics := b.Metrics
	needCopy := false
	for i := range metrics {
		if metrics[i].Timestamp == 0 || metrics[i].RunID != "" {
			needCopy = true
			break
		}
	}
	if needCopy {
		now := Millis(c.now())
		metrics = make([]Metric, len(b.Metrics))
		copy(metrics, b.Metrics)
		for i := range metrics {
			if metrics[i].Timestamp == 0 {
				metrics[i].Timestamp = now
			}
			metrics[i].RunID = ""
		}
	}
	return forEachChunk(metrics, b.Params, b.Tags, func(ms []Metric, ps []Param, ts []Tag) error {
		return c.sendBatch(ctx, runID, ms, ps, ts)
	})
}

// forEachChunk splits a batch as mlflow.tracking.MlflowClient.log_batch
// does: params and tags in groups of 100, each group topped up with metrics
// to 1000 entities, then the remaining metrics in groups of 1000.
func forEachChunk(metrics []Metric, params []Param, tags []Tag, send func([]Metric, []Param, []Tag) error) error {
	for len(params) > 0 || len(tags) > 0 {
		ps := params[:min(len(params), MaxParamsTagsPerBatch)]
		ts := tags[:min(len(tags), MaxParamsTagsPerBatch)]
		params, tags = params[len(ps):], tags[len(ts):]
		n := min(MaxEntitiesPerBatch-len(ps)-len(ts), MaxMetricsPerBatch, len(metrics))
		ms := metrics[:n]
		metrics = metrics[n:]
		if err := send(ms, ps, ts); err != nil {
			return err
		}
	}
	for len(metrics) > 0 {
		n := min(len(metrics), MaxMetricsPerBatch)
		if err := send(metrics[:n], nil, nil); err != nil {
			return err
		}
		metrics = metrics[n:]
	}
	return nil
}

// sendBatch encodes one chunk and sends it, halving it while the body is
// over MaxBatchRequestBytes.
func (c *Client) sendBatch(ctx context.Context, runID string, ms []Metric, ps []Param, ts []Tag) error {
	body := encodeBatch(runID, ms, ps, ts)
	if len(body) > MaxBatchRequestBytes && len(ms)+len(ps)+len(ts) > 1 {
		h1, h2 := splitHalf(ms, ps, ts)
		if err := c.sendBatch(ctx, runID, h1.Metrics, h1.Params, h1.Tags); err != nil {
			return err
		}
		return c.sendBatch(ctx, runID, h2.Metrics, h2.Params, h2.Tags)
	}
	return c.doJSON(ctx, "POST", pathRunsLogBatch, body, nil, true)
}

// splitHalf splits a chunk into two of about equal entity counts, keeping
// params first (a param error then stops the call before metrics are sent).
func splitHalf(ms []Metric, ps []Param, ts []Tag) (Batch, Batch) {
	total := len(ms) + len(ps) + len(ts)
	half := total / 2
	var a, b Batch
	np := min(len(ps), half)
	a.Params, b.Params = ps[:np], ps[np:]
	half -= np
	nt := min(len(ts), half)
	a.Tags, b.Tags = ts[:nt], ts[nt:]
	half -= nt
	nm := min(len(ms), half)
	a.Metrics, b.Metrics = ms[:nm], ms[nm:]
	return a, b
}

// LogInputs logs datasets used by a run (at most 1000 per call; names ≤ 500,
// digests ≤ 36, sources ≤ 65535 characters; name, digest, source_type and
// source required). Re-logging the same dataset is idempotent on the
// server; it is retried. inputs is not modified.
func (c *Client) LogInputs(ctx context.Context, runID string, inputs []DatasetInput) error {
	if err := validateRunID(runID); err != nil {
		return err
	}
	if err := validateDatasetInputs(inputs); err != nil {
		return err
	}
	in := struct {
		RunID    string         `json:"run_id"`
		Datasets []DatasetInput `json:"datasets"`
	}{runID, inputs}
	return c.doJSON(ctx, "POST", pathRunsLogInputs, in, nil, true)
}

// MetricHistoryPage is one page of a metric's history.
type MetricHistoryPage struct {
	Metrics       []Metric
	NextPageToken string
}

// GetMetricHistory returns one page of every logged point of metric key
// (maxResults 0 lets the server choose). Values are returned as stored: see
// NormalizeInf for SQL stores.
func (c *Client) GetMetricHistory(ctx context.Context, runID, key string, maxResults int, pageToken string) (*MetricHistoryPage, error) {
	if err := validateRunID(runID); err != nil {
		return nil, err
	}
	if err := checkEntityKey("metric_key", key); err != nil {
		return nil, err
	}
	if maxResults < 0 {
		return nil, newValidationError("max_results", "must be >= 0", strconv.Itoa(maxResults))
	}
	q := url.Values{"run_id": {runID}, "run_uuid": {runID}, "metric_key": {key}}
	if maxResults > 0 {
		q.Set("max_results", strconv.Itoa(maxResults))
	}
	if pageToken != "" {
		q.Set("page_token", pageToken)
	}
	var out struct {
		Metrics       []Metric `json:"metrics"`
		NextPageToken string   `json:"next_page_token"`
	}
	if err := c.doJSON(ctx, "GET", pathMetricsGetHistory, q, &out, true); err != nil {
		return nil, err
	}
	return &MetricHistoryPage{Metrics: out.Metrics, NextPageToken: out.NextPageToken}, nil
}

// GetMetricHistorySeq iterates over every point of metric key, in pages of
// 25000 like the Python client. It stops at the first error, which is
// yielded with a zero Metric.
func (c *Client) GetMetricHistorySeq(ctx context.Context, runID, key string) iter.Seq2[Metric, error] {
	return func(yield func(Metric, error) bool) {
		token := ""
		for {
			page, err := c.GetMetricHistory(ctx, runID, key, metricHistoryPageSize, token)
			if err != nil {
				yield(Metric{}, err)
				return
			}
			for _, m := range page.Metrics {
				if !yield(m, nil) {
					return
				}
			}
			if page.NextPageToken == "" || page.NextPageToken == token {
				return
			}
			token = page.NextPageToken
		}
	}
}

// BulkIntervalOptions are the fields of GetMetricHistoryBulkInterval:
// 1 to 100 run IDs, a metric key, an optional step range (both ends or
// neither, StartStep ≤ EndStep) and MaxResults per run (0 = server default
// 2500, at most 2500).
type BulkIntervalOptions struct {
	RunIDs     []string
	MetricKey  string
	StartStep  *int64
	EndStep    *int64
	MaxResults int
}

// GetMetricHistoryBulkInterval returns the history of one metric for
// several runs, down-sampled by step by the server; each Metric has RunID
// set. opt is not modified.
func (c *Client) GetMetricHistoryBulkInterval(ctx context.Context, opt BulkIntervalOptions) ([]Metric, error) {
	if len(opt.RunIDs) == 0 || len(opt.RunIDs) > maxRunsBulkInterval {
		return nil, newValidationError("run_ids", "between 1 and 100 run IDs are required", strconv.Itoa(len(opt.RunIDs)))
	}
	for i, id := range opt.RunIDs {
		if err := validateRunID(id); err != nil {
			err.(*ValidationError).Field = "run_ids[" + strconv.Itoa(i) + "]"
			return nil, err
		}
	}
	if err := checkEntityKey("metric_key", opt.MetricKey); err != nil {
		return nil, err
	}
	if (opt.StartStep == nil) != (opt.EndStep == nil) {
		return nil, &ValidationError{Field: "start_step", Rule: "start_step and end_step must be given together"}
	}
	if opt.StartStep != nil && *opt.StartStep > *opt.EndStep {
		return nil, &ValidationError{Field: "start_step", Rule: "start_step must be <= end_step"}
	}
	if opt.MaxResults < 0 || opt.MaxResults > maxResultsPerRunInterval {
		return nil, newValidationError("max_results", "must be in [0, 2500]", strconv.Itoa(opt.MaxResults))
	}
	q := url.Values{"run_ids": opt.RunIDs, "metric_key": {opt.MetricKey}}
	if opt.StartStep != nil {
		q.Set("start_step", strconv.FormatInt(*opt.StartStep, 10))
		q.Set("end_step", strconv.FormatInt(*opt.EndStep, 10))
	}
	if opt.MaxResults > 0 {
		q.Set("max_results", strconv.Itoa(opt.MaxResults))
	}
	var out struct {
		Metrics []Metric `json:"metrics"`
	}
	if err := c.doJSON(ctx, "GET", pathMetricsBulkInterval, q, &out, true); err != nil {
		return nil, err
	}
	return out.Metrics, nil
}
