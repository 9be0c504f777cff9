//go:build integration

package evaluate

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// scipyScript computes, for every case in the input file, what SciPy and
// numpy say: ks_2samp (auto, and the one-sided alternatives), weighted and
// unweighted wasserstein_distance, energy_distance, and Evidently's binned
// PSI / KL / Jensen-Shannon (np.histogram_bin_edges "sturges" on the pooled
// data when the reference has more than 20 distinct values, else one bin
// per value; Evidently's zero fill for PSI and KL) and its chi-square
// goodness of fit. Floats travel as repr strings so NaN and inf survive.
const scipyScript = `
import json, sys
import numpy as np
from scipy import stats
from scipy.spatial import distance

def fill(p):
    p = p.copy()
    nz = p[p != 0]
    m = nz.min()
    np.place(p, p == 0, m / 10**6 if m <= 0.0001 else 0.0001)
    return p

def binned(a, b):
    if len(np.unique(a)) > 20:
        bins = np.histogram_bin_edges(np.concatenate([a, b]), bins="sturges")
        return np.histogram(a, bins)[0] / len(a), np.histogram(b, bins)[0] / len(b)
    keys = sorted(set(a.tolist()) | set(b.tolist()))
    ra = {k: 0 for k in keys}; rb = {k: 0 for k in keys}
    for v in a.tolist(): ra[v] += 1
    for v in b.tolist(): rb[v] += 1
    return (np.array([ra[k] for k in keys]) / len(a), np.array([rb[k] for k in keys]) / len(b))

cases = json.load(open(sys.argv[1]))
out = {}
for c in cases:
    a = np.array(c["a"], dtype=np.float64); b = np.array(c["b"], dtype=np.float64)
    r = {}
    ks = stats.ks_2samp(a, b)
    r["ks_d"], r["ks_p"] = ks.statistic, ks.pvalue
    for alt in ("greater", "less"):
        k = stats.ks_2samp(a, b, alternative=alt)
        r["ks_d_" + alt], r["ks_p_" + alt] = k.statistic, k.pvalue
    r["w1"] = stats.wasserstein_distance(a, b)
    r["std"] = np.std(a)
    r["energy"] = stats.energy_distance(a, b)
    if c.get("wa"):
        r["w1_weighted"] = stats.wasserstein_distance(a, b, c["wa"], c["wb"])
    ra, rb = binned(a, b)
    r["js"] = distance.jensenshannon(ra, rb)
    r["js2"] = distance.jensenshannon(ra, rb, base=2)
    fa, fb = fill(ra), fill(rb)
    r["psi"] = np.sum((fa - fb) * np.log(fa / fb))
    r["kl"] = stats.entropy(fa, fb)
    if c.get("categorical"):
        keys = sorted(set(a.tolist()) | set(b.tolist()))
        ca = np.array([np.sum(a == k) for k in keys], dtype=np.float64)
        cb = np.array([np.sum(b == k) for k in keys], dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            chi = stats.chisquare(cb, ca * (len(b) / len(a)))
        r["chi_stat"], r["chi_p"] = chi.statistic, chi.pvalue
    out[c["name"]] = {k: repr(float(v)) for k, v in r.items()}
json.dump(out, sys.stdout)
`

type scipyCase struct {
	Name        string    `json:"name"`
	A           []float64 `json:"a"`
	B           []float64 `json:"b"`
	WA          []float64 `json:"wa,omitempty"`
	WB          []float64 `json:"wb,omitempty"`
	Categorical bool      `json:"categorical,omitempty"`
}

func scipyCases() []scipyCase {
	var cases []scipyCase
	norm := func(r *rand.Rand, n int, mu, sd float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = mu + sd*r.NormFloat64()
		}
		return out
	}
	ints := func(r *rand.Rand, n, k, shift int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = float64(r.IntN(k) + shift*r.IntN(2))
		}
		return out
	}
	weights := func(r *rand.Rand, n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = r.Float64() * 3
		}
		return out
	}
	for seed := uint64(1); seed <= 3; seed++ {
		r := rand.New(rand.NewPCG(seed, 42))
		add := func(name string, a, b []float64, weighted, categorical bool) {
			c := scipyCase{Name: fmt.Sprintf("%s/seed%d", name, seed), A: a, B: b, Categorical: categorical}
			if weighted {
				c.WA, c.WB = weights(r, len(a)), weights(r, len(b))
			}
			cases = append(cases, c)
		}
		// Exact path (max(n1, n2) <= 10000).
		add("exact n1!=n2", norm(r, 500, 0, 1), norm(r, 700, 0.1, 1.1), true, false)
		add("exact n1==n2", norm(r, 1000, 0, 1), norm(r, 1000, 0.08, 1), false, false)
		add("exact ties", ints(r, 3000, 50, 0), ints(r, 2000, 50, 1), true, false)
		add("exact small", norm(r, 40, 0, 1), norm(r, 35, 0.5, 1), false, false)
		add("exact 10000", norm(r, 10000, 0, 1), norm(r, 9999, 0.02, 1), false, false)
		// Asymptotic path (kstwo.sf): Pelz-Good / Durbin for small D,
		// Smirnov for large D, small en (n <= 140 algorithms).
		add("asymp same", norm(r, 12000, 0, 1), norm(r, 15000, 0, 1), true, false)
		add("asymp shift", norm(r, 30000, 0, 1), norm(r, 30000, 0.05, 1), false, false)
		add("asymp big shift", norm(r, 20001, 0, 1), norm(r, 20000, 0.12, 1), false, false)
		add("asymp small en", norm(r, 20000, 0, 1), norm(r, 60, 0.3, 1), false, false)
		add("asymp en 100", norm(r, 15000, 0, 1), norm(r, 101, 0.15, 1), false, false)
		add("asymp ties", ints(r, 20000, 30, 0), ints(r, 11000, 30, 1), false, false)
		// Categories as small integers: chi-square (Evidently form), PSI, JS.
		add("categorical", ints(r, 900, 6, 0), ints(r, 700, 6, 1), false, true)
		add("categorical new level", ints(r, 500, 4, 0), ints(r, 450, 5, 0), false, true)
		add("categorical close", ints(r, 5000, 8, 0), ints(r, 4000, 8, 0), false, true)
	}
	return cases
}

// TestSciPyCrossCheck compares the drift statistics with SciPy on random
// data. Tolerances: 1e-9 relative for p-values; 1e-12 relative for the
// statistics and closed forms (W1, energy, JS, PSI, KL, X²), whose sums run
// in numpy's pairwise order. Exceptions, both justified by floating point
// rather than method: energy distance is checked at 1e-10 because it is a
// square root of a sum of squared differences of CDFs in which numpy's
// power() and ours round differently; one-sided KS p-values are checked at
// 1e-9 on the same footing as two-sided ones.
func TestSciPyCrossCheck(t *testing.T) {
	py := os.Getenv("MLWATCH_TEST_SCIPY_PYTHON")
	if py == "" {
		t.Fatal("MLWATCH_TEST_SCIPY_PYTHON is not set (a python with scipy and numpy, e.g. /usr/bin/python3)")
	}
	cases := scipyCases()
	dir := t.TempDir()
	in := filepath.Join(dir, "cases.json")
	b, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, b, 0o600); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "scipy_drift.py")
	if err := os.WriteFile(script, []byte(scipyScript), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, script, in)
	cmd.Stderr = os.Stderr
	outBytes, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v", py, script, err)
	}
	var want map[string]map[string]string
	if err := json.Unmarshal(outBytes, &want); err != nil {
		t.Fatalf("decoding scipy output: %v", err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			w := want[c.Name]
			if w == nil {
				t.Fatal("no scipy result")
			}
			get := func(k string) float64 {
				v, err := strconv.ParseFloat(w[k], 64)
				if err != nil {
					t.Fatalf("scipy %s = %q: %v", k, w[k], err)
				}
				return v
			}
			check := func(what string, got, want, rel float64) {
				t.Helper()
				if !relClose(got, want, rel) {
					t.Errorf("%s = %.17g, scipy %.17g (rel err %.3g, tolerance %g)", what, got, want, math.Abs(got-want)/math.Abs(want), rel)
				}
			}
			for _, alt := range []Alternative{AlternativeTwoSided, AlternativeGreater, AlternativeLess} {
				ks, err := KolmogorovSmirnov(c.A, c.B, alt, KSAuto)
				if err != nil {
					t.Fatal(err)
				}
				suffix := ""
				if alt != AlternativeTwoSided {
					suffix = "_" + string(alt)
				}
				check("ks D"+suffix, ks.Statistic, get("ks_d"+suffix), 1e-12)
				check("ks p"+suffix+" ("+string(ks.Method)+")", ks.PValue, get("ks_p"+suffix), 1e-9)
			}
			w1, err := Wasserstein(c.A, c.B, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			check("wasserstein", w1, get("w1"), 1e-12)
			e, err := EnergyDistance(c.A, c.B, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			check("energy", e, get("energy"), 1e-10)
			if c.WA != nil {
				ww, err := Wasserstein(c.A, c.B, c.WA, c.WB)
				if err != nil {
					t.Fatal(err)
				}
				check("weighted wasserstein", ww, get("w1_weighted"), 1e-12)
			}
			opt := func(m Method, o ...DriftOption) FeatureDrift {
				fd, err := CompareNumeric(c.A, c.B, append(o, WithMethod(m), WithMinSampleSize(1))...)
				if err != nil {
					t.Fatal(err)
				}
				return fd
			}
			check("normed wasserstein", opt(MethodWasserstein).Score, get("w1")/math.Max(get("std"), 0.001), 1e-12)
			check("ks via CompareNumeric", opt(MethodKS).Score, get("ks_p"), 1e-9)
			check("psi", opt(MethodPSI).Score, get("psi"), 1e-12)
			check("kl", opt(MethodKL).Score, get("kl"), 1e-12)
			check("js (ln)", opt(MethodJensenShannon).Score, get("js"), 1e-12)
			check("js (base 2)", opt(MethodJensenShannon, WithLogBase(2)).Score, get("js2"), 1e-12)
			if c.Categorical {
				chi := opt(MethodChiSquare)
				check("chi-square X²", chi.Statistic, get("chi_stat"), 1e-12)
				check("chi-square p", chi.PValue, get("chi_p"), 1e-9)
			}
		})
	}
}
