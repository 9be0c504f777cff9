package evaluate

import (
	"fmt"
	"math"
)

// Method names a drift test. The names are Evidently's stat-test names, so
// results read the same as an Evidently report.
type Method string

// The drift methods. Each has a [ScoreKind] and a default threshold
// (see [Method.DefaultThreshold]). There is one comparison rule per score
// kind: p-value methods flag drift when p < threshold, distance methods
// when score >= threshold. Evidently mixes them: its ks (and
// cramer_von_mises) flag p <= threshold, so a p-value exactly equal to the
// threshold is drift there and not here; its chisquare and z use p <
// threshold and its distances >= threshold, as here (its energy distance,
// not offered here, uses >).
const (
	// MethodKS is the two-sample Kolmogorov-Smirnov test (numeric only);
	// the score is the p-value of scipy.stats.ks_2samp (method auto).
	MethodKS Method = "ks"
	// MethodChiSquare is Pearson's chi-square goodness of fit of the
	// current counts against the reference counts scaled to the current
	// size, one category per distinct value; the score is the p-value.
	MethodChiSquare Method = "chisquare"
	// MethodZ is the pooled two-proportion z-test of the share of the
	// smallest category (Evidently's "z"); the score is the p-value.
	MethodZ Method = "z"
	// MethodWasserstein is the normed Wasserstein-1 distance
	// W1(ref, cur) / max(std(ref), 0.001) with the population standard
	// deviation (numeric only); Statistic holds the raw W1.
	MethodWasserstein Method = "wasserstein"
	// MethodJensenShannon is the Jensen-Shannon distance (the square root
	// of the divergence, natural log unless [WithLogBase]) of the binned
	// proportions, without zero fill.
	MethodJensenShannon Method = "jensenshannon"
	// MethodPSI is the population stability index of the binned
	// proportions after Evidently's zero fill; always natural log.
	MethodPSI Method = "psi"
	// MethodKL is KL(ref‖cur) of the binned proportions after Evidently's
	// zero fill (renormalised, natural log unless [WithLogBase]).
	MethodKL Method = "kl_div"
)

// ScoreKind says how a drift score is read.
type ScoreKind string

// The score kinds.
const (
	// KindPValue scores are p-values: drift when score < threshold.
	KindPValue ScoreKind = "p_value"
	// KindDistance scores are distances: drift when score >= threshold.
	KindDistance ScoreKind = "distance"
)

// Kind returns the score kind of m, or "" for an unknown method.
func (m Method) Kind() ScoreKind {
	switch m {
	case MethodKS, MethodChiSquare, MethodZ:
		return KindPValue
	case MethodWasserstein, MethodJensenShannon, MethodPSI, MethodKL:
		return KindDistance
	}
	return ""
}

// DefaultThreshold returns Evidently's default threshold for m: 0.05 for
// the p-value methods and 0.1 for the distances. It returns NaN for an
// unknown method.
func (m Method) DefaultThreshold() float64 {
	switch m.Kind() {
	case KindPValue:
		return 0.05
	case KindDistance:
		return 0.1
	}
	return math.NaN()
}

func (m Method) numericOnly() bool { return m == MethodKS || m == MethodWasserstein }

// DriftStatus is the outcome of one drift comparison.
type DriftStatus string

// The drift statuses.
const (
	// StatusOK means the test ran and found no drift.
	StatusOK DriftStatus = "ok"
	// StatusDrift means the test ran and found drift.
	StatusDrift DriftStatus = "drift"
	// StatusInsufficientData means a sample was empty, all non-finite or
	// smaller than the minimum sample size (or a value range overflowed);
	// no score is reported (Score, Statistic and PValue are NaN).
	StatusInsufficientData DriftStatus = "insufficient_data"
)

// ColumnType is the type of a feature column.
type ColumnType string

// The column types.
const (
	ColumnNumeric     ColumnType = "numeric"
	ColumnCategorical ColumnType = "categorical"
)

// FeatureDrift is the result of comparing one feature's current sample
// with its reference. It is plain data; its JSON form writes NaN and ±Inf
// floats as the strings "NaN", "Infinity" and "-Infinity" (encoding/json
// refuses them) and reads both forms back.
type FeatureDrift struct {
	// Feature is the column name ("" for a bare CompareNumeric call).
	Feature string `json:"feature"`
	// Segment is the segment key (e.g. a country), "" when unsegmented.
	Segment string `json:"segment,omitempty"`
	// Type is the column type.
	Type ColumnType `json:"type"`
	// Method is the drift test used.
	Method Method `json:"method"`
	// Kind says whether Score is a p-value or a distance.
	Kind ScoreKind `json:"kind"`
	// Score is the value compared with Threshold: the p-value for
	// KindPValue, the distance for KindDistance.
	Score float64 `json:"score"`
	// Statistic is the test statistic: KS D, chi-square X², z, the raw
	// (un-normed) Wasserstein-1 distance, or the distance itself.
	Statistic float64 `json:"statistic"`
	// PValue is the p-value for p-value methods and NaN otherwise.
	PValue float64 `json:"p_value"`
	// Threshold is the effective threshold.
	Threshold float64 `json:"threshold"`
	// Rule is the comparison used: "p_value < threshold" or
	// "score >= threshold".
	Rule string `json:"rule"`
	// Drifted reports whether drift was detected (false unless Status is
	// StatusDrift).
	Drifted bool `json:"drifted"`
	// Status is ok, drift or insufficient_data.
	Status DriftStatus `json:"status"`
	// RefN and CurN are the sample sizes after dropping non-finite values.
	RefN int `json:"ref_n"`
	CurN int `json:"cur_n"`
	// RefDropped and CurDropped count the NaN and ±Inf values dropped.
	RefDropped int `json:"ref_dropped"`
	CurDropped int `json:"cur_dropped"`
	// Bins states the binning of binned methods (PSI, KL, JS, chi-square,
	// z): Sturges equal-width bins on the pooled range, or one bin per
	// distinct value.
	Bins string `json:"bins,omitempty"`
	// ZeroFill states the zero fill applied before PSI and KL.
	ZeroFill string `json:"zero_fill,omitempty"`
	// LogBase is the logarithm base of PSI, KL and JS ("e" or a number).
	LogBase string `json:"log_base,omitempty"`
	// Detail says how the p-value was computed (e.g. the KS method).
	Detail string `json:"detail,omitempty"`
	// Approximate is true when the reference was a capped profile
	// (see [WithMaxReferenceValues]), so the score is an approximation.
	Approximate bool `json:"approximate,omitempty"`
	// Message is a sentence for the person on call.
	Message string `json:"message"`
}

// DriftOption configures a drift comparison or a reference profile.
// Options validate their argument; an invalid one makes the function that
// receives it return an error wrapping [ErrInvalidDriftOption].
type DriftOption func(*driftConfig) error

type driftConfig struct {
	method       Method
	threshold    float64
	hasThreshold bool
	minN         int
	logBase      float64
	alternative  Alternative
	ksMethod     KSMethod
	driftShare   float64
	maxRefValues int
	perFeature   map[string][]DriftOption
	feature      string // set by dataset comparisons
	segment      string
}

// DefaultMinSampleSize is the default minimum number of finite values each
// side needs before a drift test is run (see [WithMinSampleSize]).
const DefaultMinSampleSize = 30

// DefaultDriftShare is the default share of drifted features at which a
// dataset counts as drifted (Evidently's drift_share).
const DefaultDriftShare = 0.5

func newDriftConfig(opts []DriftOption) (driftConfig, error) {
	c := driftConfig{
		minN:        DefaultMinSampleSize,
		logBase:     math.E,
		alternative: AlternativeTwoSided,
		ksMethod:    KSAuto,
		driftShare:  DefaultDriftShare,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&c); err != nil {
			return driftConfig{}, err
		}
	}
	return c, nil
}

// forFeature returns the configuration with the options registered by
// [WithFeatureOptions] for name applied on top.
func (c driftConfig) forFeature(name string) (driftConfig, error) {
	extra := c.perFeature[name]
	if len(extra) == 0 {
		return c, nil
	}
	for _, o := range extra {
		if o == nil {
			continue
		}
		if err := o(&c); err != nil {
			return driftConfig{}, err
		}
	}
	return c, nil
}

func optErr(format string, args ...any) error {
	return fmt.Errorf("evaluate: "+format+": %w", append(args, ErrInvalidDriftOption)...)
}

// WithMethod forces the drift method instead of Evidently's default choice
// by type and sample size. KS and Wasserstein apply to numeric columns
// only; forcing them on a categorical column is an error.
func WithMethod(m Method) DriftOption {
	return func(c *driftConfig) error {
		if m.Kind() == "" {
			return optErr("drift method %q", m)
		}
		c.method = m
		return nil
	}
}

// WithThreshold sets the threshold instead of the method's default. It
// must be finite and non-negative (and at most 1 for p-value methods,
// which is checked when the method is known).
func WithThreshold(t float64) DriftOption {
	return func(c *driftConfig) error {
		if math.IsNaN(t) || math.IsInf(t, 0) || t < 0 {
			return optErr("drift threshold %v", t)
		}
		c.threshold, c.hasThreshold = t, true
		return nil
	}
}

// WithMinSampleSize sets the minimum number of finite values on each side
// (default [DefaultMinSampleSize]); smaller samples give
// [StatusInsufficientData]. It must be at least 1.
func WithMinSampleSize(n int) DriftOption {
	return func(c *driftConfig) error {
		if n < 1 {
			return optErr("minimum sample size %d", n)
		}
		c.minN = n
		return nil
	}
}

// WithLogBase sets the logarithm base of Jensen-Shannon and KL (default
// math.E, the natural log, as Evidently; 2 gives NannyML's JS in [0, 1]).
// PSI always uses the natural log. The base must be positive, finite and
// not 1.
func WithLogBase(b float64) DriftOption {
	return func(c *driftConfig) error {
		if err := checkBase("drift", b); err != nil {
			return err
		}
		c.logBase = b
		return nil
	}
}

// WithAlternative sets the KS alternative (default [AlternativeTwoSided]).
func WithAlternative(a Alternative) DriftOption {
	return func(c *driftConfig) error {
		if err := checkKSArgs(a, KSAuto); err != nil {
			return err
		}
		c.alternative = a
		return nil
	}
}

// WithKSMethod sets the KS p-value method (default [KSAuto]).
func WithKSMethod(m KSMethod) DriftOption {
	return func(c *driftConfig) error {
		if err := checkKSArgs(AlternativeTwoSided, m); err != nil {
			return err
		}
		c.ksMethod = m
		return nil
	}
}

// WithDriftShare sets the share of drifted features at which a dataset
// counts as drifted (default [DefaultDriftShare]); it must be in (0, 1].
func WithDriftShare(s float64) DriftOption {
	return func(c *driftConfig) error {
		if !(s > 0 && s <= 1) {
			return optErr("drift share %v", s)
		}
		c.driftShare = s
		return nil
	}
}

// WithMaxReferenceValues caps the numeric values a reference profile
// keeps. A column with more distinct values than n keeps n order
// statistics at evenly spaced ranks (including the minimum and maximum)
// instead of every value, and its results are marked Approximate: the
// reference ECDF is then off by at most about 1/(n−1), which bounds the
// error of the KS statistic by that much and the Wasserstein distance by
// the value range over n−1; PSI, KL and JS take the reference share of
// each bin from the ECDF interpolated linearly between the kept values
// (for a normal sample of 50,000 capped at 1,000 values, PSI moved by less
// than 0.01). Without
// this option (or when a column has at most n distinct values, which are
// kept with their counts) the profile is exact and gives the same numbers
// as the raw reference. n must be at least 100.
func WithMaxReferenceValues(n int) DriftOption {
	return func(c *driftConfig) error {
		if n < 100 {
			return optErr("maximum reference values %d (minimum 100)", n)
		}
		c.maxRefValues = n
		return nil
	}
}

// WithFeatureOptions applies opts to the feature called name only, on top
// of the other options, in dataset and segment comparisons.
func WithFeatureOptions(name string, opts ...DriftOption) DriftOption {
	return func(c *driftConfig) error {
		probe := *c
		for _, o := range opts {
			if o == nil {
				continue
			}
			if err := o(&probe); err != nil {
				return fmt.Errorf("evaluate: feature %q: %w", name, err)
			}
		}
		m := make(map[string][]DriftOption, len(c.perFeature)+1)
		for k, v := range c.perFeature {
			m[k] = v
		}
		m[name] = append(append([]DriftOption(nil), m[name]...), opts...)
		c.perFeature = m
		return nil
	}
}

func (c driftConfig) thresholdFor(m Method) (float64, error) {
	if !c.hasThreshold {
		return m.DefaultThreshold(), nil
	}
	if m.Kind() == KindPValue && c.threshold > 1 {
		return 0, optErr("p-value threshold %v above 1", c.threshold)
	}
	return c.threshold, nil
}

func logBaseString(b float64) string {
	if b == math.E {
		return "e"
	}
	return fmt.Sprintf("%g", b)
}

// judge fills the verdict fields of d from its Score and Threshold.
func (d *FeatureDrift) judge() {
	d.Kind = d.Method.Kind()
	if d.Kind == KindPValue {
		d.Rule = "p_value < threshold"
		d.Drifted = d.Score < d.Threshold
	} else {
		d.Rule = "score >= threshold"
		d.Drifted = d.Score >= d.Threshold
	}
	if math.IsNaN(d.Score) {
		// Only reachable through float64 overflow (e.g. values near
		// ±MaxFloat64, whose differences are infinite).
		d.insufficient("the score is NaN: the values overflow float64 arithmetic")
		return
	}
	d.Status = StatusOK
	if d.Drifted {
		d.Status = StatusDrift
	}
	name := d.Feature
	if name == "" {
		name = "sample"
	}
	if d.Segment != "" {
		name += " in segment " + d.Segment
	}
	verdict, op := "no drift", ">="
	if d.Kind == KindDistance {
		op = "<"
	}
	if d.Drifted {
		verdict = "DRIFT"
		if d.Kind == KindPValue {
			op = "<"
		} else {
			op = ">="
		}
	}
	what := "p-value"
	if d.Kind == KindDistance {
		what = "score"
	}
	d.Message = fmt.Sprintf("%s: %s: %s %s %.4g %s threshold %.4g (reference n=%d, current n=%d)",
		name, verdict, d.Method, what, d.Score, op, d.Threshold, d.RefN, d.CurN)
}

// insufficient marks d as StatusInsufficientData with a reason.
func (d *FeatureDrift) insufficient(reason string) {
	d.Kind = d.Method.Kind()
	d.Score, d.Statistic, d.PValue = math.NaN(), math.NaN(), math.NaN()
	d.Status = StatusInsufficientData
	d.Drifted = false
	name := d.Feature
	if name == "" {
		name = "sample"
	}
	if d.Segment != "" {
		name += " in segment " + d.Segment
	}
	d.Message = fmt.Sprintf("%s: not judged: %s (reference n=%d, current n=%d)", name, reason, d.RefN, d.CurN)
}
