// Command drift benchmarks mlwatch's drift statistics against SciPy on the
// same data: KS (ks_2samp, method auto, which is asymptotic at this size) +
// normed Wasserstein-1 + PSI (Evidently's Sturges binning and zero fill)
// on two samples of -n float64 values (default 1,000,000 each).
//
// It writes the samples to raw little-endian float64 files, times the Go
// computation (sorting each sample once), runs a Python script that times
// scipy.stats.ks_2samp + scipy.stats.wasserstein_distance + the numpy PSI
// on the same files, checks that both sides computed the same numbers, and
// prints both timings. Rounds alternate Go and SciPy so machine load
// affects both alike; the best round of each is reported.
//
// Usage:
//
//	go run ./internal/bench/drift [-n 1000000] [-rounds 5] [-python /usr/bin/python3]
//
// The python defaults to $MLWATCH_TEST_SCIPY_PYTHON, else /usr/bin/python3.
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/mlwatch/mlwatch/evaluate"
)

const script = `
import json, sys, time
import numpy as np
from scipy import stats

a = np.fromfile(sys.argv[1], dtype="<f8")
b = np.fromfile(sys.argv[2], dtype="<f8")

def psi(ref, cur):
    # Evidently 0.7.21 get_binned_data + psi, numeric with > 20 uniques.
    bins = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
    r = np.histogram(ref, bins)[0] / len(ref)
    c = np.histogram(cur, bins)[0] / len(cur)
    for p in (r, c):
        m = p[p != 0].min()
        np.place(p, p == 0, m / 10**6 if m <= 0.0001 else 0.0001)
    return np.sum((r - c) * np.log(r / c))

t0 = time.perf_counter()
ks = stats.ks_2samp(a, b)
t1 = time.perf_counter()
w = stats.wasserstein_distance(a, b) / max(np.std(a), 0.001)
t2 = time.perf_counter()
p = psi(a, b)
t3 = time.perf_counter()
json.dump({"total": t3 - t0, "ks": t1 - t0, "wasserstein": t2 - t1, "psi": t3 - t2,
           "ks_d": repr(ks.statistic), "ks_p": repr(ks.pvalue), "w": repr(w), "psi_value": repr(float(p))}, sys.stdout)
`

type pyResult struct {
	Total, KS, Wasserstein, PSI float64
	KSD                         string `json:"ks_d"`
	KSP                         string `json:"ks_p"`
	W                           string `json:"w"`
	PSIValue                    string `json:"psi_value"`
}

func main() {
	n := flag.Int("n", 1_000_000, "values per sample")
	rounds := flag.Int("rounds", 5, "alternating Go/SciPy rounds")
	shift := flag.Float64("shift", 0.01, "location shift of the current sample")
	py := flag.String("python", "", "python with scipy (default $MLWATCH_TEST_SCIPY_PYTHON, else /usr/bin/python3)")
	flag.Parse()
	if *py == "" {
		*py = os.Getenv("MLWATCH_TEST_SCIPY_PYTHON")
	}
	if *py == "" {
		*py = "/usr/bin/python3"
	}
	if err := run(*n, *rounds, *shift, *py); err != nil {
		fmt.Fprintln(os.Stderr, "drift bench:", err)
		os.Exit(1)
	}
}

func writeFloats(path string, x []float64) error {
	b := make([]byte, 8*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	return os.WriteFile(path, b, 0o600)
}

func run(n, rounds int, shift float64, py string) error {
	r := rand.New(rand.NewPCG(20261123, 1))
	ref, cur := make([]float64, n), make([]float64, n)
	for i := range ref {
		ref[i] = r.NormFloat64()
		cur[i] = shift + r.NormFloat64()
	}
	dir, err := os.MkdirTemp("", "mlwatch-drift-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fa, fb, fs := filepath.Join(dir, "ref.f64"), filepath.Join(dir, "cur.f64"), filepath.Join(dir, "bench.py")
	for _, w := range []struct {
		p string
		x []float64
	}{{fa, ref}, {fb, cur}} {
		if err := writeFloats(w.p, w.x); err != nil {
			return err
		}
	}
	if err := os.WriteFile(fs, []byte(script), 0o600); err != nil {
		return err
	}
	var goTimes, goProfTimes, pyTimes []time.Duration
	var last []evaluate.FeatureDrift
	var pr pyResult
	for range rounds {
		runtime.GC()
		t0 := time.Now()
		res, err := evaluate.CompareNumericMethods(ref, cur, nil)
		if err != nil {
			return err
		}
		goTimes = append(goTimes, time.Since(t0))
		last = res

		prof, err := evaluate.NewNumericReference(ref)
		if err != nil {
			return err
		}
		runtime.GC()
		t0 = time.Now()
		if _, err := prof.CompareMethods(cur, nil); err != nil {
			return err
		}
		goProfTimes = append(goProfTimes, time.Since(t0))

		out, err := exec.Command(py, fs, fa, fb).Output()
		if err != nil {
			return fmt.Errorf("%s: %w", py, err)
		}
		if err := json.Unmarshal(out, &pr); err != nil {
			return fmt.Errorf("decoding python output %q: %w", out, err)
		}
		pyTimes = append(pyTimes, time.Duration(pr.Total*float64(time.Second)))
	}
	// The same numbers on both sides.
	checks := []struct {
		what string
		got  float64
		want string
		rel  float64
	}{
		{"ks D", last[0].Statistic, pr.KSD, 1e-12},
		{"ks p", last[0].PValue, pr.KSP, 1e-9},
		{"wasserstein (normed)", last[1].Score, pr.W, 1e-12},
		{"psi", last[2].Score, pr.PSIValue, 1e-12},
	}
	for _, c := range checks {
		var want float64
		if _, err := fmt.Sscan(c.want, &want); err != nil {
			return fmt.Errorf("%s: scipy value %q: %w", c.what, c.want, err)
		}
		if math.Abs(c.got-want) > c.rel*math.Abs(want) {
			return fmt.Errorf("%s: go %.17g, scipy %.17g", c.what, c.got, want)
		}
		fmt.Printf("%-22s go %-24.17g scipy %.17g\n", c.what, c.got, want)
	}
	best := func(d []time.Duration) time.Duration { return slices.Min(d) }
	med := func(d []time.Duration) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[len(s)/2]
	}
	fmt.Printf("\nKS + Wasserstein + PSI, %d vs %d float64, %d rounds, GOMAXPROCS=%d\n", n, n, rounds, runtime.GOMAXPROCS(0))
	fmt.Printf("%-42s best %8.1f ms  median %8.1f ms\n", "Go (both samples raw, each sorted once)", ms(best(goTimes)), ms(med(goTimes)))
	fmt.Printf("%-42s best %8.1f ms  median %8.1f ms\n", "Go (stored reference profile)", ms(best(goProfTimes)), ms(med(goProfTimes)))
	fmt.Printf("%-42s best %8.1f ms  median %8.1f ms  (last run: ks %.0f ms, wasserstein %.0f ms, psi %.0f ms)\n",
		"SciPy "+scipyVersion(py), ms(best(pyTimes)), ms(med(pyTimes)), pr.KS*1e3, pr.Wasserstein*1e3, pr.PSI*1e3)
	fmt.Printf("speed-up (best/best): %.1fx; with a stored profile: %.1fx\n",
		float64(best(pyTimes))/float64(best(goTimes)), float64(best(pyTimes))/float64(best(goProfTimes)))
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func scipyVersion(py string) string {
	out, err := exec.Command(py, "-c", "import scipy, numpy; print(scipy.__version__ + '/numpy ' + numpy.__version__, end='')").Output()
	if err != nil {
		return "(version unknown)"
	}
	return string(out)
}
