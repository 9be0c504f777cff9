package evaluate

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
)

// TestWassersteinGolden reproduces SciPy's published wasserstein_distance
// and energy_distance vectors (evaluate.md §6.5).
func TestWassersteinGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		u, v, uw, vw []float64
		want         float64
		energy       bool
	}{
		{"docstring", []float64{0, 1, 3}, []float64{5, 6, 8}, nil, nil, 5, false},
		{"weights", []float64{0, 1}, []float64{0, 1}, []float64{3, 1}, []float64{2, 2}, 0.25, false},
		{"weighted docstring", []float64{3.4, 3.9, 7.5, 7.8}, []float64{4.5, 1.4}, []float64{1.4, 0.9, 3.1, 7.2}, []float64{3.2, 3.5}, 4.0781331438047861, false},
		{"one point a", []float64{0, 1}, []float64{0}, []float64{1, 1}, []float64{1}, 0.5, false},
		{"one point b", []float64{0, 1}, []float64{0}, []float64{3, 1}, []float64{1}, 0.25, false},
		{"one point c", []float64{0, 2}, []float64{0}, []float64{1, 1}, []float64{1}, 1, false},
		{"shift 1", []float64{0, 1, 2}, []float64{1, 2, 3}, nil, nil, 1, false},
		{"shift 10", []float64{1, 2, 3, 4, 5}, []float64{11, 12, 13, 14, 15}, nil, nil, 10, false},
		{"points", []float64{-5}, []float64{5}, nil, nil, 10, false},
		{"permuted", []float64{1, 2, 3}, []float64{2, 1, 3}, nil, nil, 0, false},
		{"weighted 2.5", []float64{4.5, 6.7, 2.1}, []float64{4.6, 7, 9.2}, []float64{3, 1, 1}, []float64{1, 3, 1}, 2.5, false},
		{"energy points", []float64{0}, []float64{2}, nil, nil, 2.0000000000000004, true},
		{"energy weights", []float64{0, 8}, []float64{0, 8}, []float64{3, 1}, []float64{2, 2}, 1.0000000000000002, true},
		{"energy docstring", []float64{0.7, 7.4, 2.4, 6.8}, []float64{1.4, 8.}, []float64{2.1, 4.2, 7.4, 8.}, []float64{7.6, 8.8}, 0.88003340976158217, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := Wasserstein
			if tt.energy {
				f = EnergyDistance
			}
			got, err := f(tt.u, tt.v, tt.uw, tt.vw)
			if err != nil {
				t.Fatal(err)
			}
			if !relClose(got, tt.want, 1e-12) && !(tt.want == 0 && math.Abs(got) < 1e-15) {
				t.Errorf("got %.17g, want %.17g", got, tt.want)
			}
		})
	}
}

func TestWassersteinErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		u, v, uw, vw []float64
		want         error
	}{
		{"empty", nil, []float64{1}, nil, nil, ErrEmptySample},
		{"nan", []float64{math.NaN()}, []float64{1}, nil, nil, ErrNonFinite},
		{"negative weight", []float64{1}, []float64{1}, []float64{-1}, nil, ErrInvalidDriftOption},
		{"zero weights", []float64{1}, []float64{1}, []float64{0}, nil, ErrInvalidDriftOption},
		{"inf weight", []float64{1}, []float64{1}, []float64{math.Inf(1)}, nil, ErrInvalidDriftOption},
		{"length mismatch", []float64{1, 2}, []float64{1}, []float64{1}, nil, ErrInvalidDriftOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := Wasserstein(tt.u, tt.v, tt.uw, tt.vw); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestDivergenceGolden reproduces the Jensen-Shannon, KL and chi-square
// vectors of evaluate.md §6.5.
func TestDivergenceGolden(t *testing.T) {
	t.Parallel()
	js := func(p, q []float64, base float64) func() (float64, error) {
		return func() (float64, error) { return JensenShannon(p, q, base) }
	}
	kl := func(p, q []float64, base float64) func() (float64, error) {
		return func() (float64, error) { return KLDivergence(p, q, base) }
	}
	chi := func(o, e []float64, p bool) func() (float64, error) {
		return func() (float64, error) {
			r, err := ChiSquare(o, e)
			if p {
				return r.PValue, err
			}
			return r.Statistic, err
		}
	}
	obs := []float64{16, 18, 16, 14, 12, 12}
	tests := []struct {
		name string
		f    func() (float64, error)
		want float64
		rel  float64
	}{
		{"js disjoint base 2", js([]float64{1, 0, 0}, []float64{0, 1, 0}, 2), 1.0, 1e-12},
		{"js half", js([]float64{1, 0}, []float64{0.5, 0.5}, math.E), 0.46450140402245893, 1e-12},
		{"js equal", js([]float64{1, 0, 0}, []float64{1, 0, 0}, math.E), 0, 1e-12},
		{"js unnormalised", js([]float64{1, 2}, []float64{0.5, 1.5}, math.E), 0.0649045, 1.5e-7 / 0.0649045},
		{"js disjoint ln", js([]float64{1, 0, 0}, []float64{0, 1, 0}, math.E), 0.8325546111576977, 1e-12},
		{"js .5/.9 ln", js([]float64{.5, .5}, []float64{.9, .1}, math.E), 0.31898154347735663, 1e-12},
		{"js .5/.9 base 2", js([]float64{.5, .5}, []float64{.9, .1}, 2), 0.3831358798599423, 1e-12},
		{"kl base 2", kl([]float64{0.5, 0.5}, []float64{0.9, 0.1}, 2), 0.7369655941662062, 1e-12},
		{"kl nats", kl([]float64{.5, .5}, []float64{.9, .1}, math.E), 0.5108256237659907, 1e-12},
		{"chisquare stat", chi(obs, nil, false), 2.0, 1e-12},
		{"chisquare p", chi(obs, nil, true), 0.84914503608460956, 1e-9},
		{"chisquare f_exp stat", chi(obs, []float64{16, 16, 16, 16, 16, 8}, false), 3.5, 1e-12},
		{"chisquare f_exp p", chi(obs, []float64{16, 16, 16, 16, 16, 8}, true), 0.62338762774958223, 1e-9},
		{"chisquare dof 4 (ddof=1)", func() (float64, error) { return chi2SF(2.0, 4), nil }, 0.7357588823428847, 1e-9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.f()
			if err != nil {
				t.Fatal(err)
			}
			if !relClose(got, tt.want, tt.rel) {
				t.Errorf("got %.17g, want %.17g", got, tt.want)
			}
		})
	}
}

// TestGammaQ checks the regularized upper incomplete gamma function against
// closed forms: Q(1, x) = e^-x and Q(1/2, x) = erfc(√x), over the series
// and continued-fraction regions and far tails.
func TestGammaQ(t *testing.T) {
	t.Parallel()
	for _, x := range []float64{1e-8, 0.1, 0.5, 1, 1.5, 2, 5, 10, 50, 200, 700} {
		if got, want := gammaQ(1, x), math.Exp(-x); !relClose(got, want, 1e-13) {
			t.Errorf("Q(1, %g) = %.17g, want %.17g", x, got, want)
		}
		if got, want := gammaQ(0.5, x), math.Erfc(math.Sqrt(x)); !relClose(got, want, 1e-12) {
			t.Errorf("Q(1/2, %g) = %.17g, want %.17g", x, got, want)
		}
		// Q(n, x) = e^-x Σ_{k<n} x^k/k! for integer n.
		term, sum := 1.0, 1.0
		for k := 1; k < 30; k++ {
			term *= x / float64(k)
			sum += term
		}
		if got, want := gammaQ(30, x), math.Exp(-x)*sum; !relClose(got, want, 1e-11) && !(want < 1e-300) {
			t.Errorf("Q(30, %g) = %.17g, want %.17g", x, got, want)
		}
	}
}

func TestFillZeros(t *testing.T) {
	t.Parallel()
	in := []float64{0.5, 0, 0.5}
	got := FillZeros(in)
	if got[1] != 0.0001 || in[1] != 0 {
		t.Fatalf("FillZeros = %v (input %v)", got, in)
	}
	got = FillZeros([]float64{0.99995, 0.00005, 0})
	if got[2] != 0.00005/1e6 {
		t.Fatalf("small fill = %v", got)
	}
}

func TestSturgesEdges(t *testing.T) {
	t.Parallel()
	// np.histogram_bin_edges(np.r_[0:100, 10:110].astype(float), "sturges")
	e := sturgesEdges(0, 109, 200)
	if len(e) != 10 || e[0] != 0 || e[9] != 109 {
		t.Fatalf("edges = %v", e)
	}
	// A constant sample: one bin [v-0.5, v+0.5].
	if e := sturgesEdges(3, 3, 10); len(e) != 2 || e[0] != 2.5 || e[1] != 3.5 {
		t.Fatalf("constant edges = %v", e)
	}
	if e := sturgesEdges(-math.MaxFloat64, math.MaxFloat64, 10); e != nil {
		t.Fatalf("overflowing edges = %v", e)
	}
	counts := histogramSorted([]float64{0, 1, 1, 2, 3}, []float64{0, 1, 2, 3})
	if counts[0] != 1 || counts[1] != 2 || counts[2] != 2 {
		t.Fatalf("counts = %v, want [1 2 2] (last bin closed)", counts)
	}
}

func TestResultJSON(t *testing.T) {
	t.Parallel()
	chi, err := ChiSquare([]float64{5, 5}, []float64{10, 0})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(chi)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"statistic":"Infinity","p_value":0,"dof":1}` {
		t.Errorf("json = %s", b)
	}
	var back ChiSquareResult
	if err := json.Unmarshal(b, &back); err != nil || back != chi {
		t.Errorf("round trip %+v, %v", back, err)
	}
	ks, err := KolmogorovSmirnov([]float64{1}, []float64{2}, AlternativeTwoSided, KSAsymp)
	if err != nil {
		t.Fatal(err)
	}
	// round(en) = round(0.5) = 0: SciPy's kstwo.sf(1, 0) is NaN too.
	b, err = json.Marshal(ks)
	if err != nil {
		t.Fatal(err)
	}
	var kb KSResult
	if err := json.Unmarshal(b, &kb); err != nil || !math.IsNaN(kb.PValue) || kb.Statistic != 1 {
		t.Errorf("ks json %s -> %+v, %v", b, kb, err)
	}
}
