package evaluate

import (
	"errors"
	"math"
	"testing"
)

// relClose reports whether got is within rel relative error of want
// (exact match for 0, ±Inf and NaN).
func relClose(got, want, rel float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	if math.IsInf(want, 0) || want == 0 {
		return got == want
	}
	return math.Abs(got-want) <= rel*math.Abs(want)
}

func linspace(a, b float64, n int) []float64 {
	out := make([]float64, n)
	step := (b - a) / float64(n-1)
	for i := range out {
		out[i] = float64(i)*step + a
	}
	out[n-1] = b
	return out
}

func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func concat(xs ...[]float64) []float64 {
	var out []float64
	for _, x := range xs {
		out = append(out, x...)
	}
	return out
}

func addConst(x []float64, c float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v + c
	}
	return out
}

// TestKolmogorovSmirnovGolden reproduces the two-sample vectors of
// evaluate.md §6.5 (SciPy's TestKSTwoSamples and computed values).
func TestKolmogorovSmirnovGolden(t *testing.T) {
	t.Parallel()
	arange2000 := make([]float64, 2000)
	for i := range arange2000 {
		arange2000[i] = float64(i) / 2000
	}
	big := linspace(1, 200, 10000)
	for i := range big {
		big[i] -= 1.0 / (10000 * 110 * 4)
	}
	tests := []struct {
		name   string
		a, b   []float64
		alt    Alternative
		method KSMethod
		d, p   float64
		used   KSMethod
	}{
		{"single", []float64{0}, []float64{1}, AlternativeTwoSided, KSAuto, 1, 1, KSExact},
		{"2v3 small d", []float64{1.01, 2.01}, []float64{1, 2, 3}, AlternativeTwoSided, KSAuto, 1.0 / 3, 1, KSExact},
		{"2v3 large d", []float64{0.99, 1.99}, []float64{1, 2, 3}, AlternativeTwoSided, KSAuto, 2.0 / 3, 0.6, KSExact},
		{"2v4 small d", []float64{1.01, 2.01}, []float64{1, 2, 3, 4}, AlternativeTwoSided, KSAuto, 0.5, 14.0 / 15, KSExact},
		{"2v4 large d", []float64{0.99, 1.99}, []float64{1, 2, 3, 4}, AlternativeTwoSided, KSAuto, 0.75, 6.0 / 15, KSExact},
		{"3v3 shift", []float64{1, 2, 3}, []float64{2, 3, 4}, AlternativeTwoSided, KSAuto, 1.0 / 3, 1, KSExact},
		{"5v5 disjoint", []float64{1, 2, 3, 4, 5}, []float64{6, 7, 8, 9, 10}, AlternativeTwoSided, KSAuto, 1, 0.007936507936507936, KSExact},
		{"100v110", linspace(1, 100, 100), addConst(linspace(1, 100, 110), 20.1), AlternativeTwoSided, KSAuto, 232.0 / 1100, 0.015739183865607353, KSExact},
		{"ties 16v16",
			concat(repeat(2, 3), repeat(3, 4), repeat(5, 5), repeat(6, 4)),
			addConst(concat(repeat(2, 3), repeat(3, 4), repeat(5, 5), repeat(6, 4)), 1),
			AlternativeTwoSided, KSAuto, 5.0 / 16, 0.4262934613454952, KSExact},
		{"ties 21v26",
			concat(repeat(2, 3), repeat(3, 4), repeat(5, 10), repeat(6, 4)),
			concat(repeat(3, 10), repeat(4, 2), repeat(6, 10), repeat(7, 4)),
			AlternativeTwoSided, KSAuto, 190.0 / 546, 0.0919245790168125, KSExact},
		// evaluate.md lists p = 4.2188474935755949e-15, the value of SciPy's
		// old "1 − complement" code; SciPy 1.10.1 (Viehmann's recursion, as
		// here) returns 6.263465662260858e-26, checked with Debian's
		// python3-scipy.
		{"10000v110 tiny p", big, linspace(2, 100, 110), AlternativeTwoSided, KSAuto, 55275.0 / 110000, 6.263465662260858e-26, KSExact},
		{"greater 2v3", []float64{1.01, 2.01}, []float64{1, 2, 3}, AlternativeGreater, KSAuto, 1.0 / 3, 0.7, KSExact},
		{"greater 2v4", []float64{0.99, 1.99}, []float64{1, 2, 3, 4}, AlternativeGreater, KSAuto, 0.75, 3.0 / 15, KSExact},
		{"greater 3v3", []float64{1, 2, 3}, []float64{2, 3, 4}, AlternativeGreater, KSAuto, 1.0 / 3, 0.75, KSExact},
		{"asymp en=1000 exact", arange2000, addConst(arange2000, 0.05), AlternativeTwoSided, KSExact, 0.0505, 0.01217650945050772, KSExact},
		{"asymp en=1000 kstwo", arange2000, addConst(arange2000, 0.05), AlternativeTwoSided, KSAsymp, 0.0505, 0.011762929678959175, KSAsymp},
		{"auto asymp 12000v15000", linspace(0, 1, 12000), linspace(0.02, 1.02, 15000), AlternativeTwoSided, KSAuto, math.NaN(), 0.009188981052455657, KSAsymp},
		{"forced exact 12000v15000", linspace(0, 1, 12000), linspace(0.02, 1.02, 15000), AlternativeTwoSided, KSExact, math.NaN(), 0.009195438024481665, KSExact},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := KolmogorovSmirnov(tt.a, tt.b, tt.alt, tt.method)
			if err != nil {
				t.Fatal(err)
			}
			if !math.IsNaN(tt.d) && !relClose(got.Statistic, tt.d, 1e-12) {
				t.Errorf("D = %.17g, want %.17g", got.Statistic, tt.d)
			}
			if !relClose(got.PValue, tt.p, 1e-9) {
				t.Errorf("p = %.17g, want %.17g (rel err %.3g)", got.PValue, tt.p, math.Abs(got.PValue-tt.p)/tt.p)
			}
			if got.Method != tt.used {
				t.Errorf("method = %s, want %s", got.Method, tt.used)
			}
		})
	}
}

func TestKolmogorovSmirnovErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		a, b   []float64
		alt    Alternative
		method KSMethod
		want   error
	}{
		{"empty a", nil, []float64{1}, AlternativeTwoSided, KSAuto, ErrEmptySample},
		{"empty b", []float64{1}, []float64{}, AlternativeTwoSided, KSAuto, ErrEmptySample},
		{"nan", []float64{math.NaN()}, []float64{1}, AlternativeTwoSided, KSAuto, ErrNonFinite},
		{"bad alternative", []float64{1}, []float64{1}, "both", KSAuto, ErrInvalidDriftOption},
		{"bad method", []float64{1}, []float64{1}, AlternativeTwoSided, "fast", ErrInvalidDriftOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := KolmogorovSmirnov(tt.a, tt.b, tt.alt, tt.method)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestKolmogorovTwoSidedSF checks kstwo.sf(x, n) over every algorithm of
// the Simard-L'Ecuyer choice: Ruben-Gambino ends, Durbin (MTW), Pomeranz,
// Pelz-Good and Smirnov, for n <= 140 and above. Expected values computed
// with SciPy 1.10.1 (scipy.stats.kstwo.sf).
func TestKolmogorovTwoSidedSF(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    int
		x    float64
		want float64
	}{
		{5, 0.3, 0.664},
		{5, 0.6, 0.03008000000000001},
		{10, 0.05, 1.0},
		{10, 0.15, 0.95396527},
		{20, 0.1, 0.976255094592155},
		{20, 0.25, 0.13762569836717486},
		{40, 0.12, 0.5709276389991155},
		{50, 0.3, 0.00017353260202718738},
		{100, 0.05, 0.9532159710635725},
		{100, 0.1, 0.2526927570063874},
		{100, 0.25, 5.408871776434847e-06},
		{140, 0.2, 2.1981563302200222e-05},
		{141, 0.05, 0.854845693009663},
		{141, 0.15, 0.0031058623613645147},
		{500, 0.03, 0.7473166700457021},
		{1000, 0.0505, 0.011762929678959175},
		{1000, 0.02, 0.8108971656895577},
		{5000, 0.01, 0.6954557253913853},
		{5000, 0.03, 0.00024159234422666817},
		{100000, 0.001, 0.9999638407940036},
		{100000, 0.005, 0.013430824977799608},
		{200000, 0.002, 0.39995085369038097},
		{500000, 0.001, 0.698980144366366},
		{500000, 0.004, 2.2445978493851467e-07},
		{500000, 0.0009, 0.812395309857193},
		{1000000, 0.0005, 0.9638386310076212},
		{3, 0.9, 0.0019999999999999987},
		{50, 0.01, 1.0},
		{200, 0.0049, 1.0},
	}
	for _, tt := range tests {
		if got := kolmogorovTwoSidedSF(tt.n, tt.x); !relClose(got, tt.want, 1e-9) {
			t.Errorf("kstwo.sf(%v, %d) = %.17g, want %.17g (rel err %.3g)", tt.x, tt.n, got, tt.want, math.Abs(got-tt.want)/tt.want)
		}
	}
}
