package evaluate_test

import (
	"encoding/json"
	"fmt"
	"log"

	"github.com/mlwatch/mlwatch/evaluate"
)

func seq(lo, hi int) []float64 { return seqStep(lo, hi, 1) }

func seqStep(lo, hi, step int) []float64 {
	var out []float64
	for i := lo; i < hi; i += step {
		out = append(out, float64(i))
	}
	return out
}

// A shifted numeric feature: 100 reference values, so Evidently's default
// for n_ref <= 1000 is the KS test; PSI can be asked for explicitly.
func ExampleCompareNumeric() {
	ref, cur := seq(0, 100), seq(10, 110)
	ks, err := evaluate.CompareNumeric(ref, cur)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ks.Method, ks.Kind, ks.Status)
	fmt.Printf("D=%.2f p=%.4f (%s)\n", ks.Statistic, ks.PValue, ks.Detail)

	psi, err := evaluate.CompareNumeric(ref, cur, evaluate.WithMethod(evaluate.MethodPSI))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(psi.Message)
	fmt.Println(psi.Bins)
	// Output:
	// ks p_value ok
	// D=0.10 p=0.7021 (scipy.stats.ks_2samp(ref, cur), alternative two-sided, exact p-value)
	// sample: DRIFT: psi score 0.2933 >= threshold 0.1 (reference n=100, current n=100)
	// sturges: 9 equal-width bins on the pooled range [0, 109] of reference+current (numpy histogram_bin_edges, last bin closed)
}

// A category that appears only in the current sample: chi-square treats the
// reference as the truth, so the new level makes X² infinite.
func ExampleCompareCategorical() {
	rep := func(v string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	ref := append(rep("a", 60), rep("b", 40)...)
	cur := append(append(rep("a", 50), rep("b", 40)...), rep("c", 10)...)
	fd, err := evaluate.CompareCategorical(ref, cur)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(fd.Method, fd.Statistic, fd.PValue, fd.Drifted)
	// Output:
	// chisquare +Inf 0 true
}

// The daily job: the reference profile is computed once and stored as
// JSON; each day's sample is compared with the stored profile, per country.
func ExampleReferenceProfile() {
	ref := evaluate.Frame{Numeric: map[string][]float64{"amount": seq(0, 2000)}}
	profile, err := evaluate.NewReferenceProfile(ref)
	if err != nil {
		log.Fatal(err)
	}
	stored, err := json.Marshal(profile)
	if err != nil {
		log.Fatal(err)
	}

	// Later, in another process.
	var p evaluate.ReferenceProfile
	if err := json.Unmarshal(stored, &p); err != nil {
		log.Fatal(err)
	}
	today := map[string]evaluate.Frame{
		"DE": {Numeric: map[string][]float64{"amount": seqStep(1, 2000, 2)}},
		"PL": {Numeric: map[string][]float64{"amount": seq(500, 2500)}},
	}
	results, err := evaluate.CompareSegments(&p, today)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range results {
		f := r.Features[0]
		fmt.Printf("%s: %s %s=%.3f dataset drifted: %v\n", r.Segment, f.Feature, f.Method, f.Score, r.DatasetDrifted)
	}
	// Output:
	// DE: amount wasserstein=0.001 dataset drifted: false
	// PL: amount wasserstein=0.866 dataset drifted: true
}
