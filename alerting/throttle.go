package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// StateStore remembers when throttle keys were last notified, so throttling
// works across processes and ephemeral containers. Implementations must be
// safe for concurrent use within one process.
type StateStore interface {
	// LastSent returns the last-sent time of each key that has one; keys
	// never sent are absent from the map.
	LastSent(ctx context.Context, keys []string) (map[string]time.Time, error)
	// MarkSent records t as the last-sent time of every key.
	MarkSent(ctx context.Context, keys []string, t time.Time) error
}

// Claimer is implemented by state stores shared between processes that can
// arbitrate concurrent senders: Claim marks keys as being sent now and
// returns those this caller won (at least one of several concurrent
// claimants of a key wins); Release undoes the claims of keys whose
// notification could not be delivered, so a later run sends it. Throttler
// uses it when its store implements it (MLflowStore does).
type Claimer interface {
	Claim(ctx context.Context, keys []string, now time.Time) (won []string, err error)
	Release(ctx context.Context, keys []string) error
}

// ThrottleOption configures a Throttler.
type ThrottleOption func(*Throttler) error

// WithWarningWindow sets how long after a warning no other warning with the
// same key is sent (default 24h).
func WithWarningWindow(d time.Duration) ThrottleOption {
	return func(t *Throttler) error {
		if d <= 0 {
			return &ConfigError{Option: "warning_window", Reason: "must be positive"}
		}
		t.warnWindow = d
		return nil
	}
}

// WithCriticalWindow sets how long after a critical alert the same model
// group, model and metric is not notified again (default 1h).
func WithCriticalWindow(d time.Duration) ThrottleOption {
	return func(t *Throttler) error {
		if d <= 0 {
			return &ConfigError{Option: "critical_window", Reason: "must be positive"}
		}
		t.critWindow = d
		return nil
	}
}

// WithWarningKey sets the throttle key of warnings (default: the model
// group, so one warning notification per model group per window).
func WithWarningKey(key func(Alert) string) ThrottleOption {
	return func(t *Throttler) error {
		if key == nil {
			return &ConfigError{Option: "warning_key", Reason: "nil key function"}
		}
		t.warnKey = key
		return nil
	}
}

// WithThrottleClock sets the clock (time.Now by default); for tests.
func WithThrottleClock(now func() time.Time) ThrottleOption {
	return func(t *Throttler) error {
		if now == nil {
			return &ConfigError{Option: "clock", Reason: "nil clock"}
		}
		t.now = now
		return nil
	}
}

// WithThrottleLogger logs state-store failures to l (silent by default).
func WithThrottleLogger(l *slog.Logger) ThrottleOption {
	return func(t *Throttler) error {
		if l == nil {
			return &ConfigError{Option: "logger", Reason: "nil *slog.Logger"}
		}
		t.logger = l
		return nil
	}
}

// Throttler decides which alerts of the direct notification path may be
// sent: at most one warning per key (model group by default) per warning
// window, and criticals at once but not again for the same model group,
// model and metric within the critical window. Alerts of one Filter call
// that share a key are all allowed (they go out in one grouped message).
// State lives in a StateStore. It is safe for concurrent use. Processes
// sharing a store that is not a Claimer may both send within the
// read-then-write window (at worst a duplicate notification, never a lost
// one); with a Claimer (MLflowStore) concurrent senders of one key are
// arbitrated so that normally exactly one sends.
type Throttler struct {
	store      StateStore
	warnWindow time.Duration
	critWindow time.Duration
	warnKey    func(Alert) string
	now        func() time.Time
	logger     *slog.Logger
}

// NewThrottler returns a Throttler keeping its state in store. It returns a
// *ConfigError when store is nil or an option is invalid.
func NewThrottler(store StateStore, opts ...ThrottleOption) (*Throttler, error) {
	if store == nil {
		return nil, &ConfigError{Option: "store", Reason: "nil state store"}
	}
	t := &Throttler{
		store:      store,
		warnWindow: 24 * time.Hour,
		critWindow: time.Hour,
		warnKey:    func(a Alert) string { return a.ModelGroup },
		now:        time.Now,
		logger:     slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		if err := o(t); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// ThrottleKey returns the state key of a: "warning\x00<warning key>" or
// "critical\x00<model_group>\x00<model>\x00<metric>".
func (t *Throttler) ThrottleKey(a Alert) string {
	if a.Severity == SeverityCritical {
		return "critical\x00" + a.ModelGroup + "\x00" + a.Model + "\x00" + a.Metric
	}
	return "warning\x00" + t.warnKey(a)
}

func (t *Throttler) window(a Alert) time.Duration {
	if a.Severity == SeverityCritical {
		return t.critWindow
	}
	return t.warnWindow
}

// Filter splits alerts into those to send now and those suppressed because
// their key was notified within its window. When the store cannot be read
// it fails open: every alert is returned in send together with the error,
// because a duplicate alert is better than a lost one. alerts is not
// modified.
func (t *Throttler) Filter(ctx context.Context, alerts []Alert) (send, suppressed []Alert, err error) {
	if len(alerts) == 0 {
		return nil, nil, nil
	}
	keys := make([]string, 0, len(alerts))
	for _, a := range alerts {
		keys = append(keys, t.ThrottleKey(a))
	}
	last, err := t.store.LastSent(ctx, keys)
	if err != nil {
		t.logger.WarnContext(ctx, "alerting: throttle state unreadable, sending anyway", "error", err.Error())
		return append([]Alert(nil), alerts...), nil, fmt.Errorf("alerting: read throttle state: %w", err)
	}
	now := t.now()
	var sendKeys []string
	for i, a := range alerts {
		// A last-sent time more than a minute in the future (a skewed clock
		// elsewhere) is ignored rather than trusted to suppress for a long time.
		if ts, ok := last[keys[i]]; ok && now.Sub(ts) < t.window(a) && !ts.After(now.Add(time.Minute)) {
			suppressed = append(suppressed, a)
			continue
		}
		send = append(send, a)
		sendKeys = append(sendKeys, keys[i])
	}
	cl, ok := t.store.(Claimer)
	if !ok || len(send) == 0 {
		return send, suppressed, nil
	}
	won, err := cl.Claim(ctx, uniq(sendKeys), now)
	if err != nil {
		t.logger.WarnContext(ctx, "alerting: throttle claim failed, sending anyway", "error", err.Error())
		return send, suppressed, fmt.Errorf("alerting: claim throttle keys: %w", err)
	}
	isWon := make(map[string]bool, len(won))
	for _, k := range won {
		isWon[k] = true
	}
	claimed := send[:0:0]
	for i, a := range send {
		if isWon[sendKeys[i]] {
			claimed = append(claimed, a)
		} else {
			suppressed = append(suppressed, a) // a concurrent pipeline sends this key
		}
	}
	return claimed, suppressed, nil
}

func uniq(keys []string) []string {
	seen := make(map[string]bool, len(keys))
	out := keys[:0:0]
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// Release gives back the claims of alerts that could not be delivered (see
// Claimer); it does nothing when the store is not a Claimer.
func (t *Throttler) Release(ctx context.Context, undelivered []Alert) error {
	cl, ok := t.store.(Claimer)
	if !ok || len(undelivered) == 0 {
		return nil
	}
	keys := make([]string, 0, len(undelivered))
	for _, a := range undelivered {
		keys = append(keys, t.ThrottleKey(a))
	}
	if err := cl.Release(ctx, uniq(keys)); err != nil {
		return fmt.Errorf("alerting: release throttle keys: %w", err)
	}
	return nil
}

// Record marks the keys of sent alerts as notified now.
func (t *Throttler) Record(ctx context.Context, sent []Alert) error {
	if len(sent) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var keys []string
	for _, a := range sent {
		k := t.ThrottleKey(a)
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	if err := t.store.MarkSent(ctx, keys, t.now()); err != nil {
		return fmt.Errorf("alerting: write throttle state: %w", err)
	}
	return nil
}

// ThrottledNotifier sends through another Notifier only what its Throttler
// lets through, and records what was delivered. It is safe for concurrent
// use.
type ThrottledNotifier struct {
	next Notifier
	th   *Throttler
}

// NewThrottledNotifier wraps next with th. It returns a *ConfigError when
// either is nil.
func NewThrottledNotifier(next Notifier, th *Throttler) (*ThrottledNotifier, error) {
	if next == nil || th == nil {
		return nil, &ConfigError{Option: "notifier", Reason: "nil notifier or throttler"}
	}
	return &ThrottledNotifier{next: next, th: th}, nil
}

// Notify filters alerts (Throttler.Filter), sends the rest and records the
// delivered ones. Suppressed alerts are not an error. The error is the
// next notifier's *DeliveryError when some were not delivered (they are not
// recorded, so a later call retries them), or a state-store error joined to
// it: after a store read error everything is sent (fail open); after a
// store write error the alerts were delivered but may be sent again.
func (n *ThrottledNotifier) Notify(ctx context.Context, alerts []Alert) error {
	send, _, ferr := n.th.Filter(ctx, alerts)
	if len(send) == 0 {
		return ferr
	}
	nerr := n.next.Notify(ctx, send)
	delivered := send
	var undelivered []Alert
	var de *DeliveryError
	switch {
	case errors.As(nerr, &de):
		failed := map[string]bool{}
		for _, a := range de.Failed {
			failed[a.Key()] = true
		}
		delivered = nil
		for _, a := range send {
			if failed[a.Key()] {
				undelivered = append(undelivered, a)
			} else {
				delivered = append(delivered, a)
			}
		}
	case nerr != nil:
		delivered, undelivered = nil, send
	}
	// Release only keys none of whose alerts went out.
	deliveredKey := map[string]bool{}
	for _, a := range delivered {
		deliveredKey[n.th.ThrottleKey(a)] = true
	}
	var release []Alert
	for _, a := range undelivered {
		if !deliveredKey[n.th.ThrottleKey(a)] {
			release = append(release, a)
		}
	}
	lerr := n.th.Release(ctx, release)
	rerr := n.th.Record(ctx, delivered)
	return joinErrors(nerr, ferr, lerr, rerr)
}
