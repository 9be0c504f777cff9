package evaluate

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// CategoricalReference is the stored summary of one categorical reference
// column: its size and the count of each category. Comparisons with it give
// exactly the numbers of [CompareCategorical] on the raw reference. It is
// immutable and safe for concurrent use; its JSON form is
// {"n": ..., "counts": {"category": count, ...}}.
type CategoricalReference struct {
	n      int
	counts map[string]int
}

// NewCategoricalReference summarises a categorical reference sample. Every
// string, including "", is a category (there is no missing value in a Go
// []string; drop missing values before calling). Options are validated
// and otherwise ignored. values is not modified.
func NewCategoricalReference(values []string, opts ...DriftOption) (*CategoricalReference, error) {
	if _, err := newDriftConfig(opts); err != nil {
		return nil, err
	}
	return newCategoricalReference(values), nil
}

func newCategoricalReference(values []string) *CategoricalReference {
	return &CategoricalReference{n: len(values), counts: countStrings(values)}
}

func countStrings(values []string) map[string]int {
	m := make(map[string]int)
	for _, v := range values {
		m[v]++
	}
	return m
}

// N returns the number of reference values.
func (r *CategoricalReference) N() int { return r.n }

// Counts returns a copy of the category counts.
func (r *CategoricalReference) Counts() map[string]int { return maps.Clone(r.counts) }

// CompareCategorical compares a current categorical sample with a
// reference sample and returns the drift result. Unless [WithMethod]
// forces one, the method is Evidently's default (evaluate.md §2.2): with at
// most 1000 reference values, chi-square when ref and cur together have
// more than 2 categories and z otherwise; with more than 1000,
// Jensen-Shannon. Categories seen on one side only are bins like any other
// (chi-square: a category absent from the reference gives X² = +Inf and
// p = 0; PSI and KL fill the empty side; JS needs no fill). Samples
// smaller than the minimum size give [StatusInsufficientData]. The error
// is non-nil only for an invalid option or a numeric-only method (KS,
// Wasserstein), wrapping [ErrInvalidDriftOption]. The inputs are not
// modified. It is safe for concurrent use.
func CompareCategorical(ref, cur []string, opts ...DriftOption) (FeatureDrift, error) {
	c, err := newDriftConfig(opts)
	if err != nil {
		return FeatureDrift{}, err
	}
	return newCategoricalReference(ref).compareCounts(countStrings(cur), len(cur), c)
}

// Compare compares a current categorical sample with the reference; see
// [CompareCategorical]. cur is not modified.
func (r *CategoricalReference) Compare(cur []string, opts ...DriftOption) (FeatureDrift, error) {
	c, err := newDriftConfig(opts)
	if err != nil {
		return FeatureDrift{}, err
	}
	return r.compareCounts(countStrings(cur), len(cur), c)
}

func (r *CategoricalReference) compareCounts(cur map[string]int, curN int, c driftConfig) (FeatureDrift, error) {
	fd := FeatureDrift{Feature: c.feature, Segment: c.segment, Type: ColumnCategorical, RefN: r.n, CurN: curN, Method: c.method}
	if fd.Method.numericOnly() {
		return FeatureDrift{}, optErr("drift method %q on a categorical column", fd.Method)
	}
	keys := make([]string, 0, len(r.counts)+len(cur))
	for k := range r.counts {
		keys = append(keys, k)
	}
	for k := range cur {
		if _, ok := r.counts[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if fd.Method == "" && r.n > 0 && curN > 0 {
		switch {
		case r.n > 1000:
			fd.Method = MethodJensenShannon
		case len(keys) > 2:
			fd.Method = MethodChiSquare
		default:
			fd.Method = MethodZ
		}
	}
	t, err := c.thresholdFor(fd.Method)
	if err != nil {
		return FeatureDrift{}, err
	}
	fd.Threshold = t
	switch {
	case r.n == 0 && curN == 0:
		fd.insufficient("both samples are empty")
		return fd, nil
	case r.n == 0:
		fd.insufficient("the reference sample is empty")
		return fd, nil
	case curN == 0:
		fd.insufficient("the current sample is empty")
		return fd, nil
	case r.n < c.minN || curN < c.minN:
		fd.insufficient(fmt.Sprintf("fewer than %d values on one side", c.minN))
		return fd, nil
	}
	b := binned{refN: float64(r.n), curN: float64(curN)}
	b.ref = make([]float64, len(keys))
	b.cur = make([]float64, len(keys))
	for i, k := range keys {
		b.ref[i] = float64(r.counts[k])
		b.cur[i] = float64(cur[k])
	}
	b.firstRef, b.firstCur = r.counts[keys[0]], cur[keys[0]]
	b.sameOne = len(keys) == 1
	b.desc = fmt.Sprintf("one bin per category: %d categories in the union of reference and current", len(keys))
	fd.Bins = b.desc
	applyBinned(&fd, b, c)
	fd.judge()
	return fd, nil
}

type categoricalReferenceJSON struct {
	N      int            `json:"n"`
	Counts map[string]int `json:"counts"`
}

// MarshalJSON encodes the reference.
func (r *CategoricalReference) MarshalJSON() ([]byte, error) {
	counts := r.counts
	if counts == nil {
		counts = map[string]int{}
	}
	return json.Marshal(categoricalReferenceJSON{N: r.n, Counts: counts})
}

// UnmarshalJSON decodes and validates a stored reference: counts must be
// positive and add up to n.
func (r *CategoricalReference) UnmarshalJSON(b []byte) error {
	var j categoricalReferenceJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("evaluate: categorical reference: %w", err)
	}
	total := 0
	for k, v := range j.Counts {
		if v < 1 || v > j.N-total {
			return fmt.Errorf("evaluate: categorical reference: count of %q: %w", k, ErrInvalidDriftOption)
		}
		total += v
	}
	if total != j.N {
		return fmt.Errorf("evaluate: categorical reference: counts add up to %d, n is %d: %w", total, j.N, ErrInvalidDriftOption)
	}
	if j.Counts == nil {
		j.Counts = map[string]int{}
	}
	*r = CategoricalReference{n: j.N, counts: j.Counts}
	return nil
}
