package evaluate

import (
	"fmt"
	"math"
	"slices"
)

// Alternative is the alternative hypothesis of a two-sample
// Kolmogorov-Smirnov test, spelled as SciPy spells it.
type Alternative string

// The alternatives of [KolmogorovSmirnov], as in scipy.stats.ks_2samp: with
// F the ECDF of the first sample and G of the second, AlternativeTwoSided uses
// max|F-G|, AlternativeGreater max(F-G) and AlternativeLess max(G-F).
const (
	AlternativeTwoSided Alternative = "two-sided"
	AlternativeGreater  Alternative = "greater"
	AlternativeLess     Alternative = "less"
)

// KSMethod selects how the p-value of [KolmogorovSmirnov] is computed.
type KSMethod string

// The p-value methods of [KolmogorovSmirnov], as in scipy.stats.ks_2samp.
// KSAuto uses KSExact when both samples have at most 10,000 values and
// KSAsymp otherwise. KSExact counts lattice paths (Hodges 1958) and falls
// back to KSAsymp when the counts lose floating-point precision. KSAsymp uses
// the exact one-sample Kolmogorov distribution at n = round(n1·n2/(n1+n2))
// (SciPy's kstwo.sf) for two-sided tests and Hodges' formula 5.3 for
// one-sided tests.
const (
	KSAuto  KSMethod = "auto"
	KSExact KSMethod = "exact"
	KSAsymp KSMethod = "asymp"
)

// ksMaxAutoN is SciPy's MAX_AUTO_N: KSAuto is exact up to this size.
const ksMaxAutoN = 10000

// KSResult is the outcome of a two-sample Kolmogorov-Smirnov test.
type KSResult struct {
	// Statistic is D. On the exact path it is rounded to the lattice
	// h/lcm(n1,n2), as SciPy does.
	Statistic float64 `json:"statistic"`
	// PValue is the p-value, clipped to [0, 1].
	PValue float64 `json:"p_value"`
	// Method is the method actually used: KSExact or KSAsymp.
	Method KSMethod `json:"method"`
	// Alternative is the alternative hypothesis tested.
	Alternative Alternative `json:"alternative"`
}

// KolmogorovSmirnov runs the two-sample Kolmogorov-Smirnov test on a and b
// and returns what scipy.stats.ks_2samp(a, b, alternative, method) returns.
// It returns an error wrapping [ErrEmptySample] when either sample is empty,
// [ErrNonFinite] when either holds NaN (±Inf is allowed, as in SciPy), and
// [ErrInvalidDriftOption] for an unknown alternative or method. The inputs are
// not modified (they are copied before sorting). It is safe for concurrent
// use.
func KolmogorovSmirnov(a, b []float64, alt Alternative, method KSMethod) (KSResult, error) {
	if err := checkKSArgs(alt, method); err != nil {
		return KSResult{}, err
	}
	if len(a) == 0 || len(b) == 0 {
		return KSResult{}, fmt.Errorf("evaluate: kolmogorov-smirnov: %w", ErrEmptySample)
	}
	if slices.ContainsFunc(a, math.IsNaN) || slices.ContainsFunc(b, math.IsNaN) {
		return KSResult{}, fmt.Errorf("evaluate: kolmogorov-smirnov: %w", ErrNonFinite)
	}
	sa, sb := slices.Clone(a), slices.Clone(b)
	slices.Sort(sa)
	slices.Sort(sb)
	return ksSorted(sa, sb, alt, method), nil
}

func checkKSArgs(alt Alternative, method KSMethod) error {
	switch alt {
	case AlternativeTwoSided, AlternativeGreater, AlternativeLess:
	default:
		return fmt.Errorf("evaluate: kolmogorov-smirnov: alternative %q: %w", alt, ErrInvalidDriftOption)
	}
	switch method {
	case KSAuto, KSExact, KSAsymp:
	default:
		return fmt.Errorf("evaluate: kolmogorov-smirnov: method %q: %w", method, ErrInvalidDriftOption)
	}
	return nil
}

// ksStatSorted returns max(F1-F2) and max(F2-F1) (clipped at 0) over the
// pooled observations of two sorted, non-empty samples.
func ksStatSorted(a, b []float64) (dplus, dminus float64) {
	n1, n2 := float64(len(a)), float64(len(b))
	i, j := 0, 0
	maxS, minS := math.Inf(-1), math.Inf(1)
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
		for i < len(a) && a[i] <= v {
			i++
		}
		for j < len(b) && b[j] <= v {
			j++
		}
		d := float64(i)/n1 - float64(j)/n2
		maxS = max(maxS, d)
		minS = min(minS, d)
	}
	return maxS, clip01(-minS)
}

// ksSorted runs the test on sorted, non-empty, NaN-free samples.
func ksSorted(a, b []float64, alt Alternative, method KSMethod) KSResult {
	dplus, dminus := ksStatSorted(a, b)
	return ksFromStat(dplus, dminus, len(a), len(b), alt, method)
}

// ksFromStat computes the result from the one-sided statistics and the
// sample sizes.
func ksFromStat(dplus, dminus float64, n1, n2 int, alt Alternative, method KSMethod) KSResult {
	var d float64
	switch {
	case alt == AlternativeLess || (alt == AlternativeTwoSided && dminus > dplus):
		d = dminus
	default:
		d = dplus
	}
	if method == KSAuto {
		method = KSExact
		if max(n1, n2) > ksMaxAutoN {
			method = KSAsymp
		}
	}
	g := gcd(n1, n2)
	if method == KSExact && int64(n1/g) >= math.MaxInt32/int64(n2/g) {
		method = KSAsymp
	}
	p := math.NaN()
	if method == KSExact {
		var ok bool
		ok, d, p = ksExact(n1, n2, g, d, alt)
		if !ok {
			method = KSAsymp
		}
	}
	if method == KSAsymp {
		m, n := float64(max(n1, n2)), float64(min(n1, n2))
		en := m * n / (m + n)
		if alt == AlternativeTwoSided {
			p = kolmogorovTwoSidedSF(int(math.RoundToEven(en)), d)
		} else {
			z := math.Sqrt(en) * d
			expt := -2*z*z - 2*z*(m+2*n)/math.Sqrt(m*n*(m+n))/3
			p = math.Exp(expt)
		}
	}
	if !math.IsNaN(p) {
		p = clip01(p)
	}
	return KSResult{Statistic: d, PValue: p, Method: method, Alternative: alt}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// ksExact is SciPy's _attempt_exact_2kssamp. It reports false when the
// computation lost precision, so the caller falls back to the asymptotic
// p-value.
func ksExact(n1, n2, g int, d float64, alt Alternative) (bool, float64, float64) {
	lcm := int64(n1/g) * int64(n2)
	h := int64(math.RoundToEven(d * float64(lcm)))
	d = float64(h) / float64(lcm)
	if h == 0 {
		return true, d, 1
	}
	var prob float64
	if alt == AlternativeTwoSided {
		if n1 == n2 {
			prob = ksProbOutsideSquare(n1, int(h))
		} else {
			prob = ksOuterProbInside(int64(n1), int64(n2), int64(g), h)
		}
	} else {
		if n1 == n2 {
			prob = 1
			for j := 0; j < int(h); j++ {
				prob *= float64(n1-j) / (float64(n1) + float64(j) + 1)
			}
		} else {
			// SciPy fails over to asymp when C(n1+n2, n1) overflows; check
			// that before the O(n²) path count.
			bin := binomFloat(float64(n1+n2), float64(n1))
			if math.IsInf(bin, 0) {
				return false, d, math.NaN()
			}
			paths := ksCountPathsOutside(n1, n2, g, int(h))
			if math.IsNaN(paths) || math.IsInf(paths, 0) || paths > bin {
				return false, d, math.NaN()
			}
			prob = paths / bin
		}
	}
	if !(prob >= 0 && prob <= 1) {
		return false, d, prob
	}
	return true, d, prob
}

// ksProbOutsideSquare is Pr(D_{n,n} >= h/n), Horner-style as SciPy's
// _compute_prob_outside_square.
func ksProbOutsideSquare(n, h int) float64 {
	P := 0.0
	for k := n / h; k >= 0; k-- {
		p1 := 1.0
		for j := 0; j < h; j++ {
			p1 = float64(n-k*h-j) * p1 / float64(n+k*h+j+1)
		}
		P = p1 * (1 - P)
	}
	return 2 * P
}

// ksOuterProbInside is the proportion of lattice paths from (0,0) to (m,n)
// that leave the band |x/m - y/n| < h/lcm(m,n), computed directly as 1-p
// (Hodges' inside method with Viehmann's recursion), as SciPy's
// _compute_outer_prob_inside_method.
func ksOuterProbInside(m, n, g, h int64) float64 {
	if m < n {
		m, n = n, m
	}
	mg, ng := m/g, n/g
	minj := int64(0)
	maxj := min(ceilDiv(h, mg), n+1)
	curlen := maxj - minj
	lenA := min(2*maxj+2, n+1) + 2 // two spare cells, never read by SciPy
	A := make([]float64, lenA)
	for i := range A {
		A[i] = 1
	}
	for i := minj; i < maxj; i++ {
		A[i] = 0
	}
	for i := int64(1); i <= m; i++ {
		lastminj, lastlen := minj, curlen
		minj = max(floorDiv(ng*i-h, mg)+1, 0)
		minj = min(minj, n)
		maxj = min(ceilDiv(ng*i+h, mg), n+1)
		if maxj <= minj {
			return 1
		}
		val := 1.0
		if minj == 0 {
			val = 0
		}
		fi := float64(i)
		for jj := int64(0); jj < maxj-minj; jj++ {
			j := jj + minj
			val = (A[jj+minj-lastminj]*fi + val*float64(j)) / (fi + float64(j))
			A[jj] = val
		}
		curlen = maxj - minj
		if lastlen > curlen {
			for k := maxj - minj; k < maxj-minj+(lastlen-curlen) && k < int64(len(A)); k++ {
				A[k] = 1
			}
		}
	}
	return A[maxj-minj-1]
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) }

// ksCountPathsOutside counts the lattice paths that cross the diagonal
// boundary on one side (SciPy's _count_paths_outside_method). The count may
// overflow to +Inf; the caller checks.
func ksCountPathsOutside(m, n, g, h int) float64 {
	if m < n {
		m, n = n, m
	}
	mg, ng := m/g, n/g
	lxj := n + int(floorDiv(int64(mg-h), int64(mg)))
	if lxj <= 0 {
		return binomFloat(float64(m+n), float64(n))
	}
	xj := make([]int, lxj)
	for j := range xj {
		xj[j] = int(floorDiv(int64(h+mg*j+ng-1), int64(ng)))
	}
	B := make([]float64, lxj)
	B[0] = 1
	for j := 1; j < lxj; j++ {
		bj := binomFloat(float64(xj[j]+j), float64(j))
		for i := 0; i < j; i++ {
			bj -= binomFloat(float64(xj[j]-xj[i]+j-i), float64(j-i)) * B[i]
		}
		B[j] = bj
	}
	num := 0.0
	for j := 0; j < lxj; j++ {
		num += B[j] * binomFloat(float64((m-xj[j])+(n-j)), float64(n-j))
	}
	return num
}

// binomFloat is the binomial coefficient C(n, k) for integer-valued n >= k
// >= 0 as a float64, with SciPy's product loop for small k.
func binomFloat(n, k float64) float64 {
	if k < 0 || k > n {
		return 0
	}
	if k > n/2 && n > 0 {
		k = n - k
	}
	if k < 20 {
		num, den := 1.0, 1.0
		for i := 1.0; i <= k; i++ {
			num *= i + n - k
			den *= i
			if math.Abs(num) > 1e50 {
				num /= den
				den = 1
			}
		}
		return num / den
	}
	a, _ := math.Lgamma(n + 1)
	b, _ := math.Lgamma(k + 1)
	c, _ := math.Lgamma(n - k + 1)
	return math.Exp(a - b - c)
}
