package clienttest

import (
	"slices"
	"strconv"
	"strings"

	"github.com/mlwatch/mlwatch/client"
)

// This file lets tests inspect the fake's state. Every method returns a
// copy: changing it does not change the server.

func clientTags(list []kv) []client.Tag {
	if len(list) == 0 {
		return nil
	}
	out := make([]client.Tag, len(list))
	for i, e := range list {
		out[i] = client.Tag{Key: e.key, Value: e.value}
	}
	return out
}

func kvMap(list []kv) map[string]string {
	m := make(map[string]string, len(list))
	for _, e := range list {
		m[e.key] = e.value
	}
	return m
}

func (e *experiment) client() client.Experiment {
	return client.Experiment{
		ID: e.id, Name: e.name, ArtifactLocation: e.artifactLocation, LifecycleStage: e.lifecycle,
		CreationTime: e.creationTime, LastUpdateTime: e.lastUpdateTime, Tags: clientTags(e.tags),
	}
}

func (rn *run) client() client.Run {
	out := client.Run{Info: client.RunInfo{
		RunID: rn.id, RunName: rn.name, ExperimentID: rn.experimentID, UserID: rn.userID,
		Status: client.RunStatus(rn.status), StartTime: rn.startTime, ArtifactURI: rn.artifactURI, LifecycleStage: rn.lifecycle,
	}}
	if rn.endTime != nil {
		out.Info.EndTime = *rn.endTime
	}
	for _, k := range rn.metricKeys {
		p := rn.latest[k]
		out.Data.Metrics = append(out.Data.Metrics, client.Metric{Key: k, Value: p.value, Timestamp: p.timestamp, Step: p.step})
	}
	for _, p := range rn.params {
		out.Data.Params = append(out.Data.Params, client.Param{Key: p.key, Value: p.value})
	}
	out.Data.Tags = clientTags(rn.tags)
	for _, in := range rn.inputs {
		d := in.dataset
		out.Inputs.DatasetInputs = append(out.Inputs.DatasetInputs, client.DatasetInput{
			Tags:    clientTags(in.tags),
			Dataset: client.Dataset{Name: d.Name, Digest: d.Digest, SourceType: d.SourceType, Source: d.Source, Schema: d.Schema, Profile: d.Profile},
		})
	}
	return out
}

// Experiments returns every experiment, deleted ones included, ordered by
// ID (numerically; "0" is the Default experiment). It is safe for
// concurrent use.
func (s *Server) Experiments() []client.Experiment {
	s.lock()
	defer s.mu.Unlock()
	out := make([]client.Experiment, 0, len(s.experiments))
	for _, e := range s.experiments {
		out = append(out, e.client())
	}
	slices.SortFunc(out, func(a, b client.Experiment) int {
		ia, _ := strconv.Atoi(a.ID)
		ib, _ := strconv.Atoi(b.ID)
		return ia - ib
	})
	return out
}

// Runs returns every run, deleted ones included, ordered by start time and
// then ID. Data.Metrics holds the latest value per key, as runs/get answers.
// It is safe for concurrent use.
func (s *Server) Runs() []client.Run {
	s.lock()
	defer s.mu.Unlock()
	out := make([]client.Run, 0, len(s.runs))
	for _, rn := range s.runs {
		out = append(out, rn.client())
	}
	slices.SortFunc(out, func(a, b client.Run) int {
		if a.Info.StartTime != b.Info.StartTime {
			if a.Info.StartTime < b.Info.StartTime {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Info.RunID, b.Info.RunID)
	})
	return out
}

// Run returns the run with ID id and whether it exists. It is safe for
// concurrent use.
func (s *Server) Run(id string) (client.Run, bool) {
	s.lock()
	defer s.mu.Unlock()
	rn, ok := s.runs[id]
	if !ok {
		return client.Run{}, false
	}
	return rn.client(), true
}

// MetricHistory returns every stored point of metric key of run runID in
// logging order (identical points logged twice are stored once, like
// MLflow's SQL store), or nil when there are none. ±Inf values appear as
// ±math.MaxFloat64 unless [Server.StoreInf] is set. It is safe for
// concurrent use.
func (s *Server) MetricHistory(runID, key string) []client.Metric {
	s.lock()
	defer s.mu.Unlock()
	rn, ok := s.runs[runID]
	if !ok {
		return nil
	}
	var out []client.Metric
	for _, p := range rn.history[key] {
		out = append(out, client.Metric{Key: p.key, Value: p.value, Timestamp: p.timestamp, Step: p.step})
	}
	return out
}

// Params returns the params of run runID as a map, or nil when the run does
// not exist. It is safe for concurrent use.
func (s *Server) Params(runID string) map[string]string {
	s.lock()
	defer s.mu.Unlock()
	rn, ok := s.runs[runID]
	if !ok {
		return nil
	}
	return kvMap(rn.params)
}

// Tags returns the tags of run runID (system tags such as mlflow.runName
// included) as a map, or nil when the run does not exist. It is safe for
// concurrent use.
func (s *Server) Tags(runID string) map[string]string {
	s.lock()
	defer s.mu.Unlock()
	rn, ok := s.runs[runID]
	if !ok {
		return nil
	}
	return kvMap(rn.tags)
}

// Artifacts returns the artifacts uploaded for run runID through the proxied
// artifact API, keyed by their path relative to the run's artifact root
// (e.g. "model/model.pkl"), or nil when there are none. It is safe for
// concurrent use.
func (s *Server) Artifacts(runID string) map[string][]byte {
	s.lock()
	defer s.mu.Unlock()
	rn, ok := s.runs[runID]
	if !ok {
		return nil
	}
	root := runArtifactRoot(rn)
	if root == "" {
		return nil
	}
	var out map[string][]byte
	for k, v := range s.artifacts {
		if rel, ok := strings.CutPrefix(k, root+"/"); ok {
			if out == nil {
				out = make(map[string][]byte)
			}
			out[rel] = slices.Clone(v)
		}
	}
	return out
}
