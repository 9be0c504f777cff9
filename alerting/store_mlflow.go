package alerting

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mlwatch/mlwatch/client"
)

// DefaultStateExperiment is the MLflow experiment MLflowStore keeps its tags
// on unless told otherwise.
const DefaultStateExperiment = "mlwatch-alert-state"

// StateTagPrefix starts every state tag key: "mlwatch.alert.<hash>", where
// hash is a hex digest of the throttle key.
const StateTagPrefix = "mlwatch.alert."

// mlflowAPI is the part of *client.Client that MLflowStore uses.
type mlflowAPI interface {
	GetOrCreateExperiment(ctx context.Context, name string, opt *client.ExperimentOptions) (*client.Experiment, error)
	GetExperiment(ctx context.Context, id string) (*client.Experiment, error)
	SetExperimentTag(ctx context.Context, experimentID, key, value string) error
}

// MLflowStore is a StateStore kept as tags on a dedicated MLflow experiment
// (DefaultStateExperiment): tag "mlwatch.alert.<hash>" = last-sent Unix
// milliseconds. Every pipeline already talks to the tracking server, so the
// state survives ephemeral containers (SageMaker jobs) with no extra
// infrastructure. LastSent costs one GetExperiment; MarkSent one
// SetExperimentTag per key. Concurrent pipelines may both read "not sent"
// before either writes: the race window is one round trip, and its worst
// outcome is a duplicate notification, never a lost one. It is safe for
// concurrent use.
type MLflowStore struct {
	api  mlflowAPI
	name string

	mu    sync.Mutex
	expID string
}

// NewMLflowStore returns a store on the experiment named experiment
// (DefaultStateExperiment when ""), created on first use. c is typically a
// *client.Client.
func NewMLflowStore(c *client.Client, experiment string) (*MLflowStore, error) {
	if c == nil {
		return nil, &ConfigError{Option: "client", Reason: "nil MLflow client"}
	}
	return newMLflowStore(c, experiment), nil
}

func newMLflowStore(api mlflowAPI, experiment string) *MLflowStore {
	if experiment == "" {
		experiment = DefaultStateExperiment
	}
	return &MLflowStore{api: api, name: experiment}
}

// StateTagKey returns the experiment tag key MLflowStore uses for a
// throttle key.
func StateTagKey(key string) string { return StateTagPrefix + hashKey(key) }

// experiment returns the state experiment, resolving it once.
func (s *MLflowStore) experiment(ctx context.Context) (*client.Experiment, error) {
	s.mu.Lock()
	id := s.expID
	s.mu.Unlock()
	if id != "" {
		exp, err := s.api.GetExperiment(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("alerting: state experiment: %w", err)
		}
		return exp, nil
	}
	exp, err := s.api.GetOrCreateExperiment(ctx, s.name, nil)
	if err != nil {
		return nil, fmt.Errorf("alerting: state experiment %q: %w", s.name, err)
	}
	if exp.LifecycleStage == "deleted" {
		return nil, fmt.Errorf("alerting: state experiment %q is deleted; restore it or choose another name", s.name)
	}
	s.mu.Lock()
	s.expID = exp.ID
	s.mu.Unlock()
	return exp, nil
}

// LastSent implements StateStore with one GetExperiment.
func (s *MLflowStore) LastSent(ctx context.Context, keys []string) (map[string]time.Time, error) {
	exp, err := s.experiment(ctx)
	if err != nil {
		return nil, err
	}
	tags := make(map[string]string, len(exp.Tags))
	for _, t := range exp.Tags {
		if strings.HasPrefix(t.Key, StateTagPrefix) {
			tags[t.Key] = t.Value
		}
	}
	out := make(map[string]time.Time, len(keys))
	for _, k := range keys {
		v, ok := tags[StateTagKey(k)]
		if !ok {
			continue
		}
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			continue // a corrupt tag counts as never sent: fail open
		}
		out[k] = time.UnixMilli(ms)
	}
	return out, nil
}

// MarkSent implements StateStore with one SetExperimentTag per key.
func (s *MLflowStore) MarkSent(ctx context.Context, keys []string, t time.Time) error {
	exp, err := s.experimentID(ctx)
	if err != nil {
		return err
	}
	v := strconv.FormatInt(t.UnixMilli(), 10)
	for _, k := range keys {
		if err := s.api.SetExperimentTag(ctx, exp, StateTagKey(k), v); err != nil {
			return fmt.Errorf("alerting: set state tag: %w", err)
		}
	}
	return nil
}

func (s *MLflowStore) experimentID(ctx context.Context) (string, error) {
	s.mu.Lock()
	id := s.expID
	s.mu.Unlock()
	if id != "" {
		return id, nil
	}
	exp, err := s.experiment(ctx)
	if err != nil {
		return "", err
	}
	return exp.ID, nil
}
