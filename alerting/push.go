package alerting

import (
	"context"
	"math"
)

// BreachState is what a push says about an alert's check.
type BreachState int

const (
	// Breached pushes mlwatch_eval_breach = 1.
	Breached BreachState = iota + 1
	// Cleared pushes mlwatch_eval_breach = 0: the alert resolves at the next
	// rule evaluation and the series stays alive.
	Cleared
	// Ended pushes a staleness marker on all three series: the alert
	// resolves and the series end (use when the model or check goes away).
	Ended
)

// Push writes the breach, observed and threshold gauges of every alert in
// the given state (Breached: 1, Cleared: 0, Ended: stale markers). An
// alert's Time is its sample time: zero means now, a time in the future is
// clamped to now, and a time not after the last one pushed for the same
// series is moved 1 ms past it, so samples of a series always increase (a
// burst of pushes within one millisecond can thus run a few ms ahead of the
// clock, never more). The Writer remembers one timestamp per series pushed,
// so its memory is bounded by the series cardinality.
// Alerts are validated first (Alert.Validate); invalid ones are returned in
// a *DeliveryError together with those a failed request could not deliver,
// while the valid ones are still pushed. alerts is not modified.
func (w *Writer) Push(ctx context.Context, state BreachState, alerts ...Alert) error {
	if state < Breached || state > Ended {
		return &ValidationError{Field: "state", Rule: "must be Breached, Cleared or Ended"}
	}
	const perRequest = 500 // alerts per request: 1,500 samples, under Prometheus' default of 2,000
	var failed []Alert
	var errs []error
	valid := make([]Alert, 0, len(alerts))
	for _, a := range alerts {
		if err := a.Validate(); err != nil {
			failed = append(failed, a)
			errs = append(errs, err)
			continue
		}
		valid = append(valid, a)
	}
	for len(valid) > 0 {
		chunk := valid[:min(perRequest, len(valid))]
		valid = valid[len(chunk):]
		if err := w.write(ctx, w.breachSeries(state, chunk)); err != nil {
			failed = append(failed, chunk...)
			errs = append(errs, err)
		}
	}
	if len(failed) > 0 {
		return &DeliveryError{Failed: failed, Err: joinErrors(errs...)}
	}
	return nil
}

// breachSeries builds the three series per alert, assigning timestamps.
func (w *Writer) breachSeries(state BreachState, alerts []Alert) []Series {
	now := w.now().UnixMilli()
	out := make([]Series, 0, 3*len(alerts))
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, a := range alerts {
		ts := now
		if !a.Time.IsZero() {
			ts = min(a.Time.UnixMilli(), now)
		}
		key := a.Key()
		if last, ok := w.last[key]; ok && ts <= last {
			ts = last + 1
		}
		w.last[key] = ts
		base := a.labels(make([]Label, 0, 7))
		breach := 1.0
		if state == Cleared {
			breach = 0
		}
		for _, m := range [...]struct {
			name  string
			value float64
		}{
			{MetricBreach, breach},
			{MetricObserved, a.Observed},
			{MetricThreshold, a.Threshold},
		} {
			v := m.value
			if state == Ended {
				v = math.Float64frombits(StaleNaN)
			}
			labels := make([]Label, 0, len(base)+1)
			labels = append(labels, Label{"__name__", m.name})
			labels = append(labels, base...)
			out = append(out, Series{Labels: labels, Samples: []Sample{{Value: v, Timestamp: ts}}})
		}
	}
	return out
}
