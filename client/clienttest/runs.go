package clienttest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
)

const tagRunName = "mlflow.runName"

var runStatuses = map[string]bool{"RUNNING": true, "SCHEDULED": true, "FINISHED": true, "FAILED": true, "KILLED": true}

// runStatusNames maps the proto enum numbers onto names.
var runStatusNames = map[string]string{"1": "RUNNING", "2": "SCHEDULED", "3": "FINISHED", "4": "FAILED", "5": "KILLED"}

// point is one stored metric value.
type point struct {
	key       string
	value     float64
	timestamp int64
	step      int64
}

// pointID is the metrics table's primary key without the run: NaN is
// normalised so that repeated NaN points dedupe like the SQL store's is_nan.
type pointID struct {
	key       string
	timestamp int64
	step      int64
	value     float64
	isNaN     bool
}

type datasetInput struct {
	tags    []kv
	dataset wDataset
}

type run struct {
	id, name, experimentID, userID, status string
	startTime                              int64
	endTime                                *int64
	artifactURI, lifecycle                 string
	params                                 []kv
	tags                                   []kv
	history                                map[string][]point // by key, in logging order
	metricKeys                             []string           // first-logged order
	latest                                 map[string]point
	seen                                   map[pointID]struct{}
	inputs                                 []datasetInput
}

func (rn *run) wireInfo() wRunInfo {
	info := wRunInfo{
		RunUUID:        rn.id,
		RunID:          rn.id,
		RunName:        rn.name,
		ExperimentID:   rn.experimentID,
		UserID:         rn.userID,
		Status:         rn.status,
		StartTime:      rn.startTime,
		ArtifactURI:    rn.artifactURI,
		LifecycleStage: rn.lifecycle,
	}
	if rn.endTime != nil {
		end := *rn.endTime
		info.EndTime = &end
	}
	return info
}

func (rn *run) wire() wRun {
	out := wRun{Info: rn.wireInfo(), Outputs: &struct{}{}}
	for _, k := range rn.metricKeys {
		p := rn.latest[k]
		out.Data.Metrics = append(out.Data.Metrics, wMetric{Key: k, Value: jfloat(p.value), Timestamp: p.timestamp, Step: p.step})
	}
	out.Data.Params = wireTags(rn.params)
	out.Data.Tags = wireTags(rn.tags)
	for _, in := range rn.inputs {
		out.Inputs.DatasetInputs = append(out.Inputs.DatasetInputs, wDatasetInput{Tags: wireTags(in.tags), Dataset: in.dataset})
	}
	return out
}

// runByID finds a run. Callers hold s.mu.
func (s *Server) runByID(id string) (*run, *apiErr) {
	rn, ok := s.runs[id]
	if !ok {
		return nil, notFoundf("Run with id=%s not found", id)
	}
	return rn, nil
}

// activeRun finds a run that accepts writes. Callers hold s.mu.
func (s *Server) activeRun(id string) (*run, *apiErr) {
	rn, err := s.runByID(id)
	if err != nil {
		return nil, err
	}
	if rn.lifecycle != stageActive {
		return nil, invalidf("The run %s must be in the 'active' state. Current state is %s.", id, rn.lifecycle)
	}
	return rn, nil
}

// runIDRequest is the run_id field with its legacy run_uuid twin.
type runIDRequest struct {
	RunID   string `json:"run_id"`
	RunUUID string `json:"run_uuid"`
}

func (req *runIDRequest) id() (string, *apiErr) {
	id := req.RunID
	if id == "" {
		id = req.RunUUID
	}
	if id == "" {
		return "", missingParam("run_id")
	}
	return id, nil
}

func queryRunID(r *http.Request) (string, *apiErr) {
	q := r.URL.Query()
	req := runIDRequest{RunID: q.Get("run_id"), RunUUID: q.Get("run_uuid")}
	return req.id()
}

var (
	nameAdjectives = []string{"brave", "calm", "eager", "gentle", "honest", "jolly", "keen", "lucky", "merry", "nimble", "proud", "quiet", "swift", "wise"}
	nameNouns      = []string{"ant", "bear", "crane", "deer", "eel", "finch", "goat", "hawk", "ibis", "koi", "lynx", "mole", "owl", "seal"}
)

func randomRunName() string {
	return fmt.Sprintf("%s-%s-%d", nameAdjectives[rand.IntN(len(nameAdjectives))], nameNouns[rand.IntN(len(nameNouns))], rand.IntN(1000))
}

func (s *Server) createRun(w http.ResponseWriter, r *http.Request) *apiErr {
	var req struct {
		ExperimentID string `json:"experiment_id"`
		UserID       string `json:"user_id"`
		RunName      string `json:"run_name"`
		StartTime    optInt `json:"start_time"`
		Tags         []rTag `json:"tags"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	// runs/create does not validate its tags.
	tags := make([]kv, 0, len(req.Tags)+1)
	for _, t := range req.Tags {
		var k, v string
		if t.Key != nil {
			k = *t.Key
		}
		if t.Value != nil {
			v = *t.Value
		}
		tags = setKV(tags, k, v)
	}
	expID := req.ExperimentID
	if expID == "" {
		// The SQL store inserts the run and the foreign key fails.
		return errf(codeBadRequest, "(clienttest) FOREIGN KEY constraint failed: runs.experiment_id is empty")
	}
	tagName, hasTagName := getKV(tags, tagRunName)
	if req.RunName != "" && hasTagName && req.RunName != tagName {
		return invalidf("Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='%s', mlflow.runName='%s').", req.RunName, tagName)
	}
	s.lock()
	defer s.mu.Unlock()
	e, err := s.activeExperiment(expID)
	if err != nil {
		return err
	}
	name := req.RunName
	if name == "" {
		name = tagName
	}
	if name == "" {
		name = randomRunName()
	}
	if !hasTagName {
		tags = append(tags, kv{tagRunName, name})
	}
	start := req.StartTime.v // 0 when not sent, as on the real server
	id := newRunID()
	rn := &run{
		id:           id,
		name:         name,
		experimentID: e.id,
		userID:       req.UserID,
		status:       "RUNNING",
		startTime:    start,
		artifactURI:  e.artifactLocation + "/" + id + "/artifacts",
		lifecycle:    stageActive,
		tags:         tags,
		history:      make(map[string][]point),
		latest:       make(map[string]point),
		seen:         make(map[pointID]struct{}),
	}
	s.runs[id] = rn
	created := rn.wire()
	created.Outputs = nil
	writeJSON(w, http.StatusOK, map[string]wRun{"run": created})
	return nil
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) *apiErr {
	id, err := queryRunID(r)
	if err != nil {
		return err
	}
	s.lock()
	defer s.mu.Unlock()
	rn, err := s.runByID(id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]wRun{"run": rn.wire()})
	return nil
}

func (s *Server) updateRun(w http.ResponseWriter, r *http.Request) *apiErr {
	var req struct {
		runIDRequest
		Status  json.RawMessage `json:"status"` // enum name or number
		EndTime optInt          `json:"end_time"`
		RunName string          `json:"run_name"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	id, err := req.id()
	if err != nil {
		return err
	}
	status := strings.Trim(string(req.Status), `"`)
	if n, ok := runStatusNames[status]; ok {
		status = n
	}
	if !runStatuses[status] {
		status = "" // the real server ignores unknown statuses
	}
	s.lock()
	defer s.mu.Unlock()
	rn, err := s.activeRun(id)
	if err != nil {
		return err
	}
	if status != "" {
		rn.status = status
	}
	if req.EndTime.set {
		end := req.EndTime.v
		rn.endTime = &end
	}
	if req.RunName != "" {
		rn.name = req.RunName
		rn.tags = setKV(rn.tags, tagRunName, req.RunName)
	}
	writeJSON(w, http.StatusOK, map[string]wRunInfo{"run_info": rn.wireInfo()})
	return nil
}

func (s *Server) setRunStage(w http.ResponseWriter, r *http.Request, to string) *apiErr {
	var req runIDRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	id, err := req.id()
	if err != nil {
		return err
	}
	s.lock()
	defer s.mu.Unlock()
	rn, err := s.runByID(id)
	if err != nil {
		return err
	}
	rn.lifecycle = to
	writeJSON(w, http.StatusOK, empty{})
	return nil
}

func (s *Server) deleteRun(w http.ResponseWriter, r *http.Request) *apiErr {
	return s.setRunStage(w, r, stageDeleted)
}

func (s *Server) restoreRun(w http.ResponseWriter, r *http.Request) *apiErr {
	return s.setRunStage(w, r, stageActive)
}

func (s *Server) setTag(w http.ResponseWriter, r *http.Request) *apiErr {
	var req struct {
		runIDRequest
		Key   *string `json:"key"`
		Value *string `json:"value"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	id, err := req.id()
	if err != nil {
		return err
	}
	v, err := validateTag("", req.Key, req.Value)
	if err != nil {
		return err
	}
	s.lock()
	defer s.mu.Unlock()
	rn, err := s.activeRun(id)
	if err != nil {
		return err
	}
	rn.setTag(*req.Key, v)
	writeJSON(w, http.StatusOK, empty{})
	return nil
}

func (rn *run) setTag(key, value string) {
	rn.tags = setKV(rn.tags, key, value)
	if key == tagRunName {
		rn.name = value
	}
}

func (s *Server) deleteTag(w http.ResponseWriter, r *http.Request) *apiErr {
	var req struct {
		runIDRequest
		Key *string `json:"key"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	id, err := req.id()
	if err != nil {
		return err
	}
	if req.Key == nil {
		return missingParam("key")
	}
	s.lock()
	defer s.mu.Unlock()
	rn, err := s.activeRun(id)
	if err != nil {
		return err
	}
	var ok bool
	if rn.tags, ok = deleteKV(rn.tags, *req.Key); !ok {
		return notFoundf("No tag with name: %s in run with id %s", *req.Key, id)
	}
	writeJSON(w, http.StatusOK, empty{})
	return nil
}
