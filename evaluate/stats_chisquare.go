package evaluate

import (
	"fmt"
	"math"
)

// ChiSquareResult is the outcome of a chi-square goodness-of-fit test.
type ChiSquareResult struct {
	// Statistic is X² = Σ (O−E)²/E; +Inf when some E is 0 and its O is not.
	Statistic float64 `json:"statistic"`
	// PValue is the upper tail of the chi-square distribution with DOF
	// degrees of freedom at Statistic (0 when Statistic is +Inf).
	PValue float64 `json:"p_value"`
	// DOF is the number of categories minus one.
	DOF int `json:"dof"`
}

// ChiSquare runs Pearson's chi-square goodness-of-fit test of the observed
// counts against the expected counts, as scipy.stats.chisquare(observed,
// expected): dof = k−1, p = Q(dof/2, X²/2) with Q the regularized upper
// incomplete gamma function. A nil expected means equal expected counts
// (the mean of observed). Unlike SciPy it does not reject expected counts
// whose total differs from the observed total; an expected count of 0 with
// a positive observed count gives X² = +Inf and p = 0, and a category with
// both zero contributes 0 (SciPy gives NaN). With a single category it
// returns X² = 0 and p = 1 (SciPy gives NaN). It returns an error for empty,
// mismatched, negative or non-finite input. The inputs are not modified.
func ChiSquare(observed, expected []float64) (ChiSquareResult, error) {
	if expected == nil {
		if len(observed) == 0 {
			return ChiSquareResult{}, fmt.Errorf("evaluate: chi-square: %w", ErrEmptySample)
		}
		mean := npSum(observed) / float64(len(observed))
		expected = make([]float64, len(observed))
		for i := range expected {
			expected[i] = mean
		}
	}
	if err := checkDistribution("chi-square", observed, expected); err != nil {
		return ChiSquareResult{}, err
	}
	return chiSquare(observed, expected), nil
}

func chiSquare(obs, exp []float64) ChiSquareResult {
	k := len(obs)
	if k <= 1 {
		return ChiSquareResult{Statistic: 0, PValue: 1, DOF: 0}
	}
	i := 0
	stat := pairwiseSum(k, seqFill(func() float64 {
		o, e := obs[i], exp[i]
		i++
		if e == 0 {
			if o == 0 {
				return 0
			}
			return math.Inf(1)
		}
		d := o - e
		return d * d / e
	}))
	return ChiSquareResult{Statistic: stat, PValue: chi2SF(stat, float64(k-1)), DOF: k - 1}
}

// chi2SF is the chi-square survival function with dof degrees of freedom.
func chi2SF(x, dof float64) float64 {
	if math.IsNaN(x) || !(dof > 0) {
		return math.NaN()
	}
	if x <= 0 {
		return 1
	}
	if math.IsInf(x, 1) {
		return 0
	}
	return gammaQ(dof/2, x/2)
}

// gammaQ is the regularized upper incomplete gamma function Q(a, x) =
// Γ(a, x)/Γ(a) for a > 0, x >= 0: the series for P when x < a+1 (then
// Q = 1−P), else the continued fraction by the modified Lentz method
// (Numerical Recipes §6.2), both to full double precision.
func gammaQ(a, x float64) float64 {
	if x <= 0 {
		return 1
	}
	lga, _ := math.Lgamma(a)
	logPre := -x + a*math.Log(x) - lga
	if x < a+1 {
		ap := a
		del := 1 / a
		sum := del
		for i := 0; i < 100000; i++ {
			ap++
			del *= x / ap
			sum += del
			if math.Abs(del) < math.Abs(sum)*dblEpsilon {
				break
			}
		}
		return clip01(1 - sum*math.Exp(logPre))
	}
	const fpmin = 1e-300
	b := x + 1 - a
	c := 1 / fpmin
	d := 1 / b
	h := d
	for i := 1; i < 100000; i++ {
		fi := float64(i)
		an := -fi * (fi - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < fpmin {
			d = fpmin
		}
		c = b + an/c
		if math.Abs(c) < fpmin {
			c = fpmin
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < dblEpsilon {
			break
		}
	}
	return clip01(math.Exp(logPre) * h)
}

// twoProportionZ is Evidently's z-test: the pooled two-proportion z-test,
// two-sided, of the share of the first category (k1 of n1 in the reference,
// k2 of n2 in the current sample). It returns the z statistic and
// p = erfc(|z|/√2), which equals Evidently's 2·(1−Φ(|z|)) without its loss of
// precision in the far tail.
func twoProportionZ(k1, n1, k2, n2 int) (z, p float64) {
	p1 := float64(k1) / float64(n1)
	p2 := float64(k2) / float64(n2)
	P := (p1*float64(n1) + p2*float64(n2)) / float64(n1+n2)
	z = (p1 - p2) / math.Sqrt(P*(1-P)*(1/float64(n1)+1/float64(n2)))
	return z, math.Erfc(math.Abs(z) / math.Sqrt2)
}
