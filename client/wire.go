package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// InfAsMaxFloat is what MLflow's SQL store returns for a metric logged as
// ±Inf: it stores and returns ±1.7976931348623157e308 (math.MaxFloat64), a
// finite number, instead of "Infinity". The client does not change values on
// read; call NormalizeInf where ±Inf semantics matter.
const InfAsMaxFloat = math.MaxFloat64

// NormalizeInf maps ±math.MaxFloat64 (the SQL store's encoding of ±Inf) back
// to ±Inf and returns every other value unchanged. It is safe for concurrent use.
func NormalizeInf(v float64) float64 {
	switch v {
	case math.MaxFloat64:
		return math.Inf(1)
	case -math.MaxFloat64:
		return math.Inf(-1)
	}
	return v
}

// Millis converts t to MLflow's timestamp unit, milliseconds since the Unix epoch.
func Millis(t time.Time) int64 { return t.UnixMilli() }

// Tag is a run, experiment, model or dataset-input tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Param is a run parameter. MLflow params are immutable once logged.
type Param struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Metric is one metric point. Timestamp is in milliseconds since the Unix
// epoch (see Millis); Step defaults to 0. Value may be NaN or ±Inf; on the
// wire they are the strings "NaN", "Infinity" and "-Infinity". RunID is only
// filled in answers that span several runs (GetMetricHistoryBulkInterval).
//
// Metric implements json.Marshaler and json.Unmarshaler with MLflow's JSON:
// int64 fields are accepted as numbers or decimal strings, unknown fields are
// ignored.
type Metric struct {
	Key       string
	Value     float64
	Timestamp int64
	Step      int64
	RunID     string
}

// MarshalJSON encodes m as MLflow JSON ({"key","value","timestamp","step"}
// plus "run_id" when set).
func (m Metric) MarshalJSON() ([]byte, error) {
	return appendMetric(make([]byte, 0, 64+len(m.Key)+len(m.RunID)), &m), nil
}

// UnmarshalJSON decodes MLflow JSON into m.
func (m *Metric) UnmarshalJSON(b []byte) error {
	var w struct {
		Key       string    `json:"key"`
		Value     jsonFloat `json:"value"`
		Timestamp jsonInt64 `json:"timestamp"`
		Step      jsonInt64 `json:"step"`
		RunID     string    `json:"run_id"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*m = Metric{Key: w.Key, Value: float64(w.Value), Timestamp: int64(w.Timestamp), Step: int64(w.Step), RunID: w.RunID}
	return nil
}

// RunStatus is the status of a run, sent and received as its enum name.
type RunStatus string

// Run statuses (service.proto RunStatus).
const (
	RunRunning   RunStatus = "RUNNING"
	RunScheduled RunStatus = "SCHEDULED"
	RunFinished  RunStatus = "FINISHED"
	RunFailed    RunStatus = "FAILED"
	RunKilled    RunStatus = "KILLED"
)

var runStatusByNumber = map[int64]RunStatus{1: RunRunning, 2: RunScheduled, 3: RunFinished, 4: RunFailed, 5: RunKilled}

// UnmarshalJSON accepts the enum name or its number (1 RUNNING … 5 KILLED).
func (s *RunStatus) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] != '"' && !bytes.Equal(b, []byte("null")) {
		var n int64
		if err := json.Unmarshal(b, &n); err != nil {
			return errors.New("client: run status is neither a name nor a number")
		}
		*s = runStatusByNumber[n]
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = RunStatus(v)
	return nil
}

// Terminal reports whether s is FINISHED, FAILED or KILLED.
func (s RunStatus) Terminal() bool { return s == RunFinished || s == RunFailed || s == RunKilled }

// ViewType selects active, deleted or all entities in searches.
type ViewType string

// View types (service.proto ViewType).
const (
	ViewActiveOnly  ViewType = "ACTIVE_ONLY"
	ViewDeletedOnly ViewType = "DELETED_ONLY"
	ViewAll         ViewType = "ALL"
)

// Experiment is an MLflow experiment. LifecycleStage is "active" or "deleted".
type Experiment struct {
	ID               string `json:"experiment_id"`
	Name             string `json:"name"`
	ArtifactLocation string `json:"artifact_location,omitempty"`
	LifecycleStage   string `json:"lifecycle_stage,omitempty"`
	CreationTime     int64  `json:"creation_time,omitempty"`
	LastUpdateTime   int64  `json:"last_update_time,omitempty"`
	Tags             []Tag  `json:"tags,omitempty"`
}

// UnmarshalJSON decodes MLflow JSON, accepting int64 fields and the ID as
// numbers or strings.
func (e *Experiment) UnmarshalJSON(b []byte) error {
	type plain Experiment
	var w struct {
		plain
		ID             jsonString `json:"experiment_id"`
		CreationTime   jsonInt64  `json:"creation_time"`
		LastUpdateTime jsonInt64  `json:"last_update_time"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*e = Experiment(w.plain)
	e.ID, e.CreationTime, e.LastUpdateTime = string(w.ID), int64(w.CreationTime), int64(w.LastUpdateTime)
	return nil
}

// Tag returns the value of the experiment tag key and whether it is set.
func (e *Experiment) Tag(key string) (string, bool) { return findTag(e.Tags, key) }

// RunInfo is the metadata of a run. StartTime and EndTime are Unix
// milliseconds; EndTime is 0 while the run is running.
type RunInfo struct {
	RunID          string    `json:"run_id"`
	RunName        string    `json:"run_name,omitempty"`
	ExperimentID   string    `json:"experiment_id"`
	UserID         string    `json:"user_id,omitempty"`
	Status         RunStatus `json:"status,omitempty"`
	StartTime      int64     `json:"start_time,omitempty"`
	EndTime        int64     `json:"end_time,omitempty"`
	ArtifactURI    string    `json:"artifact_uri,omitempty"`
	LifecycleStage string    `json:"lifecycle_stage,omitempty"`
}

// UnmarshalJSON decodes MLflow JSON, accepting the legacy run_uuid field and
// int64 fields as numbers or strings.
func (ri *RunInfo) UnmarshalJSON(b []byte) error {
	type plain RunInfo
	var w struct {
		plain
		RunUUID      string     `json:"run_uuid"`
		ExperimentID jsonString `json:"experiment_id"`
		StartTime    jsonInt64  `json:"start_time"`
		EndTime      jsonInt64  `json:"end_time"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*ri = RunInfo(w.plain)
	if ri.RunID == "" {
		ri.RunID = w.RunUUID
	}
	ri.ExperimentID, ri.StartTime, ri.EndTime = string(w.ExperimentID), int64(w.StartTime), int64(w.EndTime)
	return nil
}

// RunData holds a run's params, tags and metrics. Metrics holds only the
// latest point per key (MLflow's latest_metrics); use GetMetricHistory for the series.
type RunData struct {
	Metrics []Metric `json:"metrics,omitempty"`
	Params  []Param  `json:"params,omitempty"`
	Tags    []Tag    `json:"tags,omitempty"`
}

// Dataset describes a dataset logged with LogInputs. Name, Digest,
// SourceType and Source are required.
type Dataset struct {
	Name       string `json:"name"`
	Digest     string `json:"digest"`
	SourceType string `json:"source_type"`
	Source     string `json:"source"`
	Schema     string `json:"schema,omitempty"`
	Profile    string `json:"profile,omitempty"`
}

// DatasetInput is a dataset used by a run, with input tags such as
// mlflow.data.context = "training".
type DatasetInput struct {
	Tags    []Tag   `json:"tags,omitempty"`
	Dataset Dataset `json:"dataset"`
}

// RunInputs holds a run's inputs.
type RunInputs struct {
	DatasetInputs []DatasetInput `json:"dataset_inputs,omitempty"`
}

// Run is a run as returned by runs/get and runs/search.
type Run struct {
	Info   RunInfo   `json:"info"`
	Data   RunData   `json:"data"`
	Inputs RunInputs `json:"inputs"`
}

// Metric returns the latest value of metric key and whether it is present.
func (r *Run) Metric(key string) (float64, bool) {
	for i := range r.Data.Metrics {
		if r.Data.Metrics[i].Key == key {
			return r.Data.Metrics[i].Value, true
		}
	}
	return 0, false
}

// Param returns the value of param key and whether it is present.
func (r *Run) Param(key string) (string, bool) {
	for _, p := range r.Data.Params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// Tag returns the value of tag key and whether it is present.
func (r *Run) Tag(key string) (string, bool) { return findTag(r.Data.Tags, key) }

func findTag(tags []Tag, key string) (string, bool) {
	for _, t := range tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

// ModelVersion is a registered model version. Version is a decimal string.
type ModelVersion struct {
	Name                 string   `json:"name"`
	Version              string   `json:"version"`
	Source               string   `json:"source,omitempty"`
	RunID                string   `json:"run_id,omitempty"`
	RunLink              string   `json:"run_link,omitempty"`
	Status               string   `json:"status,omitempty"`
	CurrentStage         string   `json:"current_stage,omitempty"`
	Description          string   `json:"description,omitempty"`
	UserID               string   `json:"user_id,omitempty"`
	CreationTimestamp    int64    `json:"creation_timestamp,omitempty"`
	LastUpdatedTimestamp int64    `json:"last_updated_timestamp,omitempty"`
	Tags                 []Tag    `json:"tags,omitempty"`
	Aliases              []string `json:"aliases,omitempty"`
}

// UnmarshalJSON decodes MLflow JSON, accepting int64 fields and the version
// as numbers or strings.
func (mv *ModelVersion) UnmarshalJSON(b []byte) error {
	type plain ModelVersion
	var w struct {
		plain
		Version              jsonString `json:"version"`
		CreationTimestamp    jsonInt64  `json:"creation_timestamp"`
		LastUpdatedTimestamp jsonInt64  `json:"last_updated_timestamp"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*mv = ModelVersion(w.plain)
	mv.Version, mv.CreationTimestamp, mv.LastUpdatedTimestamp = string(w.Version), int64(w.CreationTimestamp), int64(w.LastUpdatedTimestamp)
	return nil
}

// jsonInt64 decodes an int64 sent as a JSON number or a decimal string
// (protobuf JSON allows both). null decodes as 0.
type jsonInt64 int64

func (v *jsonInt64) UnmarshalJSON(b []byte) error {
	n, err := parseInt64JSON(b)
	if err != nil {
		return err
	}
	*v = jsonInt64(n)
	return nil
}

var errBadInt64 = errors.New("client: int64 field is neither a JSON integer nor a decimal string")

// parseInt64JSON parses a JSON number or string token as an int64.
func parseInt64JSON(b []byte) (int64, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 0, errBadInt64
	}
	if string(b) == "null" {
		return 0, nil
	}
	s := string(b)
	if b[0] != '"' && !json.Valid(b) {
		return 0, errBadInt64
	}
	if b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return 0, errBadInt64
		}
		s = strings.TrimSpace(str)
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	// Integral values written in exponent or fraction form (1e3, 5.0).
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 || math.IsNaN(f) {
		return 0, errBadInt64
	}
	return int64(f), nil
}

// jsonFloat decodes a double sent as a JSON number or as a string: "NaN",
// "Infinity", "-Infinity" (protobuf JSON), their Python spellings "nan",
// "inf", "-inf", or a decimal. null decodes as 0.
type jsonFloat float64

func (v *jsonFloat) UnmarshalJSON(b []byte) error {
	f, err := parseFloatJSON(b)
	if err != nil {
		return err
	}
	*v = jsonFloat(f)
	return nil
}

var errBadFloat = errors.New("client: double field is neither a JSON number nor NaN/Infinity/-Infinity")

func parseFloatJSON(b []byte) (float64, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 0, errBadFloat
	}
	if string(b) == "null" {
		return 0, nil
	}
	if b[0] != '"' {
		if !json.Valid(b) {
			return 0, errBadFloat
		}
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			// Out of range numbers such as 1e400 decode as ±Inf, like Python.
			var ne *strconv.NumError
			if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
				return f, nil
			}
			return 0, errBadFloat
		}
		return f, nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return 0, errBadFloat
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "nan":
		return math.NaN(), nil
	case "infinity", "inf", "+infinity", "+inf":
		return math.Inf(1), nil
	case "-infinity", "-inf":
		return math.Inf(-1), nil
	}
	s = strings.TrimSpace(s)
	if !json.Valid([]byte(s)) || s == "" || s[0] == '"' || s[0] == '{' || s[0] == '[' {
		return 0, errBadFloat
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return f, nil
		}
		return 0, errBadFloat
	}
	return f, nil
}

// jsonString decodes a string that may arrive as a JSON number (IDs).
type jsonString string

func (v *jsonString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] != '"' {
		if string(b) == "null" {
			*v = ""
			return nil
		}
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return errors.New("client: id field is neither a string nor a number")
		}
		*v = jsonString(n.String())
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*v = jsonString(s)
	return nil
}
