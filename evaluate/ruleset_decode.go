package evaluate

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// pos locates a value in a rules file: line, column and dotted field path.
type pos struct {
	line, col int
	path      string
}

// opt is an optional field of an override layer; set with a zero v means the
// file said null (remove).
type opt[T any] struct {
	set bool
	v   T
	at  pos
}

func (o *opt[T]) overlay(p opt[T]) {
	if p.set {
		*o = p
	}
}

type missingPatch struct {
	cand    opt[Severity]
	base    opt[BaselinePolicy]
	baseSev opt[Severity]
}

func (m *missingPatch) overlay(p missingPatch) {
	m.cand.overlay(p.cand)
	m.base.overlay(p.base)
	m.baseSev.overlay(p.baseSev)
}

// metricPatch is one metric's entry in one layer.
type metricPatch struct {
	name                                      string
	at                                        pos
	disabled                                  opt[bool]
	direction                                 opt[Direction]
	threshold, minAbs, minRel, maxAbs, maxRel opt[*float64]
	sevThreshold, sevMinChange, sevMaxReg     opt[Severity]
	miss                                      missingPatch
}

func (m *metricPatch) overlay(p *metricPatch) {
	m.disabled.overlay(p.disabled)
	m.direction.overlay(p.direction)
	m.threshold.overlay(p.threshold)
	m.minAbs.overlay(p.minAbs)
	m.minRel.overlay(p.minRel)
	m.maxAbs.overlay(p.maxAbs)
	m.maxRel.overlay(p.maxRel)
	m.sevThreshold.overlay(p.sevThreshold)
	m.sevMinChange.overlay(p.sevMinChange)
	m.sevMaxReg.overlay(p.sevMaxReg)
	m.miss.overlay(p.miss)
}

// layer is the group defaults, or one override.
type layer struct {
	benchmark opt[*BenchmarkSpec]
	drift     opt[*DriftSettings]
	miss      missingPatch
	metrics   []*metricPatch
}

type modelLayer struct {
	layer
	countries map[string]*layer
}

type mergedMetric struct {
	metricPatch
	fieldPos map[string]pos
}

type mergedLayers struct {
	benchmark opt[*BenchmarkSpec]
	drift     opt[*DriftSettings]
	miss      missingPatch
	metrics   []*mergedMetric
}

func mergeLayers(layers []*layer) *mergedLayers {
	out := &mergedLayers{}
	byName := map[string]*mergedMetric{}
	for _, l := range layers {
		out.benchmark.overlay(l.benchmark)
		out.drift.overlay(l.drift)
		out.miss.overlay(l.miss)
		for _, p := range l.metrics {
			mm := byName[p.name]
			if mm == nil {
				mm = &mergedMetric{metricPatch: metricPatch{name: p.name, at: p.at}}
				byName[p.name] = mm
				out.metrics = append(out.metrics, mm)
			}
			mm.overlay(p)
		}
	}
	kept := out.metrics[:0]
	for _, mm := range out.metrics {
		if mm.disabled.set && mm.disabled.v {
			continue
		}
		kept = append(kept, mm)
	}
	out.metrics = kept
	return out
}

// rule builds the MetricRule and records where each field came from.
func (mm *mergedMetric) rule(l *mergedLayers) MetricRule {
	mm.fieldPos = map[string]pos{}
	note := func(field string, set bool, at pos) {
		if set {
			mm.fieldPos[field] = at
		}
	}
	r := MetricRule{Metric: mm.name}
	r.Direction, r.Threshold = mm.direction.v, mm.threshold.v
	r.MinAbsoluteChange, r.MinRelativeChange = mm.minAbs.v, mm.minRel.v
	r.MaxRegression, r.MaxRelativeRegression = mm.maxAbs.v, mm.maxRel.v
	r.Severity = Severities{Threshold: mm.sevThreshold.v, MinChange: mm.sevMinChange.v, MaxRegression: mm.sevMaxReg.v}
	note("direction", mm.direction.set, mm.direction.at)
	note("threshold", mm.threshold.set, mm.threshold.at)
	note("min_absolute_change", mm.minAbs.set, mm.minAbs.at)
	note("min_relative_change", mm.minRel.set, mm.minRel.at)
	note("max_regression", mm.maxAbs.set, mm.maxAbs.at)
	note("max_relative_regression", mm.maxRel.set, mm.maxRel.at)
	note("severity.threshold", mm.sevThreshold.set, mm.sevThreshold.at)
	note("severity.min_change", mm.sevMinChange.set, mm.sevMinChange.at)
	note("severity.max_regression", mm.sevMaxReg.set, mm.sevMaxReg.at)
	miss := l.miss
	miss.overlay(mm.miss)
	r.Missing = MissingPolicy{Candidate: miss.cand.v, Baseline: miss.base.v, BaselineSeverity: miss.baseSev.v}
	note("missing.candidate", miss.cand.set, miss.cand.at)
	note("missing.baseline", miss.base.set, miss.base.at)
	note("missing.baseline_severity", miss.baseSev.set, miss.baseSev.at)
	return r
}

// fileDecoder turns a node tree into a RulesFile, rejecting unknown keys and
// wrong types with positions.
type fileDecoder struct{ file string }

func (d *fileDecoder) fail(n *node, path, format string, args ...any) error {
	return &RuleError{File: d.file, Line: n.line, Column: n.col, Field: path, Msg: fmt.Sprintf(format, args...)}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (d *fileDecoder) here(n *node, path string) pos {
	return pos{line: n.line, col: n.col, path: path}
}

type fieldFunc func(k, v *node, path string) error

// mapping walks a mapping node, dispatching known keys and rejecting unknown
// and duplicate ones.
func (d *fileDecoder) mapping(n *node, path string, fields map[string]fieldFunc) error {
	if n.kind != nMap {
		return d.fail(n, path, "must be a mapping, not a %s", n.kind)
	}
	seen := map[string]bool{}
	for i, k := range n.keys {
		p := join(path, k.text)
		if seen[k.text] {
			return d.fail(k, p, "duplicate key %q", k.text)
		}
		seen[k.text] = true
		f, ok := fields[k.text]
		if !ok {
			return d.fail(k, p, "unknown key %q (allowed: %s)", k.text, strings.Join(sortedKeys(fields), ", "))
		}
		if err := f(k, n.vals[i], p); err != nil {
			return err
		}
	}
	return nil
}

// entries walks a mapping whose keys are names (metrics, models, countries).
func (d *fileDecoder) entries(n *node, path string, each func(k, v *node, path string) error) error {
	if n.kind != nMap {
		return d.fail(n, path, "must be a mapping, not a %s", n.kind)
	}
	seen := map[string]bool{}
	for i, k := range n.keys {
		p := join(path, k.text)
		if k.text == "" {
			return d.fail(k, p, "empty name")
		}
		if seen[k.text] {
			return d.fail(k, p, "duplicate key %q", k.text)
		}
		seen[k.text] = true
		if err := each(k, n.vals[i], p); err != nil {
			return err
		}
	}
	return nil
}

func (d *fileDecoder) str(n *node, path string) (string, error) {
	if n.kind != nString {
		return "", d.fail(n, path, "must be a string, not a %s", n.kind)
	}
	return n.text, nil
}

func (d *fileDecoder) optFloat(dst *opt[*float64]) fieldFunc {
	return func(_, v *node, path string) error {
		*dst = opt[*float64]{set: true, at: d.here(v, path)}
		if v.kind == nNull {
			return nil
		}
		if v.kind != nNumber {
			return d.fail(v, path, "must be a number, not a %s", v.kind)
		}
		if math.IsNaN(v.num) || math.IsInf(v.num, 0) {
			return d.fail(v, path, "must be a finite number, not %s", v.text)
		}
		x := v.num
		dst.v = &x
		return nil
	}
}

func optString[T ~string](d *fileDecoder, dst *opt[T]) fieldFunc {
	return func(_, v *node, path string) error {
		*dst = opt[T]{set: true, at: d.here(v, path)}
		if v.kind == nNull {
			return nil
		}
		s, err := d.str(v, path)
		dst.v = T(s)
		return err
	}
}

func (d *fileDecoder) missing(dst *missingPatch) fieldFunc {
	return func(_, v *node, path string) error {
		return d.mapping(v, path, map[string]fieldFunc{
			"candidate":         optString(d, &dst.cand),
			"baseline":          optString(d, &dst.base),
			"baseline_severity": optString(d, &dst.baseSev),
		})
	}
}

func (d *fileDecoder) metric(k, v *node, path string) (*metricPatch, error) {
	m := &metricPatch{name: k.text, at: d.here(k, path)}
	err := d.mapping(v, path, map[string]fieldFunc{
		"direction":               optString(d, &m.direction),
		"threshold":               d.optFloat(&m.threshold),
		"min_absolute_change":     d.optFloat(&m.minAbs),
		"min_relative_change":     d.optFloat(&m.minRel),
		"max_regression":          d.optFloat(&m.maxAbs),
		"max_relative_regression": d.optFloat(&m.maxRel),
		"missing":                 d.missing(&m.miss),
		"disabled": func(_, v *node, path string) error {
			if v.kind != nBool {
				return d.fail(v, path, "must be true or false, not a %s", v.kind)
			}
			m.disabled = opt[bool]{set: true, v: v.b, at: d.here(v, path)}
			return nil
		},
		"severity": func(_, v *node, path string) error {
			if v.kind == nString {
				all := opt[Severity]{set: true, v: Severity(v.text), at: d.here(v, path)}
				m.sevThreshold, m.sevMinChange, m.sevMaxReg = all, all, all
				return nil
			}
			return d.mapping(v, path, map[string]fieldFunc{
				"threshold":      optString(d, &m.sevThreshold),
				"min_change":     optString(d, &m.sevMinChange),
				"max_regression": optString(d, &m.sevMaxReg),
			})
		},
	})
	return m, err
}

func (d *fileDecoder) benchmark(dst *opt[*BenchmarkSpec]) fieldFunc {
	return func(_, v *node, path string) error {
		*dst = opt[*BenchmarkSpec]{set: true, at: d.here(v, path)}
		if v.kind == nNull {
			return nil
		}
		s := &BenchmarkSpec{}
		at := map[string]*node{}
		strField := func(p *string) fieldFunc {
			return func(k, v *node, path string) error {
				at[k.text] = v
				var err error
				*p, err = d.str(v, path)
				return err
			}
		}
		var kind string
		err := d.mapping(v, path, map[string]fieldFunc{
			"kind":             strField(&kind),
			"run_id":           strField(&s.RunID),
			"experiment":       strField(&s.Experiment),
			"filter":           strField(&s.Filter),
			"registered_model": strField(&s.RegisteredModel),
			"alias":            strField(&s.Alias),
			"last_n": func(k, v *node, path string) error {
				at[k.text] = v
				if v.kind != nNumber || v.num != math.Trunc(v.num) || v.num < 1 || v.num > 10000 {
					return d.fail(v, path, "must be a whole number between 1 and 10000")
				}
				s.LastN = int(v.num)
				return nil
			},
		})
		if err != nil {
			return err
		}
		s.Kind = SourceKind(kind)
		if err := s.Validate(); err != nil {
			return d.relocate(err, v, at, path)
		}
		dst.v = s
		return nil
	}
}

// relocate positions a section-relative *RuleError at the offending field's
// node, or at the section when the field is absent.
func (d *fileDecoder) relocate(err error, section *node, at map[string]*node, path string) error {
	var re *RuleError
	if !errors.As(err, &re) {
		return err
	}
	n := section
	if fn, ok := at[re.Field]; ok {
		n = fn
	}
	return d.fail(n, join(path, re.Field), "%s", re.Msg)
}

func (d *fileDecoder) drift(dst *opt[*DriftSettings]) fieldFunc {
	return func(_, v *node, path string) error {
		*dst = opt[*DriftSettings]{set: true, at: d.here(v, path)}
		if v.kind == nNull {
			return nil
		}
		s := &DriftSettings{}
		at := map[string]*node{}
		var thr, share opt[*float64]
		var sev, dsev, insuf opt[Severity]
		track := func(f fieldFunc) fieldFunc {
			return func(k, v *node, path string) error { at[k.text] = v; return f(k, v, path) }
		}
		err := d.mapping(v, path, map[string]fieldFunc{
			"method": track(func(_, v *node, path string) error {
				m, err := d.str(v, path)
				s.Method = Method(m)
				return err
			}),
			"insufficient_data": track(optString(d, &insuf)),
			"threshold":         track(d.optFloat(&thr)),
			"share_threshold":   track(d.optFloat(&share)),
			"severity":          track(optString(d, &sev)),
			"dataset_severity":  track(optString(d, &dsev)),
			"features": track(func(_, v *node, path string) error {
				if v.kind != nSeq {
					return d.fail(v, path, "must be a list of strings, not a %s", v.kind)
				}
				for i, it := range v.vals {
					f, err := d.str(it, fmt.Sprintf("%s[%d]", path, i))
					if err != nil {
						return err
					}
					s.Features = append(s.Features, f)
				}
				return nil
			}),
		})
		if err != nil {
			return err
		}
		s.Threshold, s.ShareThreshold, s.Severity, s.DatasetSeverity, s.InsufficientData = thr.v, share.v, sev.v, dsev.v, insuf.v
		if err := s.Validate(); err != nil {
			return d.relocate(err, v, at, path)
		}
		dst.v = s
		return nil
	}
}

// layerFields returns the keys shared by the group defaults and every override.
func (d *fileDecoder) layerFields(l *layer) map[string]fieldFunc {
	return map[string]fieldFunc{
		"benchmark": d.benchmark(&l.benchmark),
		"drift":     d.drift(&l.drift),
		"missing":   d.missing(&l.miss),
		"metrics": func(_, v *node, path string) error {
			return d.entries(v, path, func(k, v *node, path string) error {
				m, err := d.metric(k, v, path)
				l.metrics = append(l.metrics, m)
				return err
			})
		},
	}
}

func (d *fileDecoder) decodeFile(root *node) (*RulesFile, error) {
	f := &RulesFile{file: d.file, base: &layer{}, models: map[string]*modelLayer{}, countries: map[string]*layer{}}
	fields := d.layerFields(f.base)
	var group *node
	fields["version"] = func(_, v *node, path string) error {
		if v.kind != nNumber || v.num != 1 {
			return d.fail(v, path, "must be 1")
		}
		return nil
	}
	fields["group"] = func(_, v *node, path string) error {
		group = v
		var err error
		f.group, err = d.str(v, path)
		if err == nil && f.group == "" {
			err = d.fail(v, path, "must not be empty")
		}
		return err
	}
	fields["countries"] = func(_, v *node, path string) error {
		return d.entries(v, path, func(k, v *node, path string) error {
			l := &layer{}
			f.countries[k.text] = l
			return d.mapping(v, path, d.layerFields(l))
		})
	}
	fields["models"] = func(_, v *node, path string) error {
		return d.entries(v, path, func(k, v *node, path string) error {
			m := &modelLayer{countries: map[string]*layer{}}
			f.models[k.text] = m
			mf := d.layerFields(&m.layer)
			mf["countries"] = func(_, v *node, path string) error {
				return d.entries(v, path, func(k, v *node, path string) error {
					l := &layer{}
					m.countries[k.text] = l
					return d.mapping(v, path, d.layerFields(l))
				})
			}
			return d.mapping(v, path, mf)
		})
	}
	if err := d.mapping(root, "", fields); err != nil {
		return nil, err
	}
	if group == nil {
		return nil, d.fail(root, "group", "the group name is required")
	}
	return f, nil
}
