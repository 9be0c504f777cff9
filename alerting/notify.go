package alerting

import (
	"context"
	"fmt"
	"strings"
)

// Notifier delivers alerts to people or systems (an SNS topic, a chat
// webhook). Notify returns nil only when every alert was delivered;
// otherwise a *DeliveryError lists those that were not. Implementations in
// this package are safe for concurrent use and do not modify alerts.
type Notifier interface {
	Notify(ctx context.Context, alerts []Alert) error
}

// group is the alerts of one model group and severity: one notification,
// like one Alertmanager aggregation group.
type group struct {
	modelGroup string
	severity   Severity
	alerts     []Alert
}

// MaxAlertsPerMessage is the most alerts one notification carries; a larger
// group is split, keeping every message far below SNS's 256 KiB.
const MaxAlertsPerMessage = 100

// groupAlerts validates alerts and splits the valid ones into groups by
// (model_group, severity), in first-seen order, at most MaxAlertsPerMessage
// alerts each. Invalid alerts are returned with their error.
func groupAlerts(alerts []Alert) (groups []*group, invalid []Alert, err error) {
	index := map[string]*group{}
	var errs []error
	for _, a := range alerts {
		if e := a.Validate(); e != nil {
			invalid = append(invalid, a)
			errs = append(errs, e)
			continue
		}
		k := a.ModelGroup + "\x00" + string(a.Severity)
		g := index[k]
		if g == nil || len(g.alerts) == MaxAlertsPerMessage {
			g = &group{modelGroup: a.ModelGroup, severity: a.Severity}
			index[k] = g
			groups = append(groups, g)
		}
		g.alerts = append(g.alerts, a)
	}
	if len(errs) > 0 {
		err = errs[0]
	}
	return groups, invalid, err
}

// MaxSubjectLen is the longest subject sent (SNS requires fewer than 100
// characters).
const MaxSubjectLen = 99

// subject is the human one-line subject of a group's notification: ASCII
// printable only, at most MaxSubjectLen characters.
func (g *group) subject(status string) string {
	var s string
	if len(g.alerts) == 1 {
		a := g.alerts[0]
		s = fmt.Sprintf("[%s] mlwatch %s: %s %s model_group=%s", strings.ToUpper(status), g.severity, a.Model, a.Metric, g.modelGroup)
	} else {
		s = fmt.Sprintf("[%s] mlwatch %s breach model_group=%s (%d alerts)", strings.ToUpper(status), g.severity, g.modelGroup, len(g.alerts))
	}
	return SanitizeSubject(s)
}

// SanitizeSubject returns s made safe as an SNS/e-mail subject: every
// character that is not printable ASCII becomes '?', runs of whitespace
// (including newlines) become one space, and the result is cut to
// MaxSubjectLen characters.
func SanitizeSubject(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f':
			if !space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = true
			continue
		case r < 0x20 || r > 0x7e:
			r = '?'
		}
		space = false
		b.WriteRune(r)
		if b.Len() >= MaxSubjectLen {
			break
		}
	}
	return strings.TrimRight(b.String(), " ")
}

// modelAttr is the "model" attribute: the model when the group has one,
// else "multiple" (as the Alertmanager template does).
func (g *group) modelAttr() string {
	m := g.alerts[0].Model
	for _, a := range g.alerts[1:] {
		if a.Model != m {
			return "multiple"
		}
	}
	return m
}
