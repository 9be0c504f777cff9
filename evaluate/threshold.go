package evaluate

import (
	"fmt"
	"github.com/mlwatch/mlwatch/client"
	"math"
	"strconv"
)

// Metrics maps a metric key to its value, as logged to MLflow (latest value per
// key). Functions in this package never modify a Metrics they are given.
type Metrics map[string]float64

// Benchmark is the baseline a candidate is compared against: its metrics and
// where they came from.
type Benchmark struct {
	Metrics Metrics
	Source  BaselineSource
}

// ulpTolerance is the relative slack in every comparison: four units in the last
// place of the largest magnitude involved. It absorbs the rounding of one
// subtraction (0.85 - 0.8 = 0.04999999999999993) and nothing a person would
// call a real difference.
const ulpTolerance = 4 * 0x1p-52

// tol returns the absolute comparison slack for the given operands, ignoring
// non-finite ones.
func tol(vs ...float64) float64 {
	m := 0.0
	for _, v := range vs {
		if a := math.Abs(v); !math.IsInf(a, 0) && !math.IsNaN(a) && a > m {
			m = a
		}
	}
	return ulpTolerance * m
}

// Evaluate applies every rule of rules to candidate, comparing against baseline,
// and returns all checks, passed and failed. baseline may be nil (then every
// rule that needs a benchmark follows its MissingPolicy.Baseline). It is pure: it
// does no I/O and modifies none of its inputs. ±math.MaxFloat64 values (MLflow's
// SQL store encoding of ±Inf) are read as ±Inf. The report's Benchmark has Kind
// SourceStatic; use EvaluateAgainst to carry a resolved benchmark's source.
func Evaluate(candidate, baseline Metrics, rules RuleSet) Report {
	var b *Benchmark
	if baseline != nil {
		b = &Benchmark{Metrics: baseline, Source: BaselineSource{Kind: SourceStatic, Reason: "baseline metrics supplied by the caller"}}
	}
	return EvaluateAgainst(candidate, b, rules)
}

// EvaluateAgainst is Evaluate with a resolved Benchmark (see ResolveBenchmark),
// whose Source is named in every message and in Report.Benchmark. bench may be
// nil. It is pure and modifies none of its inputs.
func EvaluateAgainst(candidate Metrics, bench *Benchmark, rules RuleSet) Report {
	rep := Report{Model: rules.Model, ModelGroup: rules.Group, Country: rules.Country, Checks: make([]Check, 0, 2*len(rules.Rules))}
	var baseline Metrics
	src := ""
	if bench != nil {
		s := bench.Source
		s.RunIDs = append([]string(nil), s.RunIDs...)
		rep.Benchmark = &s
		baseline = bench.Metrics
		src = s.Describe()
	}
	for _, r := range rules.Rules {
		rep.Checks = evalRule(rep.Checks, candidate, baseline, src, r)
	}
	return rep
}

// evalRule appends the checks of one rule to out.
func evalRule(out []Check, candidate, baseline Metrics, src string, r MetricRule) []Check {
	sev := r.Severity.withDefaults()
	miss := r.Missing.withDefaults()
	m := r.Metric
	c, ok := candidate[m]
	if !ok || math.IsNaN(c) {
		msg := fmt.Sprintf("%s is missing from the candidate run", m)
		if ok {
			msg = fmt.Sprintf("%s is NaN (not a number) in the candidate run; treated as missing", m)
		}
		return append(out, Check{Kind: KindMissing, Metric: m, Method: "candidate", Severity: miss.Candidate, Message: msg})
	}
	c = client.NormalizeInf(c)
	if r.Threshold != nil {
		vals := make([]Float, 2)
		vals[0], vals[1] = Float(c), Float(*r.Threshold)
		out = append(out, thresholdCheck(m, r.Direction, &vals[0], &vals[1], sev.Threshold))
	}
	if !r.needsBaseline() {
		return out
	}
	b, ok := baseline[m]
	if !ok || math.IsNaN(b) {
		what := "missing from"
		if ok {
			what = "NaN in"
		}
		ck := Check{Kind: KindMissing, Metric: m, Observed: F(c), BaselineSource: src, Method: "baseline", Severity: miss.BaselineSeverity}
		if src == "" {
			ck.Message = fmt.Sprintf("%s has no benchmark to compare with", m)
		} else {
			ck.Message = fmt.Sprintf("%s is %s the benchmark (%s)", m, what, src)
		}
		if miss.Baseline == BaselineIgnore {
			ck.Passed = true
			ck.Message += "; comparison skipped (missing.baseline: ignore)"
		} else {
			ck.Message += "; cannot compare"
		}
		return append(out, ck)
	}
	b = client.NormalizeInf(b)
	cmp := comparison{metric: m, dir: r.Direction, c: c, b: b, src: src}
	cmp.desc = cmp.describe()
	cmp.vals = make([]Float, 0, 12) // backs the Observed/Limit/Baseline pointers of this rule's checks
	if v := r.MinAbsoluteChange; v != nil {
		out = append(out, cmp.minAbs(*v, sev.MinChange))
	}
	if v := r.MinRelativeChange; v != nil {
		out = append(out, cmp.minRel(*v, r.MinAbsoluteChange != nil, sev.MinChange))
	}
	if v := r.MaxRegression; v != nil {
		out = append(out, cmp.maxAbs(*v, sev.MaxRegression))
	}
	if v := r.MaxRelativeRegression; v != nil {
		out = append(out, cmp.maxRel(*v, r.MaxRegression != nil, sev.MaxRegression))
	}
	return out
}

func thresholdCheck(m string, dir Direction, obs, limit *Float, sev Severity) Check {
	c, t := float64(*obs), float64(*limit)
	ck := Check{Kind: KindThreshold, Metric: m, Observed: obs, Limit: limit, Severity: sev}
	slack := tol(c, t)
	cs, ts := num(c), num(t)
	if dir == HigherIsBetter {
		ck.Method = "candidate >= threshold"
		ck.Passed = c >= t-slack
		if ck.Passed {
			ck.Message = m + " " + cs + " meets the threshold (at least " + ts + ")"
		} else {
			ck.Message = m + " " + cs + " is below the threshold " + ts + " (must be at least " + ts + ")"
		}
		return ck
	}
	ck.Method = "candidate <= threshold"
	ck.Passed = c <= t+slack
	if ck.Passed {
		ck.Message = m + " " + cs + " meets the threshold (at most " + ts + ")"
	} else {
		ck.Message = m + " " + cs + " is above the threshold " + ts + " (must be at most " + ts + ")"
	}
	return ck
}

// comparison holds one candidate/baseline pair.
type comparison struct {
	metric string
	dir    Direction
	c, b   float64
	src    string
	desc   string  // describe(), computed once per rule
	vals   []Float // arena for the checks' value pointers; never grows past its capacity
}

// f returns a pointer to v inside the arena (one allocation per rule instead
// of three per check).
func (p *comparison) f(v float64) *Float {
	if len(p.vals) == cap(p.vals) {
		return F(v)
	}
	p.vals = append(p.vals, Float(v))
	return &p.vals[len(p.vals)-1]
}

// gain is the improvement of the candidate over the baseline, positive when
// better, in the metric's unit. Equal values (including equal infinities) give 0.
func (p comparison) gain() float64 {
	if p.c == p.b {
		return 0
	}
	if p.dir == HigherIsBetter {
		return p.c - p.b
	}
	return p.b - p.c
}

// relUndefined reports whether a change relative to the baseline is undefined
// (baseline 0 or ±Inf).
func (p comparison) relUndefined() bool { return p.b == 0 || math.IsInf(p.b, 0) }

// describe phrases where the candidate stands against the benchmark:
// "auc 0.71 is 0.05 (6.58%) below the benchmark 0.76 (run abc, ...)".
func (p comparison) describe() string {
	bench := "the benchmark " + num(p.b)
	if p.src != "" {
		bench += " (" + p.src + ")"
	}
	if p.c == p.b {
		return fmt.Sprintf("%s %s equals %s", p.metric, num(p.c), bench)
	}
	d := p.c - p.b
	side := "above"
	if d < 0 {
		side = "below"
	}
	diff := num(math.Abs(d))
	if !p.relUndefined() && !math.IsInf(d, 0) {
		diff += " (" + pct(math.Abs(d)/math.Abs(p.b)) + ")"
	}
	return fmt.Sprintf("%s %s is %s %s %s", p.metric, num(p.c), diff, side, bench)
}

func (p *comparison) check(kind CheckKind, method string, limit float64, relative bool, sev Severity) Check {
	return Check{Kind: kind, Metric: p.metric, Observed: p.f(p.c), Limit: p.f(limit), Relative: relative, Baseline: p.f(p.b), BaselineSource: p.src, Method: method, Severity: sev}
}

func (p *comparison) minAbs(delta float64, sev Severity) Check {
	ck := p.check(KindMinChange, "absolute improvement >= min_absolute_change", delta, false, sev)
	ck.Passed = p.gain() >= delta-tol(p.c, p.b, delta)
	ck.Message = p.desc + p.verdictMin(ck.Passed, num(delta))
	return ck
}

func (p *comparison) minRel(r float64, absSet bool, sev Severity) Check {
	ck := p.check(KindMinChange, "relative improvement >= min_relative_change", r, true, sev)
	if p.relUndefined() {
		ck.Method = "relative improvement undefined (baseline " + num(p.b) + ")"
		if absSet {
			ck.Passed = true
			ck.Message = p.desc + "; the relative change is undefined against this benchmark, so min_absolute_change decides"
			return ck
		}
		g := p.gain()
		ck.Passed = g > tol(p.c, p.b) || (r == 0 && g >= -tol(p.c, p.b))
		ck.Message = p.desc + "; the relative change is undefined against this benchmark, so only a strict improvement passes" +
			p.verdictShort(ck.Passed)
		return ck
	}
	ck.Passed = p.gain() >= r*math.Abs(p.b)-tol(p.c, p.b, r*p.b)
	ck.Message = p.desc + p.verdictMin(ck.Passed, pct(r))
	return ck
}

func (p *comparison) maxAbs(x float64, sev Severity) Check {
	ck := p.check(KindMaxRegression, "absolute regression <= max_regression", x, false, sev)
	ck.Passed = -p.gain() <= x+tol(p.c, p.b, x)
	ck.Message = p.desc + p.verdictMax(ck.Passed, num(x))
	return ck
}

func (p *comparison) maxRel(x float64, absSet bool, sev Severity) Check {
	ck := p.check(KindMaxRegression, "relative regression <= max_relative_regression", x, true, sev)
	if p.relUndefined() {
		ck.Method = "relative regression undefined (baseline " + num(p.b) + ")"
		if absSet {
			ck.Passed = true
			ck.Message = p.desc + "; the relative change is undefined against this benchmark, so max_regression decides"
			return ck
		}
		ck.Passed = -p.gain() <= tol(p.c, p.b)
		ck.Message = p.desc + "; the relative change is undefined against this benchmark, so any regression fails" +
			p.verdictShort(ck.Passed)
		return ck
	}
	ck.Passed = -p.gain() <= x*math.Abs(p.b)+tol(p.c, p.b, x*p.b)
	ck.Message = p.desc + p.verdictMax(ck.Passed, pct(x))
	return ck
}

func (p comparison) verdictMin(passed bool, limit string) string {
	if passed {
		return "; improvement of at least " + limit + " required, met"
	}
	return "; an improvement of at least " + limit + " is required"
}

func (p comparison) verdictMax(passed bool, limit string) string {
	if p.gain() >= 0 {
		return "; no regression (at most " + limit + " allowed)"
	}
	if passed {
		return "; within the allowed " + limit
	}
	return "; at most " + limit + " allowed"
}

func (p comparison) verdictShort(passed bool) string {
	if passed {
		return " (passed)"
	}
	return " (failed)"
}

// num formats a value for messages: up to 6 significant digits.
func num(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// pct formats a fraction as a percentage with 3 significant digits.
func pct(f float64) string {
	return strconv.FormatFloat(f*100, 'g', 3, 64) + "%"
}
