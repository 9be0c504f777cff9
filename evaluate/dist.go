package evaluate

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// pairwiseSum returns the sum of n terms in the order numpy's pairwise
// summation (np.sum on a contiguous float64 array) adds them, so sums match
// numpy to the last bit or close to it. fill is called with consecutive
// blocks of at most 128 slots and must write the next terms, in index
// order, into them.
func pairwiseSum(n int, fill func(dst []float64)) float64 {
	var buf [128]float64
	return pairwiseRec(n, fill, &buf)
}

func pairwiseRec(n int, fill func(dst []float64), buf *[128]float64) float64 {
	if n <= 128 {
		a := buf[:n]
		fill(a)
		return pairwiseLeaf(a)
	}
	n2 := n / 2
	n2 -= n2 % 8
	left := pairwiseRec(n2, fill, buf)
	return left + pairwiseRec(n-n2, fill, buf)
}

// pairwiseLeaf is numpy's pairwise_sum for n <= 128.
func pairwiseLeaf(a []float64) float64 {
	n := len(a)
	if n < 8 {
		res := 0.0
		for _, v := range a {
			res += v
		}
		return res
	}
	r0, r1, r2, r3, r4, r5, r6, r7 := a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]
	i := 8
	for ; i < n-(n%8); i += 8 {
		b := a[i : i+8 : i+8]
		r0 += b[0]
		r1 += b[1]
		r2 += b[2]
		r3 += b[3]
		r4 += b[4]
		r5 += b[5]
		r6 += b[6]
		r7 += b[7]
	}
	res := ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
	for ; i < n; i++ {
		res += a[i]
	}
	return res
}

// seqFill adapts a one-term-at-a-time generator to pairwiseSum.
func seqFill(term func() float64) func(dst []float64) {
	return func(dst []float64) {
		for i := range dst {
			dst[i] = term()
		}
	}
}

// npSum is np.sum(x) for a float64 slice.
func npSum(x []float64) float64 {
	i := 0
	return pairwiseSum(len(x), func(dst []float64) { i += copy(dst, x[i:]) })
}

// npStd is np.std(x) (ddof=0) as numpy computes it.
func npStd(x []float64) float64 {
	n := float64(len(x))
	mean := npSum(x) / n
	i := 0
	ss := pairwiseSum(len(x), func(dst []float64) {
		for k := range dst {
			d := x[i+k] - mean
			dst[k] = d * d
		}
		i += len(dst)
	})
	return math.Sqrt(ss / n)
}

// Wasserstein returns the first Wasserstein (earth mover's) distance
// between the empirical distributions of u and v, with optional weights
// (nil means equal weights), as scipy.stats.wasserstein_distance:
// Σ |U(z_i) − V(z_i)|·(z_{i+1} − z_i) over the pooled sorted values z, with
// U and V the (weighted) ECDFs. Weights must be non-negative and finite,
// have the length of their sample and a positive sum; otherwise it returns
// an error wrapping [ErrInvalidDriftOption]. An empty sample gives
// [ErrEmptySample], NaN gives [ErrNonFinite]; ±Inf values give +Inf or NaN,
// as in SciPy. The inputs are not modified. It is safe for concurrent use.
func Wasserstein(u, v, uWeights, vWeights []float64) (float64, error) {
	uc, vc, err := cdfDistanceInputs("wasserstein", u, v, uWeights, vWeights)
	if err != nil {
		return math.NaN(), err
	}
	return cdfDistance(1, uc, vc), nil
}

// EnergyDistance returns the energy distance between the empirical
// distributions of u and v, with optional weights, as
// scipy.stats.energy_distance: √2·sqrt(Σ (U−V)²·Δz). Errors and input
// handling are those of [Wasserstein].
func EnergyDistance(u, v, uWeights, vWeights []float64) (float64, error) {
	uc, vc, err := cdfDistanceInputs("energy distance", u, v, uWeights, vWeights)
	if err != nil {
		return math.NaN(), err
	}
	return math.Sqrt2 * cdfDistance(2, uc, vc), nil
}

// weightedSorted is a sorted sample with the cumulative sums of its weights
// in sorted order (cum[0] = 0, cum[i] = weight of the first i values); cum
// is nil for equal weights.
type weightedSorted struct {
	x   []float64
	cum []float64
}

func (w weightedSorted) cdfAt(count int) float64 {
	if w.cum == nil {
		return float64(count) / float64(len(w.x))
	}
	return w.cum[count] / w.cum[len(w.cum)-1]
}

func cdfDistanceInputs(name string, u, v, uw, vw []float64) (weightedSorted, weightedSorted, error) {
	a, err := newWeightedSorted(name, u, uw)
	if err != nil {
		return weightedSorted{}, weightedSorted{}, err
	}
	b, err := newWeightedSorted(name, v, vw)
	if err != nil {
		return weightedSorted{}, weightedSorted{}, err
	}
	return a, b, nil
}

func newWeightedSorted(name string, x, w []float64) (weightedSorted, error) {
	if len(x) == 0 {
		return weightedSorted{}, fmt.Errorf("evaluate: %s: %w", name, ErrEmptySample)
	}
	if slices.ContainsFunc(x, math.IsNaN) {
		return weightedSorted{}, fmt.Errorf("evaluate: %s: %w", name, ErrNonFinite)
	}
	if w == nil {
		s := slices.Clone(x)
		slices.Sort(s)
		return weightedSorted{x: s}, nil
	}
	if len(w) != len(x) {
		return weightedSorted{}, fmt.Errorf("evaluate: %s: %d weights for %d values: %w", name, len(w), len(x), ErrInvalidDriftOption)
	}
	total := 0.0
	for _, wi := range w {
		if !(wi >= 0) || math.IsInf(wi, 0) {
			return weightedSorted{}, fmt.Errorf("evaluate: %s: weight %v: %w", name, wi, ErrInvalidDriftOption)
		}
		total += wi
	}
	if !(total > 0) || math.IsInf(total, 0) {
		return weightedSorted{}, fmt.Errorf("evaluate: %s: weights sum to %v: %w", name, total, ErrInvalidDriftOption)
	}
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(x[a], x[b]) })
	s := make([]float64, len(x))
	cum := make([]float64, len(x)+1)
	for i, j := range idx {
		s[i] = x[j]
		cum[i+1] = cum[i] + w[j]
	}
	return weightedSorted{x: s, cum: cum}, nil
}

// cdfDistance is SciPy's _cdf_distance for p = 1 (returns the sum) and
// p = 2 (returns its square root) on sorted samples.
func cdfDistance(p int, u, v weightedSorted) float64 {
	nAll := len(u.x) + len(v.x)
	var pu, pv, cu, cv int // merge cursors and "count <= value" cursors
	next := func() float64 {
		if pv == len(v.x) || (pu < len(u.x) && u.x[pu] <= v.x[pv]) {
			pu++
			return u.x[pu-1]
		}
		pv++
		return v.x[pv-1]
	}
	cur := next()
	s := pairwiseSum(nAll-1, func(dst []float64) {
		for k := range dst {
			for cu < len(u.x) && u.x[cu] <= cur {
				cu++
			}
			for cv < len(v.x) && v.x[cv] <= cur {
				cv++
			}
			nxt := next()
			delta := nxt - cur
			cur = nxt
			d := u.cdfAt(cu) - v.cdfAt(cv)
			if p == 1 {
				dst[k] = math.Abs(d) * delta
			} else {
				dst[k] = d * d * delta
			}
		}
	})
	if p == 1 {
		return s
	}
	return math.Pow(s, 0.5)
}

// relEntr is scipy.special.rel_entr.
func relEntr(x, y float64) float64 {
	switch {
	case math.IsNaN(x) || math.IsNaN(y):
		return math.NaN()
	case x > 0 && y > 0:
		return x * math.Log(x/y)
	case x == 0 && y >= 0:
		return 0
	default:
		return math.Inf(1)
	}
}

func checkDistribution(name string, p, q []float64) error {
	if len(p) == 0 || len(q) == 0 {
		return fmt.Errorf("evaluate: %s: %w", name, ErrEmptySample)
	}
	if len(p) != len(q) {
		return fmt.Errorf("evaluate: %s: lengths %d and %d differ: %w", name, len(p), len(q), ErrInvalidDriftOption)
	}
	for _, s := range [][]float64{p, q} {
		for _, x := range s {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return fmt.Errorf("evaluate: %s: %w", name, ErrNonFinite)
			}
			if x < 0 {
				return fmt.Errorf("evaluate: %s: negative probability %v: %w", name, x, ErrInvalidDriftOption)
			}
		}
	}
	return nil
}

func checkBase(name string, base float64) error {
	if !(base > 0) || base == 1 || math.IsInf(base, 0) {
		return fmt.Errorf("evaluate: %s: log base %v: %w", name, base, ErrInvalidDriftOption)
	}
	return nil
}

func normalized(p []float64) []float64 {
	s := npSum(p)
	out := make([]float64, len(p))
	for i, x := range p {
		out[i] = x / s
	}
	return out
}

// JensenShannon returns the Jensen-Shannon distance (the square root of
// the divergence) between the discrete distributions p and q, as
// scipy.spatial.distance.jensenshannon(p, q, base): p and q are normalised
// to sum to 1 and zeros need no smoothing. base is the logarithm base; pass
// math.E for the natural logarithm (maximum sqrt(ln 2)) or 2 (maximum 1).
// It returns an error for empty, mismatched, negative or non-finite input
// or an invalid base. A vector summing to 0 gives NaN, as in SciPy. The
// inputs are not modified.
func JensenShannon(p, q []float64, base float64) (float64, error) {
	if err := checkDistribution("jensen-shannon", p, q); err != nil {
		return math.NaN(), err
	}
	if err := checkBase("jensen-shannon", base); err != nil {
		return math.NaN(), err
	}
	return jensenShannon(p, q, base), nil
}

func jensenShannon(p, q []float64, base float64) float64 {
	pn, qn := normalized(p), normalized(q)
	m := make([]float64, len(pn))
	for i := range m {
		m[i] = (pn[i] + qn[i]) / 2
	}
	i := 0
	left := pairwiseSum(len(pn), seqFill(func() float64 { r := relEntr(pn[i], m[i]); i++; return r }))
	i = 0
	right := pairwiseSum(len(qn), seqFill(func() float64 { r := relEntr(qn[i], m[i]); i++; return r }))
	js := left + right
	if base != math.E {
		js /= math.Log(base)
	}
	return math.Sqrt(js / 2)
}

// KLDivergence returns the Kullback-Leibler divergence KL(p‖q) =
// Σ p_i log(p_i/q_i) after normalising p and q to sum to 1, as
// scipy.stats.entropy(p, q, base). It is +Inf when some q_i = 0 < p_i.
// Errors and input handling are those of [JensenShannon].
func KLDivergence(p, q []float64, base float64) (float64, error) {
	if err := checkDistribution("kl divergence", p, q); err != nil {
		return math.NaN(), err
	}
	if err := checkBase("kl divergence", base); err != nil {
		return math.NaN(), err
	}
	return klDivergence(p, q, base), nil
}

func klDivergence(p, q []float64, base float64) float64 {
	pn, qn := normalized(p), normalized(q)
	i := 0
	s := pairwiseSum(len(pn), seqFill(func() float64 { r := relEntr(pn[i], qn[i]); i++; return r }))
	if base != math.E {
		s /= math.Log(base)
	}
	return s
}

// PSI returns the population stability index Σ (r_i − c_i)·ln(r_i/c_i) of
// the reference proportions r and the current proportions c, as given: no
// normalisation and no zero fill (see [FillZeros]). A bin that is zero on
// exactly one side makes it +Inf; a bin zero on both sides gives NaN.
// Errors and input handling are those of [JensenShannon].
func PSI(ref, cur []float64) (float64, error) {
	if err := checkDistribution("psi", ref, cur); err != nil {
		return math.NaN(), err
	}
	return psi(ref, cur), nil
}

func psi(r, c []float64) float64 {
	i := 0
	return pairwiseSum(len(r), seqFill(func() float64 {
		v := (r[i] - c[i]) * math.Log(r[i]/c[i])
		i++
		return v
	}))
}

// FillZeros returns a copy of the proportions p with every zero replaced
// as Evidently does before PSI and KL: by min_nonzero/1e6 when the smallest
// non-zero proportion is at most 1e-4, otherwise by 1e-4. The result is not
// renormalised. A vector with no non-zero entry is returned unchanged. p is
// not modified.
func FillZeros(p []float64) []float64 {
	out := slices.Clone(p)
	minNZ := math.Inf(1)
	for _, x := range p {
		if x != 0 && x < minNZ {
			minNZ = x
		}
	}
	if math.IsInf(minNZ, 1) {
		return out
	}
	fill := 0.0001
	if minNZ <= 0.0001 {
		fill = minNZ / 1e6
	}
	for i, x := range out {
		if x == 0 {
			out[i] = fill
		}
	}
	return out
}
