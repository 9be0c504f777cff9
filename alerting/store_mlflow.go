package alerting

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
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

// MLflowStoreOption configures an MLflowStore.
type MLflowStoreOption func(*MLflowStore) error

// WithClaimSettle sets how long Claim waits between writing its claim and
// reading back which claim won (default 1s; Claim waits it twice). It
// should exceed the tracking server's request latency under load; 0 claims
// without waiting.
func WithClaimSettle(d time.Duration) MLflowStoreOption {
	return func(s *MLflowStore) error {
		if d < 0 {
			return &ConfigError{Option: "claim_settle", Reason: "must not be negative"}
		}
		s.settle = d
		return nil
	}
}

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
// SetExperimentTag per key. Pipelines of one model group often run at the
// same time (one per country, same schedule), so a plain read-then-write
// would let each of them send the group's daily warning; MLflowStore is
// therefore a Claimer: claimants write a nonce, wait the settle time
// (WithClaimSettle, default 1s) twice, reading back after each wait, and
// only the last writer sends. MLflow has no compare-and-set, so a race
// remains (a claim whose write is delayed by more than two settle times);
// it can only cause a duplicate notification, never a lost one. An
// undelivered claim is released. A claim adds about 2 settle times to the
// direct path's latency. It is safe for concurrent use.
type MLflowStore struct {
	api    mlflowAPI
	name   string
	settle time.Duration

	mu    sync.Mutex
	expID string
}

// NewMLflowStore returns a store on the experiment named experiment
// (DefaultStateExperiment when ""), created on first use. c is typically a
// *client.Client.
func NewMLflowStore(c *client.Client, experiment string, opts ...MLflowStoreOption) (*MLflowStore, error) {
	if c == nil {
		return nil, &ConfigError{Option: "client", Reason: "nil MLflow client"}
	}
	if experiment == "" {
		experiment = DefaultStateExperiment
	}
	s := &MLflowStore{api: c, name: experiment, settle: time.Second}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	return s, nil
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
		v, _, _ = strings.Cut(v, ":") // "<ms>:<claim nonce>" while claimed
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
		if err := s.setTag(ctx, exp, StateTagKey(k), v); err != nil {
			return fmt.Errorf("alerting: set state tag: %w", err)
		}
	}
	return nil
}

// setTag sets an experiment tag, retrying the race MLflow's SQL store has
// when two clients create the same new tag at once: one of them gets a 400
// "UNIQUE constraint failed" (SQLite; "duplicate key"/"Duplicate entry" on
// PostgreSQL/MySQL). Once the row exists, setting it again updates it.
func (s *MLflowStore) setTag(ctx context.Context, expID, key, value string) error {
	var err error
	for attempt := range 4 {
		if err = s.api.SetExperimentTag(ctx, expID, key, value); err == nil || !isTagInsertRace(err) {
			return err
		}
		if sleep(ctx, time.Duration(10*(attempt+1))*time.Millisecond) != nil {
			return err
		}
	}
	return err
}

func isTagInsertRace(err error) bool {
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 400 {
		return false
	}
	m := strings.ToLower(ae.Message)
	return strings.Contains(m, "unique constraint") || strings.Contains(m, "duplicate key") ||
		strings.Contains(m, "duplicate entry") || strings.Contains(m, "integrityerror")
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

// Claim implements Claimer: it writes "<now ms>:<random nonce>" to every
// key's tag, then twice waits the settle time and reads the tags back, and
// returns the keys still holding its own value. Of several concurrent
// claimants the last writer of a key wins (it reads after every earlier
// write), so at least one wins; two can both win only if one's write lands
// more than two settle times after the other's, after its last read-back.
func (s *MLflowStore) Claim(ctx context.Context, keys []string, now time.Time) ([]string, error) {
	id, err := s.experimentID(ctx)
	if err != nil {
		return nil, err
	}
	var nonce [8]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("alerting: claim nonce: %w", err)
	}
	v := strconv.FormatInt(now.UnixMilli(), 10) + ":" + hex.EncodeToString(nonce[:])
	for _, k := range keys {
		if err := s.setTag(ctx, id, StateTagKey(k), v); err != nil {
			return nil, fmt.Errorf("alerting: claim state tag: %w", err)
		}
	}
	// Read back twice, a settle time apart: a claim whose write was slow and
	// landed after our first read-back still takes the key from us.
	won := keys
	for range 2 {
		if len(won) == 0 {
			break
		}
		if err := sleep(ctx, s.settle); err != nil {
			return nil, err
		}
		exp, err := s.api.GetExperiment(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("alerting: state experiment: %w", err)
		}
		tags := make(map[string]string, len(exp.Tags))
		for _, t := range exp.Tags {
			tags[t.Key] = t.Value
		}
		still := won[:0:0]
		for _, k := range won {
			if tags[StateTagKey(k)] == v {
				still = append(still, k)
			}
		}
		won = still
	}
	return won, nil
}

// Release implements Claimer: it resets the keys' tags to "0" (never sent).
func (s *MLflowStore) Release(ctx context.Context, keys []string) error {
	id, err := s.experimentID(ctx)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := s.setTag(ctx, id, StateTagKey(k), "0"); err != nil {
			return fmt.Errorf("alerting: release state tag: %w", err)
		}
	}
	return nil
}
