package clienttest

import (
	"net/http"
	"strconv"
)

type kv struct{ key, value string }

// setKV replaces the value of key in list or appends it.
func setKV(list []kv, key, value string) []kv {
	for i := range list {
		if list[i].key == key {
			list[i].value = value
			return list
		}
	}
	return append(list, kv{key, value})
}

func getKV(list []kv, key string) (string, bool) {
	for _, e := range list {
		if e.key == key {
			return e.value, true
		}
	}
	return "", false
}

func deleteKV(list []kv, key string) ([]kv, bool) {
	for i := range list {
		if list[i].key == key {
			return append(list[:i:i], list[i+1:]...), true
		}
	}
	return list, false
}

func wireTags(list []kv) []wTag {
	if len(list) == 0 {
		return nil
	}
	out := make([]wTag, len(list))
	for i, e := range list {
		out[i] = wTag{Key: e.key, Value: e.value}
	}
	return out
}

type experiment struct {
	id, name, artifactLocation, lifecycle string
	creationTime, lastUpdateTime          int64
	tags                                  []kv
}

func (e *experiment) wire() wExperiment {
	return wExperiment{
		ExperimentID:     e.id,
		Name:             e.name,
		ArtifactLocation: e.artifactLocation,
		LifecycleStage:   e.lifecycle,
		LastUpdateTime:   e.lastUpdateTime,
		CreationTime:     e.creationTime,
		Tags:             wireTags(e.tags),
		Workspace:        "default",
	}
}

// experimentByID finds an experiment by id. Callers hold s.mu.
func (s *Server) experimentByID(id string) (*experiment, *apiErr) {
	if err := validateExperimentID(id); err != nil {
		return nil, err
	}
	e, ok := s.experiments[id]
	if !ok {
		return nil, notFoundf("No Experiment with id=%s exists", id)
	}
	return e, nil
}

func (s *Server) activeExperiment(id string) (*experiment, *apiErr) {
	e, err := s.experimentByID(id)
	if err != nil {
		return nil, err
	}
	if e.lifecycle != stageActive {
		return nil, invalidf("The experiment %s must be in the 'active' state. Current state is %s.", id, e.lifecycle)
	}
	return e, nil
}

func (s *Server) createExperiment(w http.ResponseWriter, r *http.Request) *apiErr {
	var req struct {
		Name             *string `json:"name"`
		ArtifactLocation string  `json:"artifact_location"`
		Tags             []rTag  `json:"tags"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Name == nil || *req.Name == "" {
		return missingParam("name")
	}
	if err := validateExperimentName(*req.Name); err != nil {
		return err
	}
	for _, t := range req.Tags {
		if err := validateExperimentTag(t.Key, t.Value); err != nil {
			return err
		}
	}
	s.lock()
	defer s.mu.Unlock()
	if _, dup := s.expByName[*req.Name]; dup {
		return errf(codeAlreadyExists, "Experiment(name=%s) already exists. Error: (clienttest IntegrityError) UNIQUE constraint failed: experiments.workspace, experiments.name", *req.Name)
	}
	id := strconv.Itoa(s.nextExpID)
	s.nextExpID++
	now := s.millis()
	e := &experiment{id: id, name: *req.Name, artifactLocation: req.ArtifactLocation, lifecycle: stageActive, creationTime: now, lastUpdateTime: now}
	if e.artifactLocation == "" {
		e.artifactLocation = "mlflow-artifacts:/" + id
	}
	for _, t := range req.Tags {
		v := ""
		if t.Value != nil {
			v = *t.Value
		}
		e.tags = setKV(e.tags, *t.Key, v)
	}
	s.experiments[id] = e
	s.expByName[e.name] = e
	writeJSON(w, http.StatusOK, map[string]string{"experiment_id": id})
	return nil
}

func (s *Server) getExperiment(w http.ResponseWriter, r *http.Request) *apiErr {
	id := r.URL.Query().Get("experiment_id")
	if id == "" {
		return missingParam("experiment_id")
	}
	s.lock()
	defer s.mu.Unlock()
	e, err := s.experimentByID(id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]wExperiment{"experiment": e.wire()})
	return nil
}

func (s *Server) getExperimentByName(w http.ResponseWriter, r *http.Request) *apiErr {
	name := r.URL.Query().Get("experiment_name")
	if name == "" {
		return missingParam("experiment_name")
	}
	s.lock()
	defer s.mu.Unlock()
	e, ok := s.expByName[name]
	if !ok {
		return notFoundf("Could not find experiment with name '%s'", name)
	}
	writeJSON(w, http.StatusOK, map[string]wExperiment{"experiment": e.wire()})
	return nil
}

type experimentIDRequest struct {
	ExperimentID *string `json:"experiment_id"`
}

func (req *experimentIDRequest) id() (string, *apiErr) {
	if req.ExperimentID == nil || *req.ExperimentID == "" {
		return "", missingParam("experiment_id")
	}
	return *req.ExperimentID, nil
}

func (s *Server) setExperimentTag(w http.ResponseWriter, r *http.Request) *apiErr {
	var req struct {
		experimentIDRequest
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
	if req.Key == nil || *req.Key == "" {
		return missingParam("key")
	}
	if err := validateExperimentTag(req.Key, req.Value); err != nil {
		return err
	}
	value := ""
	if req.Value != nil {
		value = *req.Value
	}
	s.lock()
	defer s.mu.Unlock()
	e, err := s.activeExperiment(id)
	if err != nil {
		return err
	}
	e.tags = setKV(e.tags, *req.Key, value)
	writeJSON(w, http.StatusOK, empty{})
	return nil
}

func (s *Server) deleteExperimentTag(w http.ResponseWriter, r *http.Request) *apiErr {
	var req struct {
		experimentIDRequest
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
	e, err := s.activeExperiment(id)
	if err != nil {
		return err
	}
	var ok bool
	if e.tags, ok = deleteKV(e.tags, *req.Key); !ok {
		return notFoundf("No tag with name: %s in experiment with id %s", *req.Key, id)
	}
	writeJSON(w, http.StatusOK, empty{})
	return nil
}

// setExperimentStage deletes or restores an experiment and, as MLflow's SQL
// store does, all its runs.
func (s *Server) setExperimentStage(w http.ResponseWriter, r *http.Request, from, to string) *apiErr {
	var req experimentIDRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	id, err := req.id()
	if err != nil {
		return err
	}
	s.lock()
	defer s.mu.Unlock()
	e, err := s.experimentByID(id)
	if err != nil {
		return err
	}
	if e.lifecycle != from {
		// The SQL store looks the experiment up in the stage it expects.
		return notFoundf("No Experiment with id=%s exists", id)
	}
	e.lifecycle = to
	e.lastUpdateTime = s.millis()
	for _, rn := range s.runs {
		if rn.experimentID == id {
			rn.lifecycle = to
		}
	}
	writeJSON(w, http.StatusOK, empty{})
	return nil
}

func (s *Server) deleteExperiment(w http.ResponseWriter, r *http.Request) *apiErr {
	return s.setExperimentStage(w, r, stageActive, stageDeleted)
}

func (s *Server) restoreExperiment(w http.ResponseWriter, r *http.Request) *apiErr {
	return s.setExperimentStage(w, r, stageDeleted, stageActive)
}

func (s *Server) updateExperiment(w http.ResponseWriter, r *http.Request) *apiErr {
	var req struct {
		experimentIDRequest
		NewName *string `json:"new_name"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	id, err := req.id()
	if err != nil {
		return err
	}
	if req.NewName == nil {
		return missingParam("new_name")
	}
	if err := validateExperimentName(*req.NewName); err != nil {
		return err
	}
	s.lock()
	defer s.mu.Unlock()
	e, err := s.activeExperiment(id)
	if err != nil {
		return err
	}
	if other, dup := s.expByName[*req.NewName]; dup && other != e {
		// The SQL store does not check first; the database's unique
		// constraint fails and the answer is BAD_REQUEST.
		return errf(codeBadRequest, "(clienttest IntegrityError) UNIQUE constraint failed: experiments.workspace, experiments.name")
	}
	delete(s.expByName, e.name)
	e.name = *req.NewName
	s.expByName[e.name] = e
	e.lastUpdateTime = s.millis()
	writeJSON(w, http.StatusOK, empty{})
	return nil
}
