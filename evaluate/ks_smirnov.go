package evaluate

import "math"

// smirnovSF returns Pr(D+_n >= x), the survival function of the one-sided
// one-sample Kolmogorov-Smirnov statistic (SciPy's scipy.special.smirnov),
// by the Birnbaum-Tingey (Smirnov, Dwass) sum
//
//	x * Σ_{v=0}^{⌊n(1-x)⌋} C(n,v) (x+v/n)^(v-1) (1-x-v/n)^(n-v).
//
// Each term is a binomial probability C(n,v) p^v q^(n-v) with p = x+v/n and
// q = 1-p, divided by p, so it is evaluated with Loader's saddle-point method
// (stirlerr and bd0), which keeps full relative precision for large n where
// the powers underflow. SciPy's special cases and its early-termination rule
// are kept.
func smirnovSF(n int, x float64) float64 {
	if !(n > 0 && x >= 0 && x <= 1) {
		return math.NaN()
	}
	fn := float64(n)
	if n == 1 {
		return 1 - x
	}
	if x == 0 {
		return 1
	}
	if x == 1 {
		return 0
	}
	// n*x split into an integer part and an accurate fractional part.
	nxhi := fn * x
	nxlo := math.FMA(fn, x, -nxhi)
	nxfl := math.Floor(nxhi)
	alpha := (nxhi - nxfl) + nxlo
	if alpha < 0 {
		nxfl--
		alpha++
	} else if alpha >= 1 {
		nxfl++
		alpha--
	}
	infl := int(nxfl)
	n1mxfl := n - infl - 1 // SciPy: the term at v = n(1-x) is excluded.
	if infl == 0 || (infl == 1 && alpha == 0) {
		cdf := x * math.Pow(1+x, fn-1)
		return 1 - cdf
	}
	if -2*fn*x*x < -708.3964185322641 {
		return 0
	}
	if infl >= n-1 {
		return math.Pow(1-x, fn)
	}
	if n > 1000000 {
		logp := -math.Pow(6*fn*x+1, 2) / 18 / fn
		if logp < -math.Ln2 {
			return math.Exp(logp)
		}
		return 1 - (-math.Expm1(logp))
	}
	nTerms := n1mxfl + 1
	vmid := n / 2
	sum := 0.0
	for v := 0; v < nTerms; v++ {
		np := nxfl + float64(v) + alpha // n*p
		nq := float64(n-v-infl) - alpha // n*q; the integer part is exact
		a := binomPMFRaw(v, n, np, nq) * fn / np
		if a != 0 && !math.IsInf(a, 0) && !math.IsNaN(a) {
			sum += a
		}
		if a != 0 {
			if 4*float64(nTerms-v)*math.Abs(a) < dblEpsilon*sum && v != nTerms-1 {
				break
			}
		} else if v > vmid {
			break
		}
	}
	return x * sum
}

const dblEpsilon = 2.220446049250313e-16

// binomPMFRaw returns C(n,k) p^k q^(n-k) given np = n*p and nq = n*q
// (Loader 2000, as R's dbinom_raw), accurate for large n.
func binomPMFRaw(k, n int, np, nq float64) float64 {
	fn := float64(n)
	if k == 0 {
		if n == 0 {
			return 1
		}
		p := np / fn
		if p < 0.1 {
			return math.Exp(-bd0(fn, nq) - np)
		}
		return math.Exp(fn * math.Log(nq/fn))
	}
	if k == n {
		q := nq / fn
		if q < 0.1 {
			return math.Exp(-bd0(fn, np) - nq)
		}
		return math.Exp(fn * math.Log(np/fn))
	}
	if k < 0 || k > n {
		return 0
	}
	fk := float64(k)
	lc := stirlerr(fn) - stirlerr(fk) - stirlerr(fn-fk) - bd0(fk, np) - bd0(fn-fk, nq)
	lf := math.Log(2*math.Pi) + math.Log(fk) + math.Log1p(-fk/fn)
	return math.Exp(lc - 0.5*lf)
}

// stirlerr returns log(n!) - log(sqrt(2πn)(n/e)^n).
func stirlerr(n float64) float64 {
	const (
		s0 = 1.0 / 12
		s1 = 1.0 / 360
		s2 = 1.0 / 1260
		s3 = 1.0 / 1680
		s4 = 1.0 / 1188
	)
	if n <= 15 {
		lg, _ := math.Lgamma(n + 1)
		return lg - (n+0.5)*math.Log(n) + n - 0.5*math.Log(2*math.Pi)
	}
	nn := n * n
	switch {
	case n > 500:
		return (s0 - s1/nn) / n
	case n > 80:
		return (s0 - (s1-s2/nn)/nn) / n
	case n > 35:
		return (s0 - (s1-(s2-s3/nn)/nn)/nn) / n
	default:
		return (s0 - (s1-(s2-(s3-s4/nn)/nn)/nn)/nn) / n
	}
}

// bd0 returns x*log(x/np) + np - x without cancellation (Loader).
func bd0(x, np float64) float64 {
	if math.Abs(x-np) < 0.1*(x+np) {
		v := (x - np) / (x + np)
		s := (x - np) * v
		if math.Abs(s) < math.SmallestNonzeroFloat64*(1<<52) {
			return s
		}
		ej := 2 * x * v
		v *= v
		for j := 1; j < 1000; j++ {
			ej *= v
			s1 := s + ej/float64(2*j+1)
			if s1 == s {
				return s1
			}
			s = s1
		}
	}
	return x*math.Log(x/np) + np - x
}
