package evaluate

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// RuleSet is the resolved rules for one model (and country): what Evaluate
// applies. Build one directly, or get it from RulesFile.Resolve. It is plain data.
type RuleSet struct {
	// Group, Model and Country identify what the rules are for; they are
	// copied into the Report.
	Group   string `json:"group,omitempty"`
	Model   string `json:"model,omitempty"`
	Country string `json:"country,omitempty"`
	// Rules are applied in order; each metric appears at most once.
	Rules []MetricRule `json:"rules"`
	// Benchmark says how to choose the benchmark; nil means none.
	Benchmark *BenchmarkSpec `json:"benchmark,omitempty"`
	// Drift holds the optional drift settings; nil means no drift checks.
	Drift *DriftSettings `json:"drift,omitempty"`
}

// Validate checks every rule, the benchmark spec and the drift settings, and
// rejects a metric that appears twice. Errors are *RuleError.
func (rs RuleSet) Validate() error {
	seen := map[string]bool{}
	for i, r := range rs.Rules {
		if err := r.Validate(); err != nil {
			var re *RuleError
			if errors.As(err, &re) {
				re.Field = fmt.Sprintf("rules[%d].%s", i, re.Field)
			}
			return err
		}
		if seen[r.Metric] {
			return &RuleError{Field: fmt.Sprintf("rules[%d].metric", i), Msg: fmt.Sprintf("metric %q has more than one rule", r.Metric)}
		}
		seen[r.Metric] = true
	}
	if rs.Benchmark != nil {
		if err := rs.Benchmark.Validate(); err != nil {
			prefixField(err, "benchmark.")
			return err
		}
	}
	if rs.Drift != nil {
		if err := rs.Drift.Validate(); err != nil {
			prefixField(err, "drift.")
			return err
		}
	}
	return nil
}

func prefixField(err error, prefix string) {
	var re *RuleError
	if errors.As(err, &re) {
		re.Field = prefix + re.Field
	}
}

// Rule returns the rule for metric, if any.
func (rs RuleSet) Rule(metric string) (MetricRule, bool) {
	for _, r := range rs.Rules {
		if r.Metric == metric {
			return r, true
		}
	}
	return MetricRule{}, false
}

// DriftSettings are the optional drift settings of a rule set. The drift
// computation itself is CompareDataset and friends; Options turns these
// settings into their options, and DriftChecks turns their results into Checks.
type DriftSettings struct {
	// Method forces a drift method; "" or "auto" keeps the default choice by
	// column type and sample size.
	Method Method `json:"method,omitempty"`
	// Threshold overrides the method's default drift threshold.
	Threshold *float64 `json:"threshold,omitempty"`
	// ShareThreshold is the share of drifted features (0, 1] at which the
	// dataset counts as drifted; nil means DefaultDriftShare.
	ShareThreshold *float64 `json:"share_threshold,omitempty"`
	// Severity of a feature drift breach; empty means warning.
	Severity Severity `json:"severity,omitempty"`
	// DatasetSeverity of a dataset drift breach; empty means critical.
	DatasetSeverity Severity `json:"dataset_severity,omitempty"`
	// InsufficientData is the severity of a feature or dataset that could
	// not be judged (too few values, column missing on one side); empty
	// means such a check is reported as passed, with a message saying it
	// was not judged.
	InsufficientData Severity `json:"insufficient_data,omitempty"`
	// Features limits the feature checks to these columns; empty means all.
	// The dataset check always covers every column compared.
	Features []string `json:"features,omitempty"`
}

// Validate reports the first problem with the settings as a *RuleError.
func (d DriftSettings) Validate() error {
	if d.Method != "" && d.Method != "auto" && d.Method.Kind() == "" {
		return &RuleError{Field: "method", Msg: fmt.Sprintf("must be auto, ks, chisquare, z, wasserstein, jensenshannon, psi or kl_div, not %q", string(d.Method))}
	}
	if t := d.Threshold; t != nil && (math.IsNaN(*t) || math.IsInf(*t, 0) || *t < 0) {
		return &RuleError{Field: "threshold", Msg: fmt.Sprintf("must be a finite number >= 0, not %v", *t)}
	}
	if t := d.Threshold; t != nil && d.Method.Kind() == KindPValue && *t > 1 {
		return &RuleError{Field: "threshold", Msg: fmt.Sprintf("is a p-value threshold for %s and must be at most 1, not %v", d.Method, *t)}
	}
	if s := d.ShareThreshold; s != nil && !(*s > 0 && *s <= 1) {
		return &RuleError{Field: "share_threshold", Msg: fmt.Sprintf("must be in (0, 1], not %v", *s)}
	}
	for _, f := range []struct {
		name string
		v    Severity
	}{{"severity", d.Severity}, {"dataset_severity", d.DatasetSeverity}, {"insufficient_data", d.InsufficientData}} {
		if f.v != "" && !f.v.valid() {
			return &RuleError{Field: f.name, Msg: fmt.Sprintf("must be warning or critical, not %q", string(f.v))}
		}
	}
	return nil
}

// maxCombinations bounds the model x country combinations a file may define,
// each of which is resolved and validated at load time.
const maxCombinations = 10000

// maxRulesFileSize bounds what LoadRulesFile reads.
const maxRulesFileSize = 4 << 20

// RulesFile is a parsed and validated rules file: the rules of one model group
// with overrides per model, per country and per model+country. It is immutable
// and safe for concurrent use.
//
// Resolve merges the layers in this order, later ones winning field by field:
//
//	group defaults < model < country < model+country
//
// A metric's rule is merged field by field (an override that sets only
// threshold keeps the group's direction and other limits); a field set to null
// in an override removes it; "disabled: true" drops the metric. A layer's
// benchmark or drift section replaces the earlier one as a whole (null removes
// it). A layer's "missing" section sets the default missing policy for every
// metric; a metric's own "missing" fields beat every layer's default.
type RulesFile struct {
	file      string
	group     string
	base      *layer
	models    map[string]*modelLayer
	countries map[string]*layer
}

// Group returns the model group the file is for.
func (f *RulesFile) Group() string { return f.group }

// File returns the name the file was loaded or parsed under.
func (f *RulesFile) File() string { return f.file }

// Models returns the models with overrides, sorted.
func (f *RulesFile) Models() []string { return sortedKeys(f.models) }

// Countries returns the countries with overrides (at top level or under a
// model), sorted.
func (f *RulesFile) Countries() []string {
	set := map[string]bool{}
	for c := range f.countries {
		set[c] = true
	}
	for _, m := range f.models {
		for c := range m.countries {
			set[c] = true
		}
	}
	return sortedKeys(set)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// LoadRulesFile reads and validates a rules file. The format is chosen by the
// extension: .yaml or .yml for YAML, .json for JSON. Errors about the content
// are *RuleError naming the file, line, column and field; I/O errors are
// returned wrapped.
func LoadRulesFile(path string) (*RulesFile, error) {
	var format Format
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		format = FormatYAML
	case ".json":
		format = FormatJSON
	default:
		return nil, &RuleError{File: path, Msg: "unknown rules file extension (want .yaml, .yml or .json)"}
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("evaluate: read rules file: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("evaluate: read rules file: %w", err)
	}
	if st.Size() > maxRulesFileSize {
		return nil, &RuleError{File: path, Msg: fmt.Sprintf("file is larger than %d bytes", maxRulesFileSize)}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("evaluate: read rules file: %w", err)
	}
	return ParseRules(path, data, format)
}

// ParseRules parses and validates a rules file held in memory. name is used in
// errors. data is not modified or retained. Every combination of model and
// country overrides is resolved and validated, so a file that loads resolves
// without error for every model and country it names.
func ParseRules(name string, data []byte, format Format) (*RulesFile, error) {
	var root *node
	var err error
	switch format {
	case FormatYAML:
		root, err = parseYAMLTree(name, data)
	case FormatJSON:
		root, err = parseJSONTree(name, data)
	default:
		return nil, &RuleError{File: name, Msg: fmt.Sprintf("unknown format %q", string(format))}
	}
	if err != nil {
		return nil, err
	}
	d := &fileDecoder{file: name}
	f, err := d.decodeFile(root)
	if err != nil {
		return nil, err
	}
	if err := f.validateAll(); err != nil {
		return nil, err
	}
	return f, nil
}

// Resolve returns the rule set for model in country after merging the layers
// (see RulesFile). model and country may be empty or unknown to the file; then
// only the layers that exist apply. Placeholders in the benchmark spec are
// expanded. Errors are *RuleError.
func (f *RulesFile) Resolve(model, country string) (RuleSet, error) {
	layers := []*layer{f.base}
	if m := f.models[model]; m != nil && model != "" {
		layers = append(layers, &m.layer)
	}
	if c := f.countries[country]; c != nil && country != "" {
		layers = append(layers, c)
	}
	if m := f.models[model]; m != nil && model != "" && country != "" {
		if mc := m.countries[country]; mc != nil {
			layers = append(layers, mc)
		}
	}
	rs := RuleSet{Group: f.group, Model: model, Country: country}
	merged := mergeLayers(layers)
	for _, mr := range merged.metrics {
		r := mr.rule(merged)
		if err := r.Validate(); err != nil {
			return RuleSet{}, f.locate(err, mr)
		}
		rs.Rules = append(rs.Rules, r)
	}
	if b := merged.benchmark; b.set && b.v != nil {
		spec, err := b.v.expand(f.group, model, country)
		if err != nil {
			return RuleSet{}, f.locateAt(err, b.at)
		}
		rs.Benchmark = &spec
	}
	if dr := merged.drift; dr.set && dr.v != nil {
		d := *dr.v
		d.Features = slices.Clone(d.Features)
		rs.Drift = &d
	}
	return rs, nil
}

// validateAll resolves every combination the file can produce.
func (f *RulesFile) validateAll() error {
	models := append([]string{""}, f.Models()...)
	countries := append([]string{""}, f.Countries()...)
	if len(models)*len(countries) > maxCombinations {
		return &RuleError{File: f.file, Msg: fmt.Sprintf("too many overrides: %d models x %d countries (at most %d combinations)", len(models)-1, len(countries)-1, maxCombinations)}
	}
	for _, m := range models {
		for _, c := range countries {
			if _, err := f.Resolve(m, c); err != nil {
				var re *RuleError
				if errors.As(err, &re) && re.Line == 0 {
					re.Msg += fmt.Sprintf(" (model %q, country %q)", m, c)
				}
				return err
			}
		}
	}
	return nil
}

// locate fills in the position of a rule validation error from the merged
// metric's field positions.
func (f *RulesFile) locate(err error, mr *mergedMetric) error {
	var re *RuleError
	if !errors.As(err, &re) {
		return err
	}
	at := mr.at
	if p, ok := mr.fieldPos[re.Field]; ok {
		at = p
		re.Field = p.path
	} else {
		re.Field = mr.at.path + "." + re.Field
	}
	re.File, re.Line, re.Column = f.file, at.line, at.col
	return re
}

func (f *RulesFile) locateAt(err error, at pos) error {
	var re *RuleError
	if !errors.As(err, &re) {
		return err
	}
	re.File, re.Line, re.Column = f.file, at.line, at.col
	re.Field = at.path + "." + re.Field
	return re
}
