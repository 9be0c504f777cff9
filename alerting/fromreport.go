package alerting

import (
	"math"
	"time"

	"github.com/mlwatch/mlwatch/evaluate"
)

// ReportSource is what an evaluate.Report does not know about itself.
type ReportSource struct {
	// Pipeline names the pipeline that ran the evaluation ("" to omit).
	Pipeline string
	// RunURL links to the run in the MLflow UI (e.g. client.ActiveRun.URL()).
	RunURL string
	// Time is the evaluation time; zero means "now" when pushed or sent.
	Time time.Time
}

// FromReport converts an evaluation report into alerts. firing holds one
// alert per breached subject and severity (the first breached check wins
// when several checks of one metric breach at the same severity, so no
// series is pushed twice). cleared holds the alerts to push as Cleared so
// that earlier breaches resolve: both severities of every subject that
// passed, and the other severity of every breached subject. The metric label
// is the check's metric, or "drift:<feature>[:<segment>]" for drift checks.
// It returns a *ValidationError (and no alerts) when the report lacks Model
// or ModelGroup or a value breaks Alert.Validate. r is not modified.
func FromReport(r *evaluate.Report, src ReportSource) (firing, cleared []Alert, err error) {
	base := Alert{Model: r.Model, ModelGroup: r.ModelGroup, Country: r.Country, Pipeline: src.Pipeline,
		RunID: r.RunID, RunURL: src.RunURL, Time: src.Time}
	return FromChecks(base, r.Checks)
}

// FromChecks is FromReport for checks without a report: base supplies the
// model, group, country, pipeline, run and time of every alert. base and
// checks are not modified.
func FromChecks(base Alert, checks []evaluate.Check) (firing, cleared []Alert, err error) {
	type key struct {
		metric string
		sev    Severity
	}
	breached := map[key]bool{}
	subjects := []string{}
	first := map[string]evaluate.Check{} // subject -> its first check, for cleared values
	for _, c := range checks {
		metric := checkMetric(c)
		if _, ok := first[metric]; !ok {
			first[metric] = c
			subjects = append(subjects, metric)
		}
		sev := Severity(c.Severity)
		if c.Passed || !sev.Valid() || breached[key{metric, sev}] {
			continue
		}
		breached[key{metric, sev}] = true
		a := base
		a.Name = string(c.Kind)
		a.Severity = sev
		a.Metric = metric
		a.Observed = floatOrNaN(c.Observed)
		a.Threshold = floatOrNaN(c.Limit)
		a.Baseline = floatOrNaN(c.Baseline)
		a.Summary = c.Message
		if err := a.Validate(); err != nil {
			return nil, nil, err
		}
		firing = append(firing, a)
	}
	for _, metric := range subjects {
		for _, sev := range []Severity{SeverityWarning, SeverityCritical} {
			if breached[key{metric, sev}] {
				continue
			}
			a := base
			a.Name, a.Severity, a.Metric = "cleared", sev, metric
			c := first[metric]
			a.Observed, a.Threshold, a.Baseline = floatOrNaN(c.Observed), floatOrNaN(c.Limit), floatOrNaN(c.Baseline)
			if err := a.Validate(); err != nil {
				return nil, nil, err
			}
			cleared = append(cleared, a)
		}
	}
	return firing, cleared, nil
}

func checkMetric(c evaluate.Check) string {
	if c.Kind != evaluate.KindDrift {
		return c.Subject()
	}
	m := "drift:" + c.Feature
	if c.Segment != "" {
		m += ":" + c.Segment
	}
	return m
}

func floatOrNaN(f *evaluate.Float) float64 {
	if f == nil {
		return math.NaN()
	}
	return float64(*f)
}
