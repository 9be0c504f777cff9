package evaluate

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"runtime"
	"slices"
	"sync"
)

// Frame is a set of named feature columns: numeric columns as float64
// (NaN and ±Inf are dropped and counted when compared) and categorical
// columns as strings. A name must not appear in both maps. Columns need
// not have equal lengths. Functions that take a Frame do not modify it.
type Frame struct {
	Numeric     map[string][]float64
	Categorical map[string][]string
}

func (f Frame) check(what string) error {
	for name := range f.Numeric {
		if _, ok := f.Categorical[name]; ok {
			return optErr("%s: column %q is both numeric and categorical", what, name)
		}
	}
	return nil
}

// ReferenceProfile is the stored summary of a reference dataset: one
// [NumericReference] or [CategoricalReference] per column. Compute it once
// with [NewReferenceProfile], store its JSON, and compare daily samples
// with [ReferenceProfile.Compare] without re-reading the reference. It is
// immutable after construction and safe for concurrent use.
type ReferenceProfile struct {
	// Numeric holds the numeric columns by name.
	Numeric map[string]*NumericReference `json:"numeric"`
	// Categorical holds the categorical columns by name.
	Categorical map[string]*CategoricalReference `json:"categorical"`
}

// NewReferenceProfile summarises every column of ref. [WithMaxReferenceValues]
// caps the numeric columns; other options are validated and ignored. It
// returns an error wrapping [ErrInvalidDriftOption] for an invalid option
// or a column that is both numeric and categorical. ref is not modified.
func NewReferenceProfile(ref Frame, opts ...DriftOption) (*ReferenceProfile, error) {
	c, err := newDriftConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := ref.check("reference"); err != nil {
		return nil, err
	}
	p := &ReferenceProfile{
		Numeric:     make(map[string]*NumericReference, len(ref.Numeric)),
		Categorical: make(map[string]*CategoricalReference, len(ref.Categorical)),
	}
	names := slices.Sorted(maps.Keys(ref.Numeric))
	refs := make([]*NumericReference, len(names))
	parallelFor(len(names), func(i int) {
		fc, err := c.forFeature(names[i])
		if err != nil {
			fc = c
		}
		refs[i] = newNumericReference(ref.Numeric[names[i]], fc)
	})
	for i, name := range names {
		p.Numeric[name] = refs[i]
	}
	for name, v := range ref.Categorical {
		p.Categorical[name] = newCategoricalReference(v)
	}
	return p, nil
}

// parallelFor runs f(0..n-1) on up to GOMAXPROCS goroutines.
func parallelFor(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// DatasetDrift is the result of comparing a current dataset (or one
// segment of it) with the reference. It is plain data; its JSON form writes
// a NaN DriftShare as "NaN".
type DatasetDrift struct {
	// Segment is the segment key, "" when unsegmented.
	Segment string `json:"segment,omitempty"`
	// Features holds one result per column of the reference or the
	// current data, sorted by name.
	Features []FeatureDrift `json:"features"`
	// Judged counts the features with a score (status ok or drift).
	Judged int `json:"judged"`
	// Drifted counts the features with status drift.
	Drifted int `json:"drifted"`
	// DriftShare is Drifted/Judged, NaN when nothing was judged. Unlike
	// Evidently, features without enough data are left out of the
	// denominator rather than counted as not drifted.
	DriftShare float64 `json:"drift_share"`
	// DriftShareThreshold is the share at which the dataset counts as
	// drifted (default [DefaultDriftShare]).
	DriftShareThreshold float64 `json:"drift_share_threshold"`
	// DatasetDrifted reports DriftShare >= DriftShareThreshold (Evidently's
	// dataset_drift rule).
	DatasetDrifted bool `json:"dataset_drifted"`
	// Status is drift when DatasetDrifted, insufficient_data when no
	// feature was judged, ok otherwise.
	Status DriftStatus `json:"status"`
	// Message is a sentence for the person on call.
	Message string `json:"message"`
}

// CompareDataset compares every column of cur with the same column of
// ref (see [CompareNumeric] and [CompareCategorical]) and computes the
// drift share. Columns present on one side only are reported with
// [StatusInsufficientData]; so is a column numeric on one side and
// categorical on the other. [WithFeatureOptions] sets per-column options.
// Columns are compared concurrently. The error is non-nil only for invalid
// options or frames (wrapping [ErrInvalidDriftOption]). The inputs are not
// modified. It is safe for concurrent use.
func CompareDataset(ref, cur Frame, opts ...DriftOption) (DatasetDrift, error) {
	p, err := NewReferenceProfile(ref, opts...)
	if err != nil {
		return DatasetDrift{}, err
	}
	return p.Compare(cur, opts...)
}

// Compare compares cur with the profiled reference; see [CompareDataset].
// cur is not modified.
func (p *ReferenceProfile) Compare(cur Frame, opts ...DriftOption) (DatasetDrift, error) {
	c, err := newDriftConfig(opts)
	if err != nil {
		return DatasetDrift{}, err
	}
	return p.compare(cur, "", c)
}

type featureJob struct {
	name string
	run  func(c driftConfig) (FeatureDrift, error)
}

func (p *ReferenceProfile) compare(cur Frame, segment string, c driftConfig) (DatasetDrift, error) {
	if err := cur.check("current"); err != nil {
		return DatasetDrift{}, err
	}
	var jobs []featureJob
	missing := func(name string, typ ColumnType, refN, curN int, reason string) featureJob {
		return featureJob{name: name, run: func(c driftConfig) (FeatureDrift, error) {
			fd := FeatureDrift{Feature: c.feature, Segment: c.segment, Type: typ, Method: c.method, RefN: refN, CurN: curN}
			fd.Threshold = math.NaN()
			if fd.Method != "" {
				fd.Threshold, _ = c.thresholdFor(fd.Method)
			}
			fd.insufficient(reason)
			return fd, nil
		}}
	}
	for name, r := range p.Numeric {
		if v, ok := cur.Numeric[name]; ok {
			jobs = append(jobs, featureJob{name: name, run: func(c driftConfig) (FeatureDrift, error) { return r.compare(v, c) }})
		} else if v, ok := cur.Categorical[name]; ok {
			jobs = append(jobs, missing(name, ColumnNumeric, r.n, len(v), "numeric in the reference but categorical in the current data"))
		} else {
			jobs = append(jobs, missing(name, ColumnNumeric, r.n, 0, "missing from the current data"))
		}
	}
	for name, r := range p.Categorical {
		if v, ok := cur.Categorical[name]; ok {
			jobs = append(jobs, featureJob{name: name, run: func(c driftConfig) (FeatureDrift, error) {
				return r.compareCounts(countStrings(v), len(v), c)
			}})
		} else if v, ok := cur.Numeric[name]; ok {
			jobs = append(jobs, missing(name, ColumnCategorical, r.n, len(v), "categorical in the reference but numeric in the current data"))
		} else {
			jobs = append(jobs, missing(name, ColumnCategorical, r.n, 0, "missing from the current data"))
		}
	}
	for name, v := range cur.Numeric {
		if _, ok := p.Numeric[name]; !ok {
			if _, ok := p.Categorical[name]; !ok {
				jobs = append(jobs, missing(name, ColumnNumeric, 0, len(v), "no reference for this column"))
			}
		}
	}
	for name, v := range cur.Categorical {
		if _, ok := p.Categorical[name]; !ok {
			if _, ok := p.Numeric[name]; !ok {
				jobs = append(jobs, missing(name, ColumnCategorical, 0, len(v), "no reference for this column"))
			}
		}
	}
	slices.SortFunc(jobs, func(a, b featureJob) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	out := DatasetDrift{Segment: segment, Features: make([]FeatureDrift, len(jobs)), DriftShareThreshold: c.driftShare}
	errs := make([]error, len(jobs))
	parallelFor(len(jobs), func(i int) {
		fc, err := c.forFeature(jobs[i].name)
		if err != nil {
			errs[i] = err
			return
		}
		fc.feature, fc.segment = jobs[i].name, segment
		fd, err := jobs[i].run(fc)
		if err != nil {
			errs[i] = fmt.Errorf("evaluate: feature %q: %w", jobs[i].name, err)
			return
		}
		out.Features[i] = fd
	})
	for _, err := range errs {
		if err != nil {
			return DatasetDrift{}, err
		}
	}
	for _, fd := range out.Features {
		switch fd.Status {
		case StatusDrift:
			out.Drifted++
			out.Judged++
		case StatusOK:
			out.Judged++
		}
	}
	where := "dataset"
	if segment != "" {
		where = "segment " + segment
	}
	if out.Judged == 0 {
		out.DriftShare = math.NaN()
		out.Status = StatusInsufficientData
		out.Message = fmt.Sprintf("%s: not judged: no feature had enough data (%d features)", where, len(out.Features))
		return out, nil
	}
	out.DriftShare = float64(out.Drifted) / float64(out.Judged)
	out.DatasetDrifted = out.DriftShare >= c.driftShare
	out.Status = StatusOK
	verdict := "no dataset drift"
	if out.DatasetDrifted {
		out.Status = StatusDrift
		verdict = "DATASET DRIFT"
	}
	out.Message = fmt.Sprintf("%s: %s: %d of %d judged features drifted (share %.3g, threshold %.3g); %d not judged",
		where, verdict, out.Drifted, out.Judged, out.DriftShare, c.driftShare, len(out.Features)-out.Judged)
	return out, nil
}

// CompareSegments compares each segment of cur (e.g. per country) with the
// same reference profile and returns one [DatasetDrift] per segment, sorted
// by segment key. The whole reference is passed to every segment (the
// pitfall of evidently#1531, where segments lost their reference); to
// compare each segment with its own reference use
// [CompareSegmentsPaired]. Errors are those of [ReferenceProfile.Compare].
func CompareSegments(ref *ReferenceProfile, cur map[string]Frame, opts ...DriftOption) ([]DatasetDrift, error) {
	c, err := newDriftConfig(opts)
	if err != nil {
		return nil, err
	}
	if ref == nil {
		return nil, optErr("nil reference profile")
	}
	var out []DatasetDrift
	for _, seg := range slices.Sorted(maps.Keys(cur)) {
		d, err := ref.compare(cur[seg], seg, c)
		if err != nil {
			return nil, fmt.Errorf("evaluate: segment %q: %w", seg, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// CompareSegmentsPaired compares each segment of cur with the reference
// profile of the same segment. A segment without a reference is reported
// with every feature [StatusInsufficientData] ("no reference for this
// column"), never dropped silently. Errors are those of
// [ReferenceProfile.Compare].
func CompareSegmentsPaired(ref map[string]*ReferenceProfile, cur map[string]Frame, opts ...DriftOption) ([]DatasetDrift, error) {
	c, err := newDriftConfig(opts)
	if err != nil {
		return nil, err
	}
	var out []DatasetDrift
	for _, seg := range slices.Sorted(maps.Keys(cur)) {
		p := ref[seg]
		if p == nil {
			p = &ReferenceProfile{}
		}
		d, err := p.compare(cur[seg], seg, c)
		if err != nil {
			return nil, fmt.Errorf("evaluate: segment %q: %w", seg, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// SplitFrame splits f into segments by the values of its categorical
// column named column (e.g. "country"). Every other column must have the
// length of the segment column. The segment column is left out of the
// segments. It returns an error wrapping [ErrInvalidDriftOption] when the
// column is missing or lengths differ. f is not modified.
func SplitFrame(f Frame, column string) (map[string]Frame, error) {
	keys, ok := f.Categorical[column]
	if !ok {
		return nil, optErr("segment column %q is not a categorical column", column)
	}
	for name, v := range f.Numeric {
		if len(v) != len(keys) {
			return nil, optErr("column %q has %d rows, segment column %q has %d", name, len(v), column, len(keys))
		}
	}
	for name, v := range f.Categorical {
		if len(v) != len(keys) {
			return nil, optErr("column %q has %d rows, segment column %q has %d", name, len(v), column, len(keys))
		}
	}
	out := make(map[string]Frame)
	for i, k := range keys {
		seg, ok := out[k]
		if !ok {
			seg = Frame{Numeric: make(map[string][]float64, len(f.Numeric)), Categorical: make(map[string][]string, len(f.Categorical))}
			out[k] = seg
		}
		for name, v := range f.Numeric {
			seg.Numeric[name] = append(seg.Numeric[name], v[i])
		}
		for name, v := range f.Categorical {
			if name != column {
				seg.Categorical[name] = append(seg.Categorical[name], v[i])
			}
		}
	}
	return out, nil
}

type datasetDriftJSON struct {
	Segment             string         `json:"segment,omitempty"`
	Features            []FeatureDrift `json:"features"`
	Judged              int            `json:"judged"`
	Drifted             int            `json:"drifted"`
	DriftShare          jsonFloat      `json:"drift_share"`
	DriftShareThreshold jsonFloat      `json:"drift_share_threshold"`
	DatasetDrifted      bool           `json:"dataset_drifted"`
	Status              DriftStatus    `json:"status"`
	Message             string         `json:"message"`
}

// MarshalJSON encodes d with a NaN drift share as "NaN".
func (d DatasetDrift) MarshalJSON() ([]byte, error) {
	return json.Marshal(datasetDriftJSON{
		Segment: d.Segment, Features: d.Features, Judged: d.Judged, Drifted: d.Drifted,
		DriftShare: jsonFloat(d.DriftShare), DriftShareThreshold: jsonFloat(d.DriftShareThreshold),
		DatasetDrifted: d.DatasetDrifted, Status: d.Status, Message: d.Message,
	})
}

// UnmarshalJSON decodes what MarshalJSON writes.
func (d *DatasetDrift) UnmarshalJSON(b []byte) error {
	var j datasetDriftJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("evaluate: dataset drift: %w", err)
	}
	*d = DatasetDrift{
		Segment: j.Segment, Features: j.Features, Judged: j.Judged, Drifted: j.Drifted,
		DriftShare: float64(j.DriftShare), DriftShareThreshold: float64(j.DriftShareThreshold),
		DatasetDrifted: j.DatasetDrifted, Status: j.Status, Message: j.Message,
	}
	return nil
}
