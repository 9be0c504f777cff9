package alerting

import (
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"time"
)

// Message is the JSON body of every SNS notification about mlwatch alerts,
// whether Alertmanager sent it (config/local/mlwatch.tmpl, Source
// "alertmanager") or the library published it directly (Source "mlwatch").
// Subscribers parse one schema. Numbers are in Annotations as strings
// ("NaN" when not a number), as Alertmanager annotations are.
type Message struct {
	// Version of the schema, "1".
	Version string `json:"version"`
	// Source is "alertmanager" or "mlwatch".
	Source string `json:"source"`
	// Status is "firing" or "resolved".
	Status string `json:"status"`
	// Receiver is the Alertmanager receiver; empty for direct messages.
	Receiver string `json:"receiver,omitempty"`
	// GroupLabels holds model_group.
	GroupLabels map[string]string `json:"groupLabels"`
	// CommonLabels are the labels all Alerts share.
	CommonLabels map[string]string `json:"commonLabels"`
	// Alerts are the alerts of the notification.
	Alerts []MessageAlert `json:"alerts"`
}

// MessageAlert is one alert of a Message.
type MessageAlert struct {
	// Status is "firing" or "resolved".
	Status string `json:"status"`
	// Labels: alertname, model, model_group, metric, severity, and country
	// and pipeline when set.
	Labels map[string]string `json:"labels"`
	// Annotations: summary, observed, threshold; direct messages add
	// baseline, check, run_id and run_url when known.
	Annotations map[string]string `json:"annotations"`
	// StartsAt is when the alert started (Alertmanager) or the evaluation
	// time (direct).
	StartsAt time.Time `json:"startsAt"`
	// EndsAt is when the alert ended; zero or in the future while firing.
	EndsAt time.Time `json:"endsAt"`
	// Fingerprint identifies the alert's label set.
	Fingerprint string `json:"fingerprint"`
}

// ParseMessage decodes an SNS message body of either source. It returns an
// error when b is not a version "1" Message.
func ParseMessage(b []byte) (*Message, error) {
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("alerting: parse message: %w", err)
	}
	if m.Version != "1" {
		return nil, fmt.Errorf("alerting: parse message: unsupported version %q", truncate(m.Version, 16))
	}
	return &m, nil
}

// formatFloat renders v for annotations ("NaN", "+Inf" like Prometheus).
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// messageAlert converts a to the message schema.
func messageAlert(a Alert, status string, at time.Time) MessageAlert {
	labels := map[string]string{"alertname": AlertName}
	for _, l := range a.labels(make([]Label, 0, 6)) {
		labels[l.Name] = l.Value
	}
	ann := map[string]string{
		"observed":  formatFloat(a.Observed),
		"threshold": formatFloat(a.Threshold),
	}
	if a.Summary != "" {
		ann["summary"] = a.Summary
	} else {
		ann["summary"] = defaultSummary(a)
	}
	if finite(a.Baseline) {
		ann["baseline"] = formatFloat(a.Baseline)
	}
	for k, v := range map[string]string{"check": a.Name, "run_id": a.RunID, "run_url": a.RunURL} {
		if v != "" {
			ann[k] = v
		}
	}
	t := a.Time
	if t.IsZero() {
		t = at
	}
	return MessageAlert{Status: status, Labels: labels, Annotations: ann, StartsAt: t.UTC(), Fingerprint: hashKey(a.Key())}
}

func defaultSummary(a Alert) string {
	s := a.Model + ": " + a.Metric + " breached its " + string(a.Severity) + " threshold (model_group " + a.ModelGroup
	if a.Country != "" {
		s += ", country " + a.Country
	}
	if a.Pipeline != "" {
		s += ", pipeline " + a.Pipeline
	}
	return s + ")"
}

// newMessage builds a direct Message for alerts of one model group.
func newMessage(status string, at time.Time, alerts ...Alert) *Message {
	m := &Message{Version: "1", Source: "mlwatch", Status: status}
	for i, a := range alerts {
		ma := messageAlert(a, status, at)
		m.Alerts = append(m.Alerts, ma)
		if i == 0 {
			m.CommonLabels = maps.Clone(ma.Labels)
			continue
		}
		for k, v := range m.CommonLabels {
			if ma.Labels[k] != v {
				delete(m.CommonLabels, k)
			}
		}
	}
	m.GroupLabels = map[string]string{LabelModelGroup: m.CommonLabels[LabelModelGroup]}
	return m
}
