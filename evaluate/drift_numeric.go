package evaluate

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
)

// NumericReference is the stored summary of one numeric reference column:
// its finite values sorted (run-length encoded in JSON), or a capped set of
// order statistics (see [WithMaxReferenceValues]), with its size, the count
// of dropped NaN/±Inf values, its population standard deviation and its
// number of distinct values. Build it once with [NewNumericReference],
// store its JSON, and compare each day's sample with
// [NumericReference.Compare]: an exact reference gives the same numbers as
// [CompareNumeric] on the raw reference. It is immutable and safe for
// concurrent use.
type NumericReference struct {
	n       int       // finite values in the reference
	dropped int       // NaN and ±Inf values dropped
	sorted  []float64 // all finite values sorted, or the capped sketch
	exact   bool
	std     float64 // np.std(ddof=0) of all finite values
	unique  int     // distinct finite values
}

// NewNumericReference summarises a numeric reference sample. NaN and ±Inf
// values are dropped and counted. Only [WithMaxReferenceValues] matters
// here; other options are validated and ignored. values is not modified.
// An empty or all-NaN sample gives a valid reference with N() == 0, whose
// comparisons report [StatusInsufficientData].
func NewNumericReference(values []float64, opts ...DriftOption) (*NumericReference, error) {
	c, err := newDriftConfig(opts)
	if err != nil {
		return nil, err
	}
	return newNumericReference(values, c), nil
}

func newNumericReference(values []float64, c driftConfig) *NumericReference {
	s, dropped := finiteSorted(values)
	r := &NumericReference{n: len(s), dropped: dropped, sorted: s, exact: true, std: math.NaN()}
	if len(s) > 0 {
		r.std = npStd(s)
	}
	r.unique = countDistinct(s)
	if c.maxRefValues > 0 && r.unique > c.maxRefValues {
		k := c.maxRefValues
		sk := make([]float64, k)
		for i := range sk {
			idx := int(math.Round(float64(i) * float64(len(s)-1) / float64(k-1)))
			sk[i] = s[idx]
		}
		r.sorted, r.exact = sk, false
	}
	return r
}

// N returns the number of finite reference values.
func (r *NumericReference) N() int { return r.n }

// Dropped returns the number of NaN and ±Inf reference values dropped.
func (r *NumericReference) Dropped() int { return r.dropped }

// Exact reports whether the reference keeps every value (false for a
// capped sketch).
func (r *NumericReference) Exact() bool { return r.exact }

// finiteSorted returns a sorted copy of the finite values of x and the
// number of NaN/±Inf values left out.
func finiteSorted(x []float64) ([]float64, int) {
	s := make([]float64, 0, len(x))
	for _, v := range x {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			s = append(s, v)
		}
	}
	sortFloats(s)
	return s, len(x) - len(s)
}

func countDistinct(s []float64) int {
	n := 0
	for i := range s {
		if i == 0 || s[i] != s[i-1] {
			n++
		}
	}
	return n
}

// pooledDistinct counts the distinct values of two sorted samples together.
func pooledDistinct(a, b []float64) int {
	i, j, n := 0, 0, 0
	for i < len(a) || j < len(b) {
		var v float64
		switch {
		case i == len(a):
			v = b[j]
		case j == len(b):
			v = a[i]
		default:
			v = min(a[i], b[j])
		}
		n++
		for i < len(a) && a[i] == v {
			i++
		}
		for j < len(b) && b[j] == v {
			j++
		}
	}
	return n
}

// CompareNumeric compares a current numeric sample with a reference sample
// and returns the drift result. NaN and ±Inf values are dropped and
// counted on both sides. Unless [WithMethod] forces one, the method is
// Evidently's default (evaluate.md §2.2): with at most 1000 reference
// values, KS when ref and cur together have more than 5 distinct values,
// chi-square for 3 to 5, z for at most 2; with more than 1000, normed
// Wasserstein for more than 5 distinct values and Jensen-Shannon
// otherwise. Samples smaller than the minimum size give
// [StatusInsufficientData] and no score. The error is non-nil only for an
// invalid option (wrapping [ErrInvalidDriftOption]). The inputs are not
// modified. It is safe for concurrent use.
func CompareNumeric(ref, cur []float64, opts ...DriftOption) (FeatureDrift, error) {
	c, err := newDriftConfig(opts)
	if err != nil {
		return FeatureDrift{}, err
	}
	r, cs, dropped := prepareNumeric(ref, cur, c)
	return r.compareSorted(cs, dropped, c)
}

// prepareNumeric builds the reference and sorts the current sample
// concurrently.
func prepareNumeric(ref, cur []float64, c driftConfig) (*NumericReference, []float64, int) {
	var r *NumericReference
	done := make(chan struct{})
	go func() {
		defer close(done)
		r = newNumericReference(ref, c)
	}()
	cs, dropped := finiteSorted(cur)
	<-done
	return r, cs, dropped
}

// CompareNumericMethods runs several drift methods on the same pair of
// numeric samples, sorting each sample once and running the methods
// concurrently, and returns one result per method in the order given. An empty methods list means
// {MethodKS, MethodWasserstein, MethodPSI}. A [WithMethod] option is
// ignored. Errors and input handling are those of [CompareNumeric].
func CompareNumericMethods(ref, cur []float64, methods []Method, opts ...DriftOption) ([]FeatureDrift, error) {
	c, err := newDriftConfig(opts)
	if err != nil {
		return nil, err
	}
	r, cs, dropped := prepareNumeric(ref, cur, c)
	return r.compareMethods(cs, dropped, methods, c)
}

// CompareMethods is [CompareNumericMethods] against a stored reference.
func (r *NumericReference) CompareMethods(cur []float64, methods []Method, opts ...DriftOption) ([]FeatureDrift, error) {
	c, err := newDriftConfig(opts)
	if err != nil {
		return nil, err
	}
	cs, dropped := finiteSorted(cur)
	return r.compareMethods(cs, dropped, methods, c)
}

func (r *NumericReference) compareMethods(cs []float64, dropped int, methods []Method, c driftConfig) ([]FeatureDrift, error) {
	if len(methods) == 0 {
		methods = []Method{MethodKS, MethodWasserstein, MethodPSI}
	}
	for _, m := range methods {
		if m.Kind() == "" {
			return nil, optErr("drift method %q", m)
		}
	}
	out := make([]FeatureDrift, len(methods))
	errs := make([]error, len(methods))
	parallelFor(len(methods), func(i int) {
		mc := c
		mc.method = methods[i]
		out[i], errs[i] = r.compareSorted(cs, dropped, mc)
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Compare compares a current numeric sample with the reference; see
// [CompareNumeric]. cur is not modified.
func (r *NumericReference) Compare(cur []float64, opts ...DriftOption) (FeatureDrift, error) {
	c, err := newDriftConfig(opts)
	if err != nil {
		return FeatureDrift{}, err
	}
	return r.compare(cur, c)
}

func (r *NumericReference) compare(cur []float64, c driftConfig) (FeatureDrift, error) {
	cs, dropped := finiteSorted(cur)
	return r.compareSorted(cs, dropped, c)
}

func (r *NumericReference) defaultMethod(cs []float64) Method {
	var nUnique int
	if r.exact {
		nUnique = pooledDistinct(r.sorted, cs)
	} else {
		nUnique = r.unique // > the cap >= 100: every cut-off below is passed
	}
	if r.n <= 1000 {
		switch {
		case nUnique > 5:
			return MethodKS
		case nUnique >= 3:
			return MethodChiSquare
		default:
			return MethodZ
		}
	}
	if nUnique > 5 {
		return MethodWasserstein
	}
	return MethodJensenShannon
}

// compareSorted compares with a sorted, finite current sample.
func (r *NumericReference) compareSorted(cs []float64, curDropped int, c driftConfig) (FeatureDrift, error) {
	fd := FeatureDrift{
		Feature: c.feature, Segment: c.segment, Type: ColumnNumeric, RefN: r.n, CurN: len(cs), RefDropped: r.dropped, CurDropped: curDropped,
		Approximate: !r.exact, Method: c.method,
	}
	if fd.Method == "" && r.n > 0 && len(cs) > 0 {
		fd.Method = r.defaultMethod(cs)
	}
	t, err := c.thresholdFor(fd.Method)
	if err != nil {
		return FeatureDrift{}, err
	}
	fd.Threshold = t
	switch {
	case r.n == 0 && len(cs) == 0:
		fd.insufficient("both samples are empty after dropping NaN/Inf")
		return fd, nil
	case r.n == 0:
		fd.insufficient("the reference sample is empty after dropping NaN/Inf")
		return fd, nil
	case len(cs) == 0:
		fd.insufficient("the current sample is empty after dropping NaN/Inf")
		return fd, nil
	case r.n < c.minN || len(cs) < c.minN:
		fd.insufficient(fmt.Sprintf("fewer than %d values on one side", c.minN))
		return fd, nil
	}
	ref := r.sorted
	switch fd.Method {
	case MethodKS:
		dplus, dminus := ksStatSorted(ref, cs)
		res := ksFromStat(dplus, dminus, r.n, len(cs), c.alternative, c.ksMethod)
		fd.Statistic, fd.PValue, fd.Score = res.Statistic, res.PValue, res.PValue
		fd.Detail = fmt.Sprintf("scipy.stats.ks_2samp(ref, cur), alternative %s, %s p-value", res.Alternative, res.Method)
	case MethodWasserstein:
		w := cdfDistance(1, weightedSorted{x: ref}, weightedSorted{x: cs})
		fd.Statistic = w
		fd.Score = w / math.Max(r.std, 0.001)
		fd.PValue = math.NaN()
		fd.Detail = fmt.Sprintf("W1 / max(std_ref, 0.001), std_ref = %.6g (ddof=0)", r.std)
	case MethodChiSquare, MethodZ, MethodPSI, MethodKL, MethodJensenShannon:
		b, ok := r.bin(cs, fd.Method)
		if !ok {
			fd.insufficient("the pooled value range overflows float64")
			return fd, nil
		}
		fd.Bins = b.desc
		applyBinned(&fd, b, c)
	default:
		return FeatureDrift{}, optErr("drift method %q", fd.Method)
	}
	fd.judge()
	return fd, nil
}

// binned holds aligned reference and current counts over common bins.
type binned struct {
	ref, cur       []float64 // counts
	refN, curN     float64   // sample sizes the proportions divide by
	firstRef       int       // count of the smallest category (z-test)
	firstCur       int
	desc           string
	refOne, curOne bool // each side has a single distinct value
	sameOne        bool // both sides constant with the same value
}

// bin bins the reference and current samples as Evidently's
// get_binned_data: for PSI, KL and JS, Sturges bins on the pooled range
// when the reference has more than 20 distinct values; otherwise (and
// always for chi-square and z) one bin per distinct value of the union.
func (r *NumericReference) bin(cs []float64, m Method) (binned, bool) {
	ref := r.sorted
	b := binned{refN: float64(len(ref)), curN: float64(len(cs))}
	binnable := m == MethodPSI || m == MethodKL || m == MethodJensenShannon
	if binnable && r.unique > 20 {
		lo, hi := min(ref[0], cs[0]), max(ref[len(ref)-1], cs[len(cs)-1])
		edges := sturgesEdges(lo, hi, r.n+len(cs))
		if edges == nil {
			return b, false
		}
		b.cur = intsToFloats(histogramSorted(cs, edges))
		if r.exact {
			b.ref = intsToFloats(histogramSorted(ref, edges))
		} else {
			b.ref = sketchHistogram(ref, edges)
		}
		b.desc = fmt.Sprintf("sturges: %d equal-width bins on the pooled range [%.6g, %.6g] of reference+current (numpy histogram_bin_edges, last bin closed)", len(edges)-1, lo, hi)
		return b, true
	}
	// One bin per distinct value of the union, in ascending order.
	i, j := 0, 0
	for i < len(ref) || j < len(cs) {
		var v float64
		switch {
		case i == len(ref):
			v = cs[j]
		case j == len(cs):
			v = ref[i]
		default:
			v = min(ref[i], cs[j])
		}
		i0, j0 := i, j
		for i < len(ref) && ref[i] == v {
			i++
		}
		for j < len(cs) && cs[j] == v {
			j++
		}
		b.ref = append(b.ref, float64(i-i0))
		b.cur = append(b.cur, float64(j-j0))
	}
	b.firstRef, b.firstCur = int(b.ref[0]), int(b.cur[0])
	b.refOne = ref[0] == ref[len(ref)-1]
	b.curOne = cs[0] == cs[len(cs)-1]
	b.sameOne = b.refOne && b.curOne && ref[0] == cs[0]
	b.desc = fmt.Sprintf("one bin per distinct value: %d values in the union of reference and current", len(b.ref))
	return b, true
}

// sketchHistogram estimates the share of the reference in each bin from
// the order statistics sk kept by a capped reference, by interpolating the
// ECDF linearly between them (sk[i] has rank i/(k−1)). The shares add up
// to 1 and are returned as counts over len(sk) values.
func sketchHistogram(sk, edges []float64) []float64 {
	k := len(sk)
	cdf := func(e float64) float64 {
		j, _ := slices.BinarySearch(sk, e) // sketch values < e
		switch {
		case j == 0:
			return 0
		case j == k:
			return 1
		}
		frac := (e - sk[j-1]) / (sk[j] - sk[j-1])
		return (float64(j-1) + frac) / float64(k-1)
	}
	out := make([]float64, len(edges)-1)
	prev := cdf(edges[0])
	for i := 1; i < len(edges); i++ {
		c := cdf(edges[i])
		if i == len(edges)-1 && edges[i] >= sk[k-1] {
			c = 1
		}
		out[i-1] = (c - prev) * float64(k)
		prev = c
	}
	return out
}

func intsToFloats(x []int) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

const zeroFillRule = "per side, empty bins set to min_nonzero/1e6 if min_nonzero <= 1e-4, else 1e-4, not renormalised (Evidently)"

// applyBinned computes a binned method's score into fd.
func applyBinned(fd *FeatureDrift, b binned, c driftConfig) {
	props := func(counts []float64, n float64) []float64 {
		out := make([]float64, len(counts))
		for i, v := range counts {
			out[i] = v / n
		}
		return out
	}
	fd.PValue = math.NaN()
	switch fd.Method {
	case MethodChiSquare:
		k := b.curN / b.refN
		exp := make([]float64, len(b.ref))
		for i, v := range b.ref {
			exp[i] = v * k
		}
		res := chiSquare(b.cur, exp)
		fd.Statistic, fd.PValue, fd.Score = res.Statistic, res.PValue, res.PValue
		fd.Detail = fmt.Sprintf("goodness of fit, expected = reference counts × n_cur/n_ref, dof %d", res.DOF)
	case MethodZ:
		if b.sameOne {
			fd.Statistic, fd.PValue, fd.Score = 0, 1, 1
			fd.Detail = "both samples hold the same single value: p = 1"
			return
		}
		z, p := twoProportionZ(int(b.refN)-b.firstRef, int(b.refN), int(b.curN)-b.firstCur, int(b.curN))
		fd.Statistic, fd.PValue, fd.Score = z, p, p
		fd.Detail = "pooled two-proportion z-test of the smallest category's share, two-sided"
	case MethodPSI:
		r, cu := FillZeros(props(b.ref, b.refN)), FillZeros(props(b.cur, b.curN))
		fd.Score = psi(r, cu)
		fd.ZeroFill = zeroFillRule
		fd.LogBase = "e"
	case MethodKL:
		r, cu := FillZeros(props(b.ref, b.refN)), FillZeros(props(b.cur, b.curN))
		fd.Score = klDivergence(r, cu, c.logBase)
		fd.ZeroFill = zeroFillRule
		fd.LogBase = logBaseString(c.logBase)
		fd.Detail = "KL(reference ‖ current)"
	case MethodJensenShannon:
		fd.Score = jensenShannon(props(b.ref, b.refN), props(b.cur, b.curN), c.logBase)
		fd.LogBase = logBaseString(c.logBase)
		fd.Detail = "Jensen-Shannon distance (square root of the divergence), no zero fill"
	}
	if fd.Method.Kind() == KindDistance {
		fd.Statistic = fd.Score
	}
}

// numericReferenceJSON is the stored form of a NumericReference.
type numericReferenceJSON struct {
	N       int       `json:"n"`
	Dropped int       `json:"dropped"`
	Exact   bool      `json:"exact"`
	Std     jsonFloat `json:"std"`
	Unique  int       `json:"unique"`
	Values  []float64 `json:"values"`
	Counts  []int     `json:"counts"`
}

// MarshalJSON encodes the reference with its values run-length encoded
// (distinct sorted values and their counts).
func (r *NumericReference) MarshalJSON() ([]byte, error) {
	j := numericReferenceJSON{N: r.n, Dropped: r.dropped, Exact: r.exact, Std: jsonFloat(r.std), Unique: r.unique,
		Values: []float64{}, Counts: []int{}}
	for i, v := range r.sorted {
		if i > 0 && v == r.sorted[i-1] {
			j.Counts[len(j.Counts)-1]++
			continue
		}
		j.Values = append(j.Values, v)
		j.Counts = append(j.Counts, 1)
	}
	return json.Marshal(j)
}

// maxDecodedValues bounds the values a decoded reference expands to, so a
// corrupt file cannot exhaust memory.
const maxDecodedValues = 1 << 27

// UnmarshalJSON decodes and validates a stored reference. The values
// expand to at most 2^27 (134 million) entries.
func (r *NumericReference) UnmarshalJSON(b []byte) error {
	var j numericReferenceJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("evaluate: numeric reference: %w", err)
	}
	bad := func(what string) error {
		return fmt.Errorf("evaluate: numeric reference: %s: %w", what, ErrInvalidDriftOption)
	}
	if len(j.Values) != len(j.Counts) {
		return bad("values and counts differ in length")
	}
	if j.N < 0 || j.Dropped < 0 || j.Unique < 0 {
		return bad("negative size")
	}
	var s []float64
	total := 0
	for i, v := range j.Values {
		if math.IsNaN(v) || math.IsInf(v, 0) || (i > 0 && !(v > j.Values[i-1])) {
			return bad("values not finite and strictly increasing")
		}
		if j.Counts[i] < 1 || j.Counts[i] > j.N-total || total+j.Counts[i] > maxDecodedValues {
			return bad("counts not positive, above n or above the decoding limit")
		}
		total += j.Counts[i]
		for range j.Counts[i] {
			s = append(s, v)
		}
	}
	if j.Exact && (total != j.N || j.Unique != len(j.Values)) {
		return bad("exact reference whose counts do not add up to n")
	}
	if (j.N == 0) != (total == 0) || total > j.N {
		return bad("counts do not match n")
	}
	*r = NumericReference{n: j.N, dropped: j.Dropped, sorted: s, exact: j.Exact, std: float64(j.Std), unique: j.Unique}
	return nil
}
