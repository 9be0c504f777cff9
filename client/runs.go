package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
)

// API paths for runs.
const (
	pathRunsCreate    = "/api/2.0/mlflow/runs/create"
	pathRunsGet       = "/api/2.0/mlflow/runs/get"
	pathRunsUpdate    = "/api/2.0/mlflow/runs/update"
	pathRunsDelete    = "/api/2.0/mlflow/runs/delete"
	pathRunsRestore   = "/api/2.0/mlflow/runs/restore"
	pathRunsSetTag    = "/api/2.0/mlflow/runs/set-tag"
	pathRunsDeleteTag = "/api/2.0/mlflow/runs/delete-tag"
)

// RequestIDTag is the run tag CreateRun adds with a random UUID, so that a
// create retried after an ambiguous failure (timeout, 5xx, dropped
// connection) finds the run the first attempt may have created instead of
// creating a second one.
const RequestIDTag = "mlwatch.requestId"

// defaultExperimentID is MLflow's "Default" experiment, used when
// CreateRunOptions.ExperimentID is empty (as the Python client does).
const defaultExperimentID = "0"

// CreateRunOptions are the fields of CreateRun. ExperimentID "" means the
// Default experiment "0"; StartTime 0 means now; RunName "" lets the server
// pick a random name. Tags are validated like ValidateTag.
type CreateRunOptions struct {
	ExperimentID string
	RunName      string
	UserID       string
	StartTime    int64
	Tags         []Tag
}

// CreateRun creates a run in state RUNNING and makes sure one call leaves
// one run. It adds the tag RequestIDTag with a random UUID and sends the
// create without transport retries. Before re-sending after an ambiguous
// failure (network error, timeout, 408, 5xx) it searches the experiment for
// runs carrying that tag and returns the one it finds (after a timeout it
// first waits up to the per-attempt timeout, at most 10 s, for the server to
// finish); if the search itself fails it searches again rather than
// creating. When a retried create succeeds, or the search finds several
// runs, the runs left by earlier attempts are deleted (they are empty). A
// create the server commits only after all of this (longer than the settle
// pause after the client gave up) can still leave an extra, empty run
// carrying the same tag. 429 answers are retried without a search (the
// server refused the request). Retries follow the client's RetryPolicy and
// stop when ctx is done. opt is not modified.
func (c *Client) CreateRun(ctx context.Context, opt CreateRunOptions) (*Run, error) {
	expID := opt.ExperimentID
	if expID == "" {
		expID = defaultExperimentID
	}
	if err := validateExperimentID(expID); err != nil {
		return nil, err
	}
	if opt.StartTime < 0 {
		return nil, newValidationError("start_time", ruleTimestamp, strconv.FormatInt(opt.StartTime, 10))
	}
	for i := range opt.Tags {
		if e := validateTagAt(&opt.Tags[i]); e != nil {
			e.Field = "tags[" + strconv.Itoa(i) + "]." + e.Field
			return nil, e
		}
	}
	reqID := newUUID()
	tags := make([]Tag, 0, len(opt.Tags)+1)
	tags = append(tags, opt.Tags...)
	tags = append(tags, Tag{Key: RequestIDTag, Value: reqID})
	start := opt.StartTime
	if start == 0 {
		start = Millis(c.now())
	}
	in := struct {
		ExperimentID string `json:"experiment_id"`
		UserID       string `json:"user_id,omitempty"`
		RunName      string `json:"run_name,omitempty"`
		StartTime    int64  `json:"start_time"`
		Tags         []Tag  `json:"tags"`
	}{expID, opt.UserID, opt.RunName, start, tags}
	body, err := jsonMarshal(in)
	if err != nil {
		return nil, err
	}

	ctx, span := c.startSpan(ctx, "POST", pathRunsCreate)
	attempts, status := 0, 0
	var lastErr error
	ambiguous, timedOut := false, false
	for n := 0; ; n++ {
		if n > 0 {
			wait := c.retry.wait(n, nil)
			if timedOut {
				// The server may still be working on the timed-out create:
				// give it time to commit before looking for the run.
				wait = max(wait, min(c.timeout, maxCreateSettle))
			}
			if err := sleepCtx(ctx, wait); err != nil {
				lastErr = fmt.Errorf("client: POST %s: %w (after: %v)", pathRunsCreate, err, lastErr)
				break
			}
			if ambiguous {
				runs, err := c.findRunsByRequestID(ctx, expID, reqID)
				if err != nil {
					// Without an answer we cannot know whether the run
					// exists: look again instead of creating a second one.
					lastErr = err
					if ctx.Err() != nil || n >= c.retry.MaxRetries {
						break
					}
					continue
				}
				if len(runs) > 0 {
					keep := earliestRun(runs)
					removed := c.removeDuplicateRuns(ctx, runs, keep.Info.RunID)
					span.SetAttributes(attribute.Bool("mlwatch.create_recovered", true), attribute.Int("mlwatch.create_duplicates_removed", removed))
					endSpan(span, status, attempts, nil)
					return keep, nil
				}
			}
		}
		var out struct {
			Run *Run `json:"run"`
		}
		attempts++
		st, err := c.callJSON(ctx, "POST", pathRunsCreate, body, &out, false)
		status = st.status
		if err == nil {
			if out.Run == nil {
				err = errors.New("client: runs/create: answer has no run")
			} else {
				if ambiguous {
					// An earlier attempt may have created a run after all.
					if runs, err := c.findRunsByRequestID(ctx, expID, reqID); err == nil {
						removed := c.removeDuplicateRuns(ctx, runs, out.Run.Info.RunID)
						span.SetAttributes(attribute.Int("mlwatch.create_duplicates_removed", removed))
					}
				}
				endSpan(span, status, attempts, nil)
				return out.Run, nil
			}
		}
		lastErr = err
		if ctx.Err() != nil || n >= c.retry.MaxRetries || !IsRetryable(err) {
			break
		}
		var ae *APIError
		if !errors.As(err, &ae) || ae.StatusCode != http.StatusTooManyRequests {
			ambiguous = true
		}
		timedOut = isTimeout(err)
		c.logger.Debug("client: retrying request", "endpoint", pathRunsCreate, "attempt", attempts, "status", status)
	}
	endSpan(span, status, attempts, lastErr)
	return nil, lastErr
}

// maxCreateSettle bounds the pause CreateRun makes after a timed-out
// create before looking for the run it may have created.
const maxCreateSettle = 10 * time.Second

// isTimeout reports whether err is a per-attempt timeout (the request may
// still be processed by the server) or a 408/504 answer.
func isTimeout(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.StatusCode == http.StatusRequestTimeout || ae.StatusCode == http.StatusGatewayTimeout
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// findRunsByRequestID searches expID (all view types) for the runs tagged
// with reqID.
func (c *Client) findRunsByRequestID(ctx context.Context, expID, reqID string) ([]Run, error) {
	page, err := c.SearchRuns(ctx, SearchRunsOptions{
		ExperimentIDs: []string{expID},
		Filter:        "tags.`" + RequestIDTag + "` = '" + reqID + "'",
		ViewType:      ViewAll,
		MaxResults:    50,
	})
	if err != nil {
		return nil, err
	}
	return page.Runs, nil
}

// earliestRun picks a deterministic survivor among runs created by one
// CreateRun call: the earliest start time, then the smallest run ID.
func earliestRun(runs []Run) *Run {
	best := &runs[0]
	for i := range runs[1:] {
		r := &runs[i+1]
		if r.Info.StartTime < best.Info.StartTime || (r.Info.StartTime == best.Info.StartTime && r.Info.RunID < best.Info.RunID) {
			best = r
		}
	}
	return best
}

// removeDuplicateRuns deletes (soft-deletes) every run of runs except keep;
// they are empty runs created by earlier attempts of the same CreateRun
// call. It returns how many were deleted; failures are logged.
func (c *Client) removeDuplicateRuns(ctx context.Context, runs []Run, keep string) int {
	removed := 0
	for _, r := range runs {
		if r.Info.RunID == keep || r.Info.LifecycleStage == "deleted" {
			continue
		}
		if err := c.DeleteRun(ctx, r.Info.RunID); err != nil {
			c.logger.Warn("client: could not delete a duplicate run left by a retried create", "run_id", r.Info.RunID, "error", err.Error())
			continue
		}
		removed++
	}
	return removed
}

// newUUID returns a random (version 4) UUID string.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// GetRun returns the run with its info, params, tags, latest metric values
// and inputs. An unknown ID gives an error matching ErrNotFound.
func (c *Client) GetRun(ctx context.Context, runID string) (*Run, error) {
	if err := validateRunID(runID); err != nil {
		return nil, err
	}
	var out struct {
		Run *Run `json:"run"`
	}
	if err := c.doJSON(ctx, "GET", pathRunsGet, url.Values{"run_id": {runID}}, &out, true); err != nil {
		return nil, err
	}
	if out.Run == nil {
		return nil, errors.New("client: runs/get: answer has no run")
	}
	return out.Run, nil
}

// UpdateRunOptions are the fields of UpdateRun; zero fields are not sent.
type UpdateRunOptions struct {
	Status  RunStatus
	EndTime int64
	RunName string
}

// UpdateRun changes a run's status, end time or name and returns the
// updated info. It is idempotent and retried.
func (c *Client) UpdateRun(ctx context.Context, runID string, opt UpdateRunOptions) (*RunInfo, error) {
	if err := validateRunID(runID); err != nil {
		return nil, err
	}
	switch opt.Status {
	case "", RunRunning, RunScheduled, RunFinished, RunFailed, RunKilled:
	default:
		return nil, newValidationError("status", "must be RUNNING, SCHEDULED, FINISHED, FAILED or KILLED", string(opt.Status))
	}
	if opt.EndTime < 0 {
		return nil, newValidationError("end_time", ruleTimestamp, strconv.FormatInt(opt.EndTime, 10))
	}
	in := struct {
		RunID   string    `json:"run_id"`
		RunUUID string    `json:"run_uuid"`
		Status  RunStatus `json:"status,omitempty"`
		EndTime int64     `json:"end_time,omitempty"`
		RunName string    `json:"run_name,omitempty"`
	}{runID, runID, opt.Status, opt.EndTime, opt.RunName}
	var out struct {
		RunInfo *RunInfo `json:"run_info"`
	}
	if err := c.doJSON(ctx, "POST", pathRunsUpdate, in, &out, true); err != nil {
		return nil, err
	}
	if out.RunInfo == nil {
		return nil, errors.New("client: runs/update: answer has no run_info")
	}
	return out.RunInfo, nil
}

// DeleteRun marks a run deleted. Idempotent and retried.
func (c *Client) DeleteRun(ctx context.Context, runID string) error {
	if err := validateRunID(runID); err != nil {
		return err
	}
	return c.doJSON(ctx, "POST", pathRunsDelete, map[string]string{"run_id": runID}, nil, true)
}

// RestoreRun restores a deleted run. Idempotent and retried.
func (c *Client) RestoreRun(ctx context.Context, runID string) error {
	if err := validateRunID(runID); err != nil {
		return err
	}
	return c.doJSON(ctx, "POST", pathRunsRestore, map[string]string{"run_id": runID}, nil, true)
}

// SetTag sets (or overwrites) a run tag. Idempotent and retried.
func (c *Client) SetTag(ctx context.Context, runID, key, value string) error {
	if err := validateRunID(runID); err != nil {
		return err
	}
	if err := ValidateTag(Tag{Key: key, Value: value}); err != nil {
		return err
	}
	in := map[string]string{"run_id": runID, "run_uuid": runID, "key": key, "value": value}
	return c.doJSON(ctx, "POST", pathRunsSetTag, in, nil, true)
}

// DeleteTag deletes a run tag; a missing tag gives an error matching
// ErrNotFound. Retried (a retry after success also reports ErrNotFound).
func (c *Client) DeleteTag(ctx context.Context, runID, key string) error {
	if err := validateRunID(runID); err != nil {
		return err
	}
	if err := checkEntityKey("key", key); err != nil {
		return err
	}
	return c.doJSON(ctx, "POST", pathRunsDeleteTag, map[string]string{"run_id": runID, "key": key}, nil, true)
}
