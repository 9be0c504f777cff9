package alerting

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// Severity is how urgent an alert is. Only SeverityWarning and
// SeverityCritical are valid; the value is used verbatim as the "severity"
// series label, SNS message attribute and Alertmanager routing key.
type Severity string

const (
	// SeverityWarning alerts are throttled to one a day per model group.
	SeverityWarning Severity = "warning"
	// SeverityCritical alerts are sent at once and inhibit warnings for the
	// same model and metric.
	SeverityCritical Severity = "critical"
)

// Valid reports whether s is SeverityWarning or SeverityCritical.
func (s Severity) Valid() bool { return s == SeverityWarning || s == SeverityCritical }

// Alert is one breached (or cleared) evaluation check of one model.
//
// Model, ModelGroup, Metric and Severity are required; Country and Pipeline
// are optional (an empty value means the label is omitted, never sent
// empty). These six become series labels and must satisfy the label value
// rules documented on Alert.Validate. RunID, RunURL, Summary, Name and the
// numbers are carried in SNS message bodies and annotations only, never in
// series labels, so they do not add to the series cardinality.
//
// Observed, Threshold and Baseline may be NaN (Baseline NaN means "no
// baseline"); NaN and ±Inf are encoded as JSON null in SNS messages.
type Alert struct {
	// Name names the check that produced the alert, e.g. "auc_min".
	Name string
	// Severity is SeverityWarning or SeverityCritical.
	Severity Severity
	// Model is the model name (series label "model").
	Model string
	// ModelGroup groups models for notification (series label
	// "model_group"); Alertmanager sends one notification stream per group.
	ModelGroup string
	// Country is the market the model serves (series label "country"), or "".
	Country string
	// Metric is the evaluated metric key (series label "metric").
	Metric string
	// Pipeline is the pipeline that evaluated the model (series label
	// "pipeline"), or "". It is expected to be determined by model and
	// country; see the package documentation on cardinality.
	Pipeline string
	// RunID is the MLflow run that produced the evaluation. Never a label.
	RunID string
	// RunURL links to the run in the MLflow UI. Never a label.
	RunURL string
	// Observed is the metric value that was evaluated.
	Observed float64
	// Threshold is the limit the value was checked against.
	Threshold float64
	// Baseline is the reference value (e.g. the champion's), NaN if none.
	Baseline float64
	// Summary is a one-line human description.
	Summary string
	// Time is when the evaluation happened; the zero value means "now" at
	// send time.
	Time time.Time
}

// Label names of the breach series, exported so that rules and tests can be
// checked against them.
const (
	LabelModel      = "model"
	LabelModelGroup = "model_group"
	LabelCountry    = "country"
	LabelMetric     = "metric"
	LabelPipeline   = "pipeline"
	LabelSeverity   = "severity"
)

// SeriesLabelNames returns the label names (besides __name__) that the breach
// series may carry, sorted. The returned slice is a new copy.
func SeriesLabelNames() []string {
	return []string{LabelCountry, LabelMetric, LabelModel, LabelModelGroup, LabelPipeline, LabelSeverity}
}

// Limits on alert label values.
const (
	// MaxLabelValueLen is the maximum length in bytes of a label value.
	MaxLabelValueLen = 128
	// MaxModelGroupLen is the maximum length of ModelGroup, which appears in
	// notification subjects that must stay under 100 characters.
	MaxModelGroupLen = 40
)

// Validate checks that a can be pushed and published: a valid severity,
// non-empty Model, ModelGroup and Metric, and label values that are valid
// UTF-8, at most MaxLabelValueLen bytes, free of control characters and of
// '"' and '\' (Alertmanager 0.25 templates cannot escape JSON, so the
// library guarantees values need no escaping). ModelGroup must further be
// ASCII letters, digits, '.', '_' or '-', at most MaxModelGroupLen bytes.
// It returns a *ValidationError (errors.Is ErrInvalidAlert). a is not
// modified.
func (a Alert) Validate() error {
	if !a.Severity.Valid() {
		return &ValidationError{Field: "severity", Rule: "must be warning or critical", Value: truncate(string(a.Severity), 64)}
	}
	for _, f := range [...]struct {
		name, value string
		required    bool
	}{
		{LabelModel, a.Model, true},
		{LabelModelGroup, a.ModelGroup, true},
		{LabelMetric, a.Metric, true},
		{LabelCountry, a.Country, false},
		{LabelPipeline, a.Pipeline, false},
	} {
		if f.value == "" {
			if f.required {
				return &ValidationError{Field: f.name, Rule: "must not be empty"}
			}
			continue
		}
		if rule := checkLabelValue(f.value); rule != "" {
			return &ValidationError{Field: f.name, Rule: rule, Value: truncate(f.value, 64)}
		}
	}
	if len(a.ModelGroup) > MaxModelGroupLen {
		return &ValidationError{Field: LabelModelGroup, Rule: fmt.Sprintf("longer than %d bytes", MaxModelGroupLen), Value: truncate(a.ModelGroup, 64)}
	}
	for i := 0; i < len(a.ModelGroup); i++ {
		c := a.ModelGroup[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return &ValidationError{Field: LabelModelGroup, Rule: "only ASCII letters, digits, '.', '_' and '-' allowed", Value: truncate(a.ModelGroup, 64)}
		}
	}
	return nil
}

// checkLabelValue returns the rule a label value breaks, or "".
func checkLabelValue(v string) string {
	if len(v) > MaxLabelValueLen {
		return fmt.Sprintf("longer than %d bytes", MaxLabelValueLen)
	}
	if !utf8.ValidString(v) {
		return "not valid UTF-8"
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return "contains a control character"
		}
		if r == '"' || r == '\\' {
			return `contains '"' or '\'`
		}
	}
	return ""
}

// SanitizeLabelValue returns v changed so that it passes Alert.Validate's
// value rules: invalid UTF-8, control characters, '"' and '\' become '_',
// and the result is cut to MaxLabelValueLen bytes on a rune boundary. It
// is a helper for callers that prefer repairing to rejecting.
func SanitizeLabelValue(v string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(v, "_") {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' || r == '"' || r == '\\' {
			r = '_'
		}
		if b.Len()+utf8.RuneLen(r) > MaxLabelValueLen {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// labels returns the series labels of a (without __name__), in sorted name
// order, omitting empty optional values.
func (a Alert) labels(dst []Label) []Label {
	if a.Country != "" {
		dst = append(dst, Label{LabelCountry, a.Country})
	}
	dst = append(dst, Label{LabelMetric, a.Metric}, Label{LabelModel, a.Model}, Label{LabelModelGroup, a.ModelGroup})
	if a.Pipeline != "" {
		dst = append(dst, Label{LabelPipeline, a.Pipeline})
	}
	return append(dst, Label{LabelSeverity, string(a.Severity)})
}

// Key identifies the alert's series: all label values, so two alerts with
// the same Key are the same breach.
func (a Alert) Key() string {
	return strings.Join([]string{a.ModelGroup, a.Model, a.Country, a.Pipeline, a.Metric, string(a.Severity)}, "\x00")
}

// hashKey returns a short stable hex digest of the given parts.
func hashKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// finite reports whether v is neither NaN nor ±Inf.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
