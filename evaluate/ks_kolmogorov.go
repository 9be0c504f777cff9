package evaluate

import "math"

// This file holds the exact one-sample two-sided Kolmogorov distribution
// (SciPy's kstwo, scipy/stats/_ksstats.py), which ks_2samp uses for its
// asymptotic p-value: p = kstwo.sf(D, round(en)). The choice of algorithm by
// n and x follows Simard and L'Ecuyer (2011) exactly as SciPy does: Ruben-
// Gambino closed forms at the ends, Durbin's matrix (Marsaglia-Tsang-Wang),
// Pomeranz's recursion, the Pelz-Good expansion and 2*smirnov. The code is an
// independent Go implementation; only the published algorithms and SciPy's
// switch points are shared.

const (
	kolE128   = 128
	kolMinLog = -708
)

var kolStirlingCoeffs = [...]float64{
	-2.955065359477124183e-2, 6.4102564102564102564e-3,
	-1.9175269175269175269e-3, 8.4175084175084175084e-4,
	-5.952380952380952381e-4, 7.9365079365079365079e-4,
	-2.7777777777777777778e-3, 8.3333333333333333333e-2,
}

func clip01(p float64) float64 {
	if p < 0 {
		return 0
	}
	if p > 1 {
		return 1
	}
	return p
}

// logNFactorialDivNPowN returns log(n!/n^n) by Stirling's series.
func logNFactorialDivNPowN(n float64) float64 {
	rn := 1 / n
	x := rn / n
	poly := 0.0
	for _, c := range kolStirlingCoeffs {
		poly = poly*x + c
	}
	return math.Log(n)/2 - n + math.Log(2*math.Pi)/2 + rn*poly
}

// kolmogorovTwoSidedSF returns Pr(D_n >= x) for the two-sided one-sample
// Kolmogorov-Smirnov statistic D_n (SciPy's kstwo.sf(x, n)).
func kolmogorovTwoSidedSF(n int, x float64) float64 {
	if n <= 0 || math.IsNaN(x) {
		return math.NaN()
	}
	fn := float64(n)
	if x >= 1 {
		return 0
	}
	if x <= 0 {
		return 1
	}
	t := fn * x
	if t <= 1 { // Ruben-Gambino
		if t <= 0.5 {
			return 1
		}
		var prob float64
		if n <= 140 {
			prob = 1
			for i := 1; i <= n; i++ {
				prob *= float64(i) * (1 / fn) * (2*t - 1)
			}
		} else {
			prob = math.Exp(logNFactorialDivNPowN(fn) + fn*math.Log(2*t-1))
		}
		return clip01(1 - prob)
	}
	if t >= fn-1 { // Ruben-Gambino
		return clip01(2 * math.Pow(1-x, fn))
	}
	if x >= 0.5 {
		return clip01(2 * smirnovSF(n, x))
	}
	nxsquared := t * x
	if n <= 140 {
		if nxsquared <= 0.754693 {
			return clip01(1 - kolmogornDMTW(n, x))
		}
		if nxsquared <= 4 {
			return clip01(1 - kolmogornPomeranz(n, x))
		}
		return clip01(2 * smirnovSF(n, x))
	}
	if nxsquared >= 370 {
		return 0
	}
	if nxsquared >= 2.2 {
		return clip01(2 * smirnovSF(n, x))
	}
	var cdf float64
	if nxsquared >= 18 {
		cdf = 1
	} else if n <= 100000 && fn*math.Pow(x, 1.5) <= 1.4 {
		cdf = kolmogornDMTW(n, x)
	} else {
		cdf = kolmogornPelzGood(n, x)
	}
	return clip01(1 - clip01(cdf))
}

// kolmogornDMTW returns Pr(D_n <= d) by Durbin's matrix algorithm as
// arranged by Marsaglia, Tsang and Wang (2003), with explicit scaling.
func kolmogornDMTW(n int, d float64) float64 {
	if d >= 1 {
		return 1
	}
	fn := float64(n)
	nd := fn * d
	if nd <= 0.5 {
		return 0
	}
	k := int(math.Ceil(nd))
	h := float64(k) - nd
	m := 2*k - 1
	H := make([]float64, m*m)
	v := make([]float64, m)
	w := make([]float64, m)
	fac := 1.0
	for j := 1; j <= m; j++ {
		v[j-1] = 1 - math.Pow(h, float64(j))
		w[j-1] = fac
		fac /= float64(j)
		v[j-1] *= fac
	}
	tt := math.Pow(math.Max(2*h-1, 0), float64(m)) - 2*math.Pow(h, float64(m))
	v[m-1] = (1 + tt) * fac
	for i := 1; i < m; i++ {
		for r := i - 1; r < m; r++ {
			H[r*m+i] = w[r-(i-1)]
		}
	}
	for r := 0; r < m; r++ {
		H[r*m] = v[r]
	}
	for c := 0; c < m; c++ {
		H[(m-1)*m+c] = v[m-1-c]
	}
	pw := make([]float64, m*m)
	for i := 0; i < m; i++ {
		pw[i*m+i] = 1
	}
	tmp := make([]float64, m*m)
	ep128 := math.Ldexp(1, kolE128)
	nn := n
	expnt, hexpnt := 0, 0
	for nn > 0 {
		if nn%2 == 1 {
			matMul(tmp, pw, H, m)
			pw, tmp = tmp, pw
			expnt += hexpnt
		}
		matMul(tmp, H, H, m)
		H, tmp = tmp, H
		hexpnt *= 2
		if math.Abs(H[(k-1)*m+k-1]) > ep128 {
			for i := range H {
				H[i] /= ep128
			}
			hexpnt += kolE128
		}
		nn /= 2
	}
	p := pw[(k-1)*m+k-1]
	em128 := math.Ldexp(1, -kolE128)
	for i := 1; i <= n; i++ {
		p = float64(i) * p / fn
		if math.Abs(p) < em128 {
			p *= ep128
			expnt -= kolE128
		}
	}
	if expnt != 0 {
		p = math.Ldexp(p, expnt)
	}
	return clip01(p)
}

// matMul sets dst = a*b for m×m row-major matrices.
func matMul(dst, a, b []float64, m int) {
	clear(dst)
	for i := 0; i < m; i++ {
		row := dst[i*m : (i+1)*m]
		for l := 0; l < m; l++ {
			ail := a[i*m+l]
			if ail == 0 {
				continue
			}
			brow := b[l*m : (l+1)*m]
			for j := range row {
				row[j] += ail * brow[j]
			}
		}
	}
}

func pomeranzJ1J2(i, n, ll, ceilf, roundf int) (int, int) {
	var j1, j2 int
	if i == 0 {
		j1, j2 = -ll-ceilf-1, ll+ceilf-1
	} else {
		ip1div2, ip1mod2 := (i+1)/2, (i+1)%2
		if ip1mod2 == 0 {
			if ip1div2 == n+1 {
				j1, j2 = n-ll-ceilf-1, n+ll+ceilf-1
			} else {
				j1, j2 = ip1div2-1-ll-roundf-1, ip1div2+ll-1+ceilf-1
			}
		} else {
			j1, j2 = ip1div2-1-ll-1, ip1div2+ll+roundf-1
		}
	}
	return max(j1+2, 0), min(j2, n)
}

// kolmogornPomeranz returns Pr(D_n <= x) by Pomeranz's recursion (1974).
func kolmogornPomeranz(n int, x float64) float64 {
	fn := float64(n)
	t := fn * x
	ll := int(math.Floor(t))
	f := t - float64(ll)
	g := math.Min(f, 1-f)
	ceilf, roundf := 0, 0
	if f > 0 {
		ceilf = 1
	}
	if f > 0.5 {
		roundf = 1
	}
	npwrs := 2 * (ll + 1)
	gpower := make([]float64, npwrs)
	twogpower := make([]float64, npwrs)
	onem2gpower := make([]float64, npwrs)
	gpower[0], twogpower[0], onem2gpower[0] = 1, 1, 1
	gOverN, twoGOverN, oneMinusTwoGOverN := g/fn, 2*g/fn, (1-2*g)/fn
	for m := 1; m < npwrs; m++ {
		gpower[m] = gpower[m-1] * gOverN / float64(m)
		twogpower[m] = twogpower[m-1] * twoGOverN / float64(m)
		onem2gpower[m] = onem2gpower[m-1] * oneMinusTwoGOverN / float64(m)
	}
	V0 := make([]float64, npwrs)
	V1 := make([]float64, npwrs)
	V1[0] = 1
	V0s, V1s := 0, 0
	expnt := 0
	ep128 := math.Ldexp(1, kolE128)
	em128 := math.Ldexp(1, -kolE128)
	j1, j2 := pomeranzJ1J2(0, n, ll, ceilf, roundf)
	for i := 1; i < 2*n+2; i++ {
		k1 := j1
		V0, V1 = V1, V0
		V0s, V1s = V1s, V0s
		clear(V1)
		j1, j2 = pomeranzJ1J2(i, n, ll, ceilf, roundf)
		var pwrs []float64
		switch {
		case i == 1 || i == 2*n+1:
			pwrs = gpower
		case i%2 == 1:
			pwrs = twogpower
		default:
			pwrs = onem2gpower
		}
		ln2 := j2 - k1 + 1
		if ln2 > 0 {
			a := V0[k1-V0s : k1-V0s+ln2]
			b := pwrs[:ln2]
			convStart := j1 - k1
			convLen := j2 - j1 + 1
			vmax := 0.0
			for c := 0; c < convLen; c++ {
				idx := convStart + c // index into the full convolution
				s := 0.0
				lo := max(0, idx-(ln2-1))
				hi := min(idx, ln2-1)
				for q := lo; q <= hi; q++ {
					s += a[q] * b[idx-q]
				}
				V1[c] = s
				vmax = math.Max(vmax, s)
			}
			if vmax > 0 && vmax < em128 {
				for c := range V1 {
					V1[c] *= ep128
				}
				expnt -= kolE128
			}
			V1s = V0s + j1 - k1
		}
	}
	ans := V1[n-V1s]
	for m := 1; m <= n; m++ {
		if math.Abs(ans) > ep128 {
			ans *= em128
			expnt += kolE128
		}
		ans *= float64(m)
	}
	if expnt != 0 {
		ans = math.Ldexp(ans, expnt)
	}
	return clip01(ans)
}

// kolmogornPelzGood returns the Pelz-Good (1976) approximation of
// Pr(D_n <= x).
func kolmogornPelzGood(n int, x float64) float64 {
	if x <= 0 {
		return 0
	}
	if x >= 1 {
		return 1
	}
	fn := float64(n)
	pi2 := math.Pi * math.Pi
	pi4 := pi2 * pi2
	pi6 := pi4 * pi2
	sqrt2pi := math.Sqrt(2 * math.Pi)
	z := math.Sqrt(fn) * x
	z2, z3, z4, z6 := z*z, z*z*z, z*z*z*z, math.Pow(z, 6)
	qlog := -pi2 / 8 / z2
	if qlog < kolMinLog {
		return 0
	}
	q := math.Exp(qlog)
	k1a := -z2
	k1b := pi2 / 4
	k2a := 6*z6 + 2*z4
	k2b := (2*z4 - 5*z2) * pi2 / 4
	k2c := pi4 * (1 - 2*z2) / 16
	k3d := pi6 * (5 - 30*z2) / 64
	k3c := pi4 * (-60*z2 + 212*z4) / 16
	k3b := pi2 * (135*z4 - 96*z6) / 4
	k3a := -30*z6 - 90*math.Pow(z, 8)
	var K [4]float64
	maxk := int(math.Ceil(16 * z / math.Pi))
	for k := maxk; k > 0; k-- {
		m := float64(2*k - 1)
		m2 := m * m
		m4 := m2 * m2
		m6 := m4 * m2
		qp := math.Pow(q, float64(8*k))
		c := [4]float64{1, k1a + k1b*m2, k2a + k2b*m2 + k2c*m4, k3a + k3b*m2 + k3c*m4 + k3d*m6}
		for i := range K {
			K[i] = K[i]*qp + c[i]
		}
	}
	den := [4]float64{z, 6 * z4, 72 * math.Pow(z, 7), 6480 * math.Pow(z, 10)}
	for i := range K {
		K[i] = K[i] * q * sqrt2pi / den[i]
	}
	q = math.Exp(-pi2 / 2 / z2)
	sqrt3z := math.Sqrt(3) * z
	k2extra, k3extra := 0.0, 0.0
	for k := maxk; k > 0; k-- {
		kf := float64(k)
		ks2 := kf * kf
		qp := math.Pow(q, ks2)
		k2extra += ks2 * qp
		kspi := math.Pi * kf
		k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks2 * qp
	}
	K[2] += k2extra * pi2 * sqrt2pi / (-36 * z3)
	K[3] += k3extra * pi2 * sqrt2pi / (216 * z6)
	sum := 0.0
	for i := range K {
		sum += K[i] / math.Pow(fn, float64(i)/2)
	}
	return sum
}
